// Integrations: which providers this server offers, what the company connected, connecting
// (the OAuth popup) and disconnecting.
import { useQueryClient } from '@tanstack/react-query';
import { api, type Schema } from '../../../api/client';
import { keys } from '../../../api/keys';
import { $api } from '../../../api/query';
import { toProblem } from '../../../lib/problem';

export type Integration = Schema<'IntegrationView'>;
export type Provider = Schema<'ProviderView'>;

export const useProviders = () => $api.useQuery('get', '/api/integrations/providers');
export const useIntegrations = () => $api.useQuery('get', '/api/integrations');

/** The consent URL for the popup; throws an Error with the problem's `code` on failure. */
export async function authorize(provider: string): Promise<string> {
  try {
    const { data, error } = await api.POST('/api/integrations/{provider}/authorize', {
      params: { path: { provider } },
    });
    if (data) return data.authorizeUrl;
    throw error;
  } catch (error) {
    const problem = toProblem(error);
    throw Object.assign(new Error(problem.detail), { code: problem.code });
  }
}

/** Read the integration list again (into the cache) and return it. */
export function useRefreshIntegrations() {
  const queryClient = useQueryClient();
  return async (): Promise<Integration[]> => {
    await queryClient.invalidateQueries({ queryKey: keys.integrations() });
    const list = await queryClient.fetchQuery({ ...$api.queryOptions('get', '/api/integrations'), staleTime: 0 });
    return list.items;
  };
}

export function useDisconnect() {
  const queryClient = useQueryClient();
  return $api.useMutation('delete', '/api/integrations/{provider}', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.integrations() }),
  });
}

/** What to show next to the provider's name: the Discord server or the GitHub account. */
export function describeIntegration(integration: Integration | undefined): string {
  if (!integration) return 'Not connected yet.';
  const { guildName, guildId, login } = integration.metadata;
  const parts: string[] = [];
  if (guildName || guildId) parts.push(`Server: ${guildName ?? guildId}`);
  if (login) parts.push(`Account: ${login}`);
  if (integration.status === 'active' && integration.health !== 'connected') parts.push(`health: ${integration.health}`);
  if (integration.status === 'error' && integration.lastError) parts.push(integration.lastError);
  if (parts.length === 0) return '';
  return integration.status === 'revoked' ? `Disconnected. Was: ${parts.join(' · ')}` : parts.join(' · ');
}
