// GitHub once connected: the webhook to set up by hand (URL and secret), the hooks Switchboard
// registered itself, rotating the secret, and polling now.
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { Schema } from '../../../api/client';
import { keys } from '../../../api/keys';
import { $api } from '../../../api/query';

export type GitHubSettings = Schema<'GitHubSettings'>;

const githubKey = $api.queryOptions('get', '/api/integrations/github').queryKey;
const syncLogsKey: QueryKey = ['get', '/api/sync-logs'];
const linksKey: QueryKey = ['get', '/api/links'];

export const useGitHubSettings = (enabled: boolean) =>
  $api.useQuery('get', '/api/integrations/github', undefined, { enabled });

/** The answer carries the new secret; it replaces the cached settings. */
export function useRotateGitHubSecret() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/integrations/github/webhook-secret', {
    onSuccess: (settings) => queryClient.setQueryData(githubKey, settings),
  });
}

/** Poll every linked issue and pull request now; answers the run's sync log. */
export function useGitHubSync() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/integrations/github/sync', {
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: syncLogsKey }),
        queryClient.invalidateQueries({ queryKey: linksKey }),
        queryClient.invalidateQueries({ queryKey: githubKey }),
      ]),
  });
}

/** Ask the provider whether the connection still works; the answer is the integration. */
export function useCheckIntegration() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/integrations/{provider}/check', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.integrations() }),
  });
}
