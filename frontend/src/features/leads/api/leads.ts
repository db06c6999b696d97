// Leads: the inbox's lists (by status, searched, newest activity first), one lead, creating and
// editing them, their Discord channel and their GitHub links.
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schema } from '../../../api/client';
import { upsertLead } from '../../../api/cache';
import { keys, type LeadListQuery } from '../../../api/keys';
import { $api } from '../../../api/query';

export type Lead = Schema<'LeadView'>;
export type LeadStatus = Schema<'LeadStatus'>;
export type Channel = Schema<'LeadChannelView'>;
export type Link = Schema<'LinkView'>;

export const PAGE_SIZE = 30;

/** A lead list, page by page (`nextCursor`). */
export function useLeadList(filters: Omit<LeadListQuery, 'cursor' | 'limit'>) {
  const query: LeadListQuery = { ...filters, limit: PAGE_SIZE };
  return useInfiniteQuery({
    queryKey: keys.leadList(query),
    queryFn: async ({ pageParam, signal }) => {
      const { data, error } = await api.GET('/api/leads', {
        params: { query: pageParam ? { ...query, cursor: pageParam } : query },
        signal,
      });
      if (error || !data) throw error;
      return data;
    },
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (previous) => previous,
  });
}

export function useLead(leadId: string | undefined) {
  return $api.useQuery('get', '/api/leads/{leadId}', { params: { path: { leadId: leadId ?? '' } } }, { enabled: Boolean(leadId) });
}

export function useCreateLead() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/leads', {
    onSuccess: (lead) => {
      queryClient.setQueryData(keys.lead(lead.id), lead);
      return queryClient.invalidateQueries({ queryKey: keys.leadLists() });
    },
  });
}

export function useUpdateLead() {
  const queryClient = useQueryClient();
  return $api.useMutation('patch', '/api/leads/{leadId}', {
    onSuccess: (lead) => {
      queryClient.setQueryData(keys.lead(lead.id), lead);
      return queryClient.invalidateQueries({ queryKey: keys.leadLists() });
    },
  });
}

/** Nothing in the conversation is unread any more, for every teammate. */
export function useMarkRead() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/leads/{leadId}/read', {
    onSuccess: (lead) => upsertLead(queryClient, lead),
  });
}

/** The company's members, to pick a lead's owner. */
export const useMembers = () => $api.useQuery('get', '/api/companies/current/members');

/** The Discord integration (its server's name), if connected. */
export function useDiscordIntegration() {
  const list = $api.useQuery('get', '/api/integrations');
  const discord = list.data?.items.find((item) => item.provider === 'discord');
  return { ...list, discord: discord && discord.status !== 'revoked' ? discord : undefined };
}

// ---- the lead's Discord channel ----------------------------------------------------------------

/** The lead's channel, or `null` when it has none. */
export function useChannel(leadId: string | undefined) {
  return useQuery({
    queryKey: keys.channel(leadId ?? ''),
    enabled: Boolean(leadId),
    queryFn: async ({ signal }): Promise<Channel | null> => {
      const { data, error, response } = await api.GET('/api/discord/channels/{leadId}', {
        params: { path: { leadId: leadId ?? '' } },
        signal,
      });
      if (response.status === 404) return null;
      if (error || !data) throw error;
      return data;
    },
  });
}

function useSetChannel() {
  const queryClient = useQueryClient();
  return (channel: Channel) => queryClient.setQueryData(keys.channel(channel.leadId), channel);
}

export function useOpenChannel() {
  const setChannel = useSetChannel();
  return $api.useMutation('post', '/api/discord/channels', { onSuccess: setChannel });
}

export function useArchiveChannel() {
  const setChannel = useSetChannel();
  return $api.useMutation('post', '/api/discord/channels/{leadId}/archive', { onSuccess: setChannel });
}

export function useRetryChannel() {
  const setChannel = useSetChannel();
  return $api.useMutation('post', '/api/discord/channels/{leadId}/retry', { onSuccess: setChannel });
}

// ---- GitHub links --------------------------------------------------------------------------------

export function useLinks(leadId: string) {
  return $api.useQuery('get', '/api/leads/{leadId}/links', { params: { path: { leadId } } });
}

export function useCreateLink(leadId: string) {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/leads/{leadId}/links', {
    onSuccess: (link) =>
      queryClient.setQueryData<Schema<'LinkList'>>(keys.links(leadId), (list) =>
        list && !list.items.some((item) => item.id === link.id) ? { ...list, items: [...list.items, link] } : list,
      ),
  });
}

export function useDeleteLink(leadId: string) {
  const queryClient = useQueryClient();
  return $api.useMutation('delete', '/api/leads/{leadId}/links/{linkId}', {
    onSuccess: (_, { params }) =>
      queryClient.setQueryData<Schema<'LinkList'>>(keys.links(leadId), (list) =>
        list ? { ...list, items: list.items.filter((item) => item.id !== params.path.linkId) } : list,
      ),
  });
}
