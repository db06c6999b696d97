// Query keys shared by the features that read a resource and by the live-event handler that
// patches it (src/app/live.ts). Each is openapi-react-query's key for the same request, so
// `$api.useQuery` and `queryClient.setQueryData` meet in one cache entry. Paged lists add
// `'pages'` (their data is TanStack's InfiniteData of the list schema).
import type { QueryKey } from '@tanstack/react-query';
import type { paths } from './schema';
import { $api } from './query';

export type LeadListQuery = NonNullable<paths['/api/leads']['get']['parameters']['query']>;

export const keys = {
  me: () => $api.queryOptions('get', '/api/me').queryKey,
  /** Every lead list, whatever its filters. */
  leadLists: (): QueryKey => ['get', '/api/leads'],
  leadList: (query: LeadListQuery): QueryKey => [
    ...$api.queryOptions('get', '/api/leads', { params: { query } }).queryKey,
    'pages',
  ],
  lead: (leadId: string) => $api.queryOptions('get', '/api/leads/{leadId}', { params: { path: { leadId } } }).queryKey,
  messages: (leadId: string): QueryKey => [
    ...$api.queryOptions('get', '/api/leads/{leadId}/messages', { params: { path: { leadId } } }).queryKey,
    'pages',
  ],
  /** A lead's channel, `null` when it has none (the API's 404). */
  channel: (leadId: string): QueryKey =>
    $api.queryOptions('get', '/api/discord/channels/{leadId}', { params: { path: { leadId } } }).queryKey,
  links: (leadId: string) =>
    $api.queryOptions('get', '/api/leads/{leadId}/links', { params: { path: { leadId } } }).queryKey,
  integrations: () => $api.queryOptions('get', '/api/integrations').queryKey,
};
