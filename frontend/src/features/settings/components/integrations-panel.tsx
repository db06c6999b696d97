// Connect or disconnect Discord and GitHub. Connecting runs the OAuth popup flow; its outcome
// (from the popup's message or from polling) is a toast.
import { useAppConfig } from '../../../api/config';
import { useConfirm } from '../../../components/confirm-dialog';
import { EmptyState } from '../../../components/empty-state';
import { Skeleton } from '../../../components/skeleton';
import { useToast } from '../../../components/toast';
import { toProblem } from '../../../lib/problem';
import {
  authorize,
  describeIntegration,
  useDisconnect,
  useIntegrations,
  useProviders,
  useRefreshIntegrations,
  type Integration,
  type Provider,
} from '../api/integrations';
import { useCheckIntegration } from '../api/github';
import { runOAuthPopup, type FlowResult } from '../api/oauth-popup';
import { GitHubPanel } from './github-panel';

const versionOf = (integration: Integration | undefined): string =>
  integration ? `${integration.status}|${integration.updatedAt}` : 'none';

function disconnectWarning(provider: Provider): string {
  if (provider.id === 'discord') {
    return (
      'Nothing more is sent to the server: messages still waiting fail, and the bot leaves the ' +
      'server. The lead channels and their history stay in Discord; reconnecting the same server ' +
      'restores them.'
    );
  }
  if (provider.id === 'github') {
    return (
      'Switchboard removes the webhooks it registered on linked repositories and gives up its access ' +
      'at GitHub. The links stay, but closing an issue no longer resolves its lead until GitHub is ' +
      'connected again, which registers the hooks again.'
    );
  }
  return 'Its access is revoked; what was already linked stays here.';
}

/** What connecting a provider unlocks, in words (the provider's `features`). */
const UNLOCKS: Record<string, string> = {
  discord: 'Unlocks a Discord channel per lead, replies from the inbox, and the lead’s messages arriving here.',
  github: 'Unlocks linking GitHub issues and pull requests to leads; a lead is resolved when its links close.',
};

const HEALTH_TEXT: Record<string, string> = {
  connected: 'Working.',
  degraded: 'Working with problems: check the bot’s permissions in the server.',
  disconnected: 'Not reachable: reconnect it.',
  error: 'Failing: reconnect it.',
};

