// A lead's conversation (newest first, page by page), sending with an Idempotency-Key.
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, type Schema } from '../../../api/client';
import { upsertMessage } from '../../../api/cache';
import { keys } from '../../../api/keys';

export type Message = Schema<'MessageView'>;

export const MAX_LENGTH = 2000;

export function useMessages(leadId: string) {
  return useInfiniteQuery({
    queryKey: keys.messages(leadId),
    queryFn: async ({ pageParam, signal }) => {
      const { data, error } = await api.GET('/api/leads/{leadId}/messages', {
        params: { path: { leadId }, query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) } },
        signal,
      });
      if (error || !data) throw error;
      return data;
    },
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Live events keep it current; refetching would only reorder what is already there.
    staleTime: Infinity,
  });
}

/** Send `content` with `key` as its Idempotency-Key: the same key never sends twice. */
export function useSendMessage(leadId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ content, key }: { content: string; key: string }) => {
      const { data, error } = await api.POST('/api/discord/send-message', {
        params: { header: { 'Idempotency-Key': key } },
        body: { leadId, content },
      });
      if (error || !data) throw error;
      return data;
    },
    onSuccess: (message) => upsertMessage(queryClient, message, true),
  });
}

/** Queue a failed message again: the same message, never posted twice. */
export function useRetryMessage() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (messageId: string) => {
      const { data, error } = await api.POST('/api/messages/{messageId}/retry', { params: { path: { messageId } } });
      if (error || !data) throw error;
      return data;
    },
    onSuccess: (message) => upsertMessage(queryClient, message),
  });
}
