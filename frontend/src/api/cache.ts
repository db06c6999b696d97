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