export function IntegrationsPanel({ canManage }: { canManage: boolean }) {
  const providers = useProviders();
  const integrations = useIntegrations();
  const config = useAppConfig();
  const refresh = useRefreshIntegrations();
  const disconnect = useDisconnect();
  const check = useCheckIntegration();
  const toast = useToast();
  const confirm = useConfirm();

  const integrationOf = (list: Integration[] | undefined, provider: string) =>
    list?.find((item) => item.provider === provider);

  function connect(provider: Provider) {
    const before = versionOf(integrationOf(integrations.data?.items, provider.id));
    // Called synchronously from the click: the popup opens before anything is awaited.
    const flow = runOAuthPopup({
      provider: provider.id,
      publicUrl: config.data?.publicUrl ?? window.location.origin,
      authorize: () => authorize(provider.id),
      poll: async () => {
        const now = integrationOf(await refresh(), provider.id);
        return now?.status === 'active' && versionOf(now) !== before;
      },
    });
    void flow.then((result) => report(provider, result));
  }

  async function report(provider: Provider, result: FlowResult) {
    if (result.kind === 'cancelled') return; // A newer Connect click took over.
    const list = await refresh().catch(() => integrations.data?.items);
    switch (result.kind) {
      case 'success': {
        const where = describeIntegration(integrationOf(list, provider.id));
        toast({ kind: 'success', text: `${provider.name} connected.${where ? ` ${where}.` : ''}`, via: result.via });
        break;
      }
      case 'error':
        toast({ kind: 'error', text: `${provider.name} was not connected: ${result.message}`, code: result.code });
        break;
      case 'blocked':
        toast({
          kind: 'error',
          text: `The ${provider.name} sign-in window was blocked by your browser. Allow pop-ups for this site, then press Connect ${provider.name} again.`,
          code: 'popup_blocked',
        });
        break;
      case 'closed':
        toast({ text: `The sign-in window was closed before ${provider.name} was connected.` });
        break;
      case 'timeout':
        toast({ kind: 'error', text: `Connecting ${provider.name} took longer than 10 minutes. Start again.`, code: 'timeout' });
        break;
    }
  }

  async function onDisconnect(provider: Provider) {
    const ok = await confirm({
      title: `Disconnect ${provider.name}?`,
      body: <p>{disconnectWarning(provider)}</p>,
      confirmLabel: `Disconnect ${provider.name}`,
      danger: true,
    });
    if (!ok) return;
    disconnect.mutate(
      { params: { path: { provider: provider.id } } },
      {
        onSuccess: () => toast({ kind: 'success', text: `${provider.name} disconnected.` }),
        onError: (error) => {
          const problem = toProblem(error);
          toast({ kind: 'error', text: `Could not disconnect ${provider.name}: ${problem.detail}`, code: problem.code });
        },
      },
    );
  }

  function onCheck(provider: Provider) {
    check.mutate(
      { params: { path: { provider: provider.id } } },
      {
        onSuccess: (integration) =>
          toast({
            kind: integration.health === 'connected' ? 'success' : 'error',
            text: `${provider.name}: ${HEALTH_TEXT[integration.health] ?? integration.health}${
              integration.lastError ? ` ${integration.lastError}` : ''
            }`,
          }),
        onError: (error) => {
          const problem = toProblem(error);
          toast({ kind: 'error', text: `Could not check ${provider.name}: ${problem.detail}`, code: problem.code });
        },
      },
    );
  }

  if (providers.isPending || integrations.isPending) return <Skeleton lines={4} label="Loading integrations…" />;
  if (providers.isError || integrations.isError) {
    const problem = toProblem(providers.error ?? integrations.error);
    return (
      <p className="form-error" role="alert">
        Could not load integrations: {problem.detail} <code>{problem.code}</code>
      </p>
    );
  }
  if (providers.data.items.length === 0) {
    return <EmptyState title="No providers on this server">Set Discord or GitHub credentials on the server.</EmptyState>;
  }

  const github = integrationOf(integrations.data.items, 'github');
  const githubConnected = github?.status === 'active' || github?.status === 'error';

  return (
    <>
      <ul className="integrations">
        {providers.data.items.map((provider) => {
          const integration = integrationOf(integrations.data.items, provider.id);
          const status = integration?.status ?? 'not connected';
          const connected = integration?.status === 'active' || integration?.status === 'error';
          const titleId = `integration-${provider.id}`;
          return (
            <li key={provider.id} className="integration" data-provider={provider.id} aria-labelledby={titleId}>
              <div>
                <div className="head">
                  <h3 id={titleId}>{provider.name}</h3>
                  <span className="badge" data-status={status} data-field="status">
                    {status}
                  </span>
                </div>
                <p className="detail" data-field="detail">
                  {provider.configured ? describeIntegration(integration) : 'Not configured on this server.'}
                </p>
                {UNLOCKS[provider.id] && <p className="hint unlocks">{UNLOCKS[provider.id]}</p>}
                {connected && integration && (
                  <p className="hint" data-field="health">
                    Health: <b>{integration.health}</b>. {HEALTH_TEXT[integration.health]}
                  </p>
                )}
              </div>
              <div className="buttons">
                {provider.configured && canManage && (
                  <>
                    <button type="button" onClick={() => connect(provider)}>
                      {connected ? 'Reconnect' : 'Connect'} {provider.name}
                    </button>
                    {connected && (
                      <button type="button" className="secondary" disabled={check.isPending} onClick={() => onCheck(provider)}>
                        Check {provider.name}
                      </button>
                    )}
                    {connected && (
                      <button
                        type="button"
                        className="danger"
                        disabled={disconnect.isPending}
                        onClick={() => void onDisconnect(provider)}
                      >
                        Disconnect {provider.name}
                      </button>
                    )}
                  </>
                )}
                {provider.configured && !canManage && <small className="hint">Only admins can change this.</small>}
              </div>
            </li>
          );
        })}
      </ul>
      {githubConnected && <GitHubPanel canManage={canManage} />}
    </>
  );
}
