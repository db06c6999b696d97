// What happened behind the scenes, for admins: background jobs (retry a dead one), how Discord
// events were routed, and the audit log.
import { useQueryClient } from '@tanstack/react-query';
import { $api } from '../../../api/query';

export type JobStateFilter = 'pending' | 'running' | 'done' | 'dead' | '';

export const useJobs = (state: JobStateFilter) =>
  $api.useQuery('get', '/api/jobs', { params: { query: { limit: 50, ...(state ? { state } : {}) } } });

export function useRetryJob() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/jobs/{jobId}/retry', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['get', '/api/jobs'] }),
  });
}

export const useRoutingEvents = () =>
  $api.useQuery('get', '/api/routing-events', { params: { query: { limit: 50 } } });

export const useAuditLog = () => $api.useQuery('get', '/api/audit-log', { params: { query: { limit: 50 } } });
