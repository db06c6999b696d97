// What the server says about itself (GET /api/config): sandbox mode, and its public URL, whose
// origin the OAuth popup's message comes from.
import { useQuery } from '@tanstack/react-query';
import { api } from './client';

export interface AppConfigView {
  sandbox: boolean;
  publicUrl: string;
}

// INTERIM until GET /api/config lands: the public URL is the origin of a provider's redirect URI
// (`{PUBLIC_URL}/api/integrations/{provider}/callback`), sandbox mode is whether the simulators
// answer.
async function readConfig(): Promise<AppConfigView> {
  const [providers, sandbox] = await Promise.all([
    api.GET('/api/integrations/providers').catch(() => null),
    fetch('/sandbox/discord/servers', { credentials: 'include' }).then((r) => r.ok, () => false),
  ]);
  const redirect = providers?.data?.items[0]?.redirectUri;
  let publicUrl = window.location.origin;
  try {
    if (redirect) publicUrl = new URL(redirect).origin;
  } catch {
    // Keep the page's origin.
  }
  return { sandbox, publicUrl };
}

export function useAppConfig() {
  return useQuery({ queryKey: ['app-config'], queryFn: readConfig, staleTime: Infinity, retry: 1 });
}
