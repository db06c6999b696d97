// The company's live events (GET /api/events, one EventSource for the whole app) written into
// the query cache: a new message lands in its conversation, a delivery state changes in place, a
// lead, channel or link is replaced by the version the event carries. Only what cannot be patched
// is refetched. The browser reconnects by itself and sends `Last-Event-ID`, so nothing is lost.
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { Schema } from '../api/client';
import { applyMessageToLead, upsertLead, upsertMessage, type Pages } from '../api/cache';
import { keys } from '../api/keys';
import { openLiveStream, streamUrl, type LiveEvent, type StreamState } from '../api/live';
import { useToast, type ToastInput } from '../components/toast';

type Lead = Schema<'LeadView'>;
type Message = Schema<'MessageView'>;

/** The lead's name as the cache knows it, for toasts. */
function leadName(queryClient: QueryClient, leadId: string | null | undefined): string {
  if (!leadId) return 'a lead';
  const lead = queryClient.getQueryData<Lead>(keys.lead(leadId));
  if (lead) return lead.name;
  for (const [, pages] of queryClient.getQueriesData<Pages<Lead>>({ queryKey: keys.leadLists() })) {
    const found = pages?.pages.flatMap((page) => page.items).find((item) => item.id === leadId);
    if (found) return found.name;
  }
  return 'a lead';
}

/**
 * Apply one event. `openLeadId` is the conversation on screen: its new messages are being read,
 * so they do not count as unread (the conversation marks them read on the API).
 */
export function applyLiveEvent(
  queryClient: QueryClient,
  event: LiveEvent,
  toast: (toast: ToastInput) => void,
  openLeadId: string | undefined,
): void {
  switch (event.type) {
    case 'message.created':
      upsertMessage(queryClient, event.data);
      applyMessageToLead(queryClient, event.data, event.data.leadId === openLeadId);
      break;
    case 'message.updated': {
      const before = queryClient
        .getQueryData<Pages<Message>>(keys.messages(event.data.leadId))
        ?.pages.flatMap((page) => page.items)
        .find((item) => item.id === event.data.id);
      upsertMessage(queryClient, event.data);
      if (event.data.state === 'failed' && before?.state !== 'failed') {
        toast({
          kind: 'error',
          text: `A message to ${leadName(queryClient, event.data.leadId)} was not delivered: ${
            event.data.failureReason ?? 'unknown reason'
          }`,
        });
      }
      break;
    }
    case 'lead.updated':
      upsertLead(queryClient, event.data);
      break;
    case 'channel.created':
    case 'channel.archived': {
      const before = queryClient.getQueryData<Schema<'LeadChannelView'> | null>(keys.channel(event.data.leadId));
      queryClient.setQueryData(keys.channel(event.data.leadId), event.data);
      if (event.type === 'channel.created' && event.data.state === 'active' && before?.state !== 'active') {
        toast({ kind: 'success', text: `Channel #${event.data.channelName ?? ''} for ${leadName(queryClient, event.data.leadId)} is ready.` });
      }
      if (event.data.state === 'failed' && before?.state !== 'failed') {
        toast({ kind: 'error', text: `The channel for ${leadName(queryClient, event.data.leadId)} could not be made: ${event.data.lastError ?? 'unknown reason'}` });
      }
      break;
    }
    case 'link.updated':
      queryClient.setQueryData<Schema<'LinkList'>>(keys.links(event.data.leadId), (list) =>
        list ? { ...list, items: list.items.map((link) => (link.id === event.data.id ? event.data : link)) } : list,
      );
      break;
  }
}

/** Open the company stream while `enabled`; the stream's state, for the "live" indicator. */
export function useLiveEvents(enabled: boolean, openLeadId: string | undefined): StreamState {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [state, setState] = useState<StreamState>('closed');
  const toastRef = useRef(toast);
  const openRef = useRef(openLeadId);
  useEffect(() => {
    toastRef.current = toast;
    openRef.current = openLeadId;
  });

  useEffect(() => {
    if (!enabled) return;
    const stream = openLiveStream(
      streamUrl('', '/api/events'),
      (event) => applyLiveEvent(queryClient, event, toastRef.current, openRef.current),
      setState,
    );
    return () => stream.close();
  }, [enabled, queryClient]);

  return state;
}
