// Operations (admins): background jobs and retrying dead ones, inbound routing decisions, sync
// runs and the audit log. Every list is paged by cursor ("Load more").
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { Schema } from '../../../api/client';
import type { paths } from '../../../api/schema';
import { cursorPaging } from '../../../api/paged';
import { $api } from '../../../api/query';

export type Job = Schema<'JobView'>;
export type JobState = Schema<'JobState'>;
export type JobKind = Schema<'JobKind'>;
export type RoutingEvent = Schema<'RoutingEventView'>;
export type RoutingDecision = Schema<'RoutingDecision'>;
export type SyncLog = Schema<'SyncLogView'>;
export type AuditEntry = Schema<'AuditEntryView'>;
export type RoutingQuery = Omit<NonNullable<paths['/api/routing-events']['get']['parameters']['query']>, 'cursor' | 'limit'>;

/** Each `Record` is over the schema's enum: a value added to the API fails the typecheck here. */
export const JOB_STATES: Record<JobState, string> = {
  pending: 'waiting to run',
  running: 'running now',
  done: 'finished',
  dead: 'gave up after its attempts',
};

export const JOB_KINDS: Record<JobKind, string> = {
  deliver_message: 'Send a message to Discord',
  create_lead_channel: 'Make a lead’s Discord channel',
  discord_cleanup: 'Clean up in Discord',
  deliver_webhook: 'Deliver a webhook to the CRM',
};

export const DECISIONS: Record<RoutingDecision, string> = {
  routed: 'stored on a lead',
  ignored: 'not for us (expected)',
  rejected: 'could not be placed',
};

export const PAGE_SIZE = 50;

export function useJobs(state: JobState) {
  return $api.useInfiniteQuery('get', '/api/jobs', { params: { query: { state, limit: PAGE_SIZE } } }, cursorPaging);
}

const jobsKey: QueryKey = ['get', '/api/jobs'];

export function useRetryJob() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/jobs/{jobId}/retry', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: jobsKey }),
  });
}

export function useRoutingEvents(filters: RoutingQuery) {
  return $api.useInfiniteQuery(
    'get',
    '/api/routing-events',
    { params: { query: { ...filters, limit: PAGE_SIZE } } },
    { ...cursorPaging, placeholderData: (previous) => previous },
  );
}

export function useSyncLogs(resourceType: string | undefined) {
  return $api.useInfiniteQuery(
    'get',
    '/api/sync-logs',
    { params: { query: { resourceType, limit: PAGE_SIZE } } },
    cursorPaging,
  );
}

export function useAuditLog(action: string | undefined) {
  return $api.useInfiniteQuery('get', '/api/audit-log', { params: { query: { action, limit: PAGE_SIZE } } }, cursorPaging);
}
