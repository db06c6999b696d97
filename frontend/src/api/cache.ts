// Writing API answers and live events into the query cache, shared by the features (after a
// mutation) and the live-event handler (src/app/live.ts).
import type { InfiniteData, QueryClient } from '@tanstack/react-query';
import type { Schema } from './client';
import { keys } from './keys';

type Lead = Schema<'LeadView'>;
type Message = Schema<'MessageView'>;
export type Pages<T> = InfiniteData<{ items: T[]; nextCursor?: string | null }, unknown>;

/** Replace the item with `item.id` in every page; true if it was there. */
function replaceIn<T extends { id: string }>(pages: Pages<T>, item: T): Pages<T> | null {
  let found = false;
  const next = pages.pages.map((page) => ({
    ...page,
    items: page.items.map((existing) => {
      if (existing.id !== item.id) return existing;
      found = true;
      return item;
    }),
  }));
  return found ? { ...pages, pages: next } : null;
}

/**
 * Put a message into its conversation (newest first): replace it, or add it at the top. With
 * `onlyIfNew`, a message already there is kept: an API answer must not put back an older state
 * than a live event already brought.
 */
export function upsertMessage(queryClient: QueryClient, message: Message, onlyIfNew = false): void {
  queryClient.setQueryData<Pages<Message>>(keys.messages(message.leadId), (pages) => {
    if (!pages) return pages;
    if (onlyIfNew && pages.pages.some((page) => page.items.some((item) => item.id === message.id))) return pages;
    const replaced = replaceIn(pages, message);
    if (replaced) return replaced;
    const [first, ...rest] = pages.pages;
    if (!first) return pages;
    return { ...pages, pages: [{ ...first, items: [message, ...first.items] }, ...rest] };
  });
}

/** Put a lead into its own query and every list it is in. */
export function upsertLead(queryClient: QueryClient, lead: Lead): void {
  queryClient.setQueryData(keys.lead(lead.id), lead);
  let missing = false;
  queryClient.setQueriesData<Pages<Lead>>({ queryKey: keys.leadLists() }, (pages) => {
    if (!pages) return pages;
    const replaced = replaceIn(pages, lead);
    if (!replaced) missing = true;
    return replaced ?? pages;
  });
  // A lead that is new to a list, or left it (another status), needs the list's own order.
  if (missing) void queryClient.invalidateQueries({ queryKey: keys.leadLists() });
}


/** The lead list's preview of a message, as the API makes it: one line, 140 characters. */
export function previewOf(content: string): string {
  return content.split(/\s+/).filter(Boolean).join(' ').slice(0, 140);
}

/** The query filters of a lead list's key (`['get', '/api/leads', { params: { query } }, 'pages']`). */
function listQuery(key: readonly unknown[]): { status?: string; q?: string; sort?: string } {
  const init = key[2] as { params?: { query?: { status?: string; q?: string; sort?: string } } } | undefined;
  return init?.params?.query ?? {};
}

/**
 * A new message changes its lead's summary: the last message, the last activity, the unread
 * count (an inbound message, unless `read`: the conversation is open). In lists sorted by
 * recent activity the lead moves to the top. A lead the cache already shows with this message
 * (or a newer one) is left alone, so a refetch and the event cannot count it twice.
 */
export function applyMessageToLead(queryClient: QueryClient, message: Message, read: boolean): void {
  const at = Date.parse(message.createdAt);
  const patch = (lead: Lead): Lead | null => {
    if (Date.parse(lead.lastActivityAt) >= at && lead.lastMessage && Date.parse(lead.lastMessage.at) >= at) return null;
    return {
      ...lead,
      lastActivityAt: message.createdAt,
      lastMessage: {
        at: message.createdAt,
        direction: message.direction,
        preview: previewOf(message.content),
        authorName: message.authorName ?? null,
      },
      unreadCount: message.direction === 'inbound' && !read ? lead.unreadCount + 1 : lead.unreadCount,
    };
  };

  const single = queryClient.getQueryData<Lead>(keys.lead(message.leadId));
  const patchedSingle = single && patch(single);
  if (patchedSingle) queryClient.setQueryData(keys.lead(message.leadId), patchedSingle);

  let seen = false;
  for (const [key, pages] of queryClient.getQueriesData<Pages<Lead>>({ queryKey: keys.leadLists() })) {
    if (!pages) continue;
    const existing = pages.pages.flatMap((page) => page.items).find((lead) => lead.id === message.leadId);
    if (!existing) continue;
    seen = true;
    const patched = patch(existing);
    if (!patched) continue;
    if (listQuery(key).sort === 'recent') {
      const without = pages.pages.map((page) => ({ ...page, items: page.items.filter((lead) => lead.id !== patched.id) }));
      const [first, ...rest] = without;
      if (first) queryClient.setQueryData<Pages<Lead>>(key, { ...pages, pages: [{ ...first, items: [patched, ...first.items] }, ...rest] });
    } else {
      queryClient.setQueryData<Pages<Lead>>(key, replaceIn(pages, patched) ?? pages);
    }
  }
  // A lead that is in no list yet (older than the pages read, or filtered out): ask again.
  if (!seen) void queryClient.invalidateQueries({ queryKey: keys.leadLists() });
}
