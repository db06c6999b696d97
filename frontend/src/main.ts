import './style.css';
import {
  ApiError,
  api,
  apiBase,
  call,
  setToken,
  type IntegrationView,
  type ProviderView,
  type Role,
} from './api/client';
import { runOAuthPopup, type FlowResult } from './oauth/popup';
import { $ } from './dom';
import { initConversations } from './leads/conversation';

interface Session {
  email: string;
  companyName: string;
  role: Role;
}

const statusLine = $<HTMLParagraphElement>('status');
const authSection = $<HTMLElement>('auth');
const authForm = $<HTMLFormElement>('auth-form');
const dashboard = $<HTMLElement>('dashboard');
const account = $<HTMLElement>('account');
const integrationList = $<HTMLUListElement>('integrations');

const conversations = initConversations({ showStatus, showError });

let session: Session | null = null;
let providers: ProviderView[] = [];
let integrations: IntegrationView[] = [];

// ---- status line -------------------------------------------------------------------------------

type StatusKind = 'info' | 'success' | 'error';

function showStatus(kind: StatusKind, text: string, code?: string): void {
  statusLine.dataset.kind = kind;
  delete statusLine.dataset.via;
  statusLine.replaceChildren(text);
  if (code) {
    const codeElement = document.createElement('code');
    codeElement.textContent = code;
    statusLine.append(' (', codeElement, ')');
  }
}

function showError(error: unknown, prefix = ''): void {
  if (error instanceof ApiError) {
    showStatus('error', `${prefix}${error.message}`, error.code);
  } else {
    showStatus('error', `${prefix}${error instanceof Error ? error.message : String(error)}`);
  }
}

// ---- auth ----------------------------------------------------------------------------------------

function enterApp(next: Session): void {
  session = next;
  authSection.hidden = true;
  dashboard.hidden = false;
  account.hidden = false;
  $('account-email').textContent = next.email;
  $('company-name-view').textContent = next.companyName;
  $('role-view').textContent = next.role;
}

function leaveApp(): void {
  session = null;
  setToken(null);
  providers = [];
  integrations = [];
  integrationList.replaceChildren();
  conversations.reset();
  dashboard.hidden = true;
  account.hidden = true;
  authSection.hidden = false;
}

authForm.addEventListener('submit', async (event: SubmitEvent) => {
  event.preventDefault();
  const submitter = event.submitter as HTMLButtonElement | null;
  const mode = submitter?.value === 'signup' ? 'signup' : 'login';
  const form = new FormData(authForm);
  const email = String(form.get('email') ?? '').trim();
  const password = String(form.get('password') ?? '');
  const companyName = String(form.get('companyName') ?? '').trim();

  if (mode === 'signup' && !companyName) {
    showStatus('error', 'Enter a company name to sign up.');
    $<HTMLInputElement>('company-name').focus();
    return;
  }

  const buttons = authForm.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  try {
    const auth =
      mode === 'signup'
        ? await call(() => api.POST('/api/auth/signup', { body: { email, password, companyName } }))
        : await call(() => api.POST('/api/auth/login', { body: { email, password } }));
    setToken(auth.token);
    authForm.reset();
    enterApp({ email: auth.user.email, companyName: auth.company.name, role: auth.role });
    showStatus('success', mode === 'signup' ? `Welcome! ${auth.company.name} is set up.` : 'Logged in.');
    await Promise.all([loadIntegrations(), conversations.load()]);
  } catch (error) {
    showError(error, mode === 'signup' ? 'Could not sign up: ' : 'Could not log in: ');
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await call(() => api.POST('/api/auth/logout'));
  } catch {
    // Forget the session locally either way.
  }
  leaveApp();
  showStatus('info', 'Logged out.');
});

/** Resume a session from the HttpOnly cookie, if there is one. */
async function resume(): Promise<void> {
  const { data, response } = await api.GET('/api/me').catch(() => ({ data: undefined, response: null }));
  if (response?.ok && data?.user) {
    enterApp({ email: data.user.email, companyName: data.company.name, role: data.role });
    await Promise.all([loadIntegrations(), conversations.load()]);
  } else {
    leaveApp();
    if (!response) {
      showStatus('error', `Cannot reach the Switchboard API at ${apiBase}.`, 'network_error');
    }
  }
}

// ---- integrations --------------------------------------------------------------------------------

const canManage = (): boolean => session?.role === 'admin' || session?.role === 'owner';

function integrationOf(provider: string): IntegrationView | undefined {
  return integrations.find((item) => item.provider === provider);
}

/** What to show next to the provider's name: the Discord server or the GitHub account. */
function describe(integration: IntegrationView | undefined): string {
  if (!integration) return 'Not connected yet.';
  const { guildName, guildId, login } = integration.metadata;
  const parts: string[] = [];
  if (guildName || guildId) parts.push(`Server: ${guildName ?? guildId}`);
  if (login) parts.push(`Account: ${login}`);
  if (integration.status === 'active' && integration.health !== 'connected') {
    parts.push(`health: ${integration.health}`);
  }
  if (integration.status === 'error' && integration.lastError) parts.push(integration.lastError);
  if (parts.length === 0) return '';
  return integration.status === 'revoked' ? `Disconnected. Was: ${parts.join(' · ')}` : parts.join(' · ');
}

function render(): void {
  const items = providers.map((provider) => {
    const integration = integrationOf(provider.id);
    const status = integration?.status ?? 'not connected';

    const item = document.createElement('li');
    item.className = 'integration';
    item.dataset.provider = provider.id;
    item.setAttribute('aria-labelledby', `integration-${provider.id}`);

    const text = document.createElement('div');
    const title = document.createElement('h3');
    title.id = `integration-${provider.id}`;
    title.textContent = provider.name;
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.status = status;
    badge.dataset.field = 'status';
    badge.textContent = status;
    const detail = document.createElement('p');
    detail.className = 'detail';
    detail.dataset.field = 'detail';
    detail.textContent = describe(integration);
    const head = document.createElement('div');
    head.className = 'head';
    head.append(title, badge);
    text.append(head, detail);

    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    if (!provider.configured) {
      detail.textContent = 'Not configured on this server.';
    } else if (canManage()) {
      const connected = integration?.status === 'active' || integration?.status === 'error';
      const connect = document.createElement('button');
      connect.type = 'button';
      connect.textContent = `${connected ? 'Reconnect' : 'Connect'} ${provider.name}`;
      connect.addEventListener('click', () => void connectProvider(provider));
      buttons.append(connect);
      if (connected) {
        const disconnect = document.createElement('button');
        disconnect.type = 'button';
        disconnect.className = 'danger';
        disconnect.textContent = `Disconnect ${provider.name}`;
        disconnect.addEventListener('click', () => void disconnectProvider(provider, disconnect));
        buttons.append(disconnect);
      }
    } else {
      const note = document.createElement('small');
      note.className = 'hint';
      note.textContent = 'Only admins can change this.';
      buttons.append(note);
    }
    item.append(text, buttons);
    return item;
  });
  integrationList.replaceChildren(...items);
}

async function refreshIntegrations(): Promise<void> {
  const list = await call(() => api.GET('/api/integrations'));
  integrations = list.items;
  render();
}

async function loadIntegrations(): Promise<void> {
  try {
    const list = await call(() => api.GET('/api/integrations/providers'));
    providers = list.items;
    await refreshIntegrations();
  } catch (error) {
    showError(error, 'Could not load integrations: ');
  }
}

const versionOf = (integration: IntegrationView | undefined): string =>
  integration ? `${integration.status}|${integration.updatedAt}` : 'none';

function connectProvider(provider: ProviderView): void {
  const before = versionOf(integrationOf(provider.id));
  showStatus('info', `Waiting for ${provider.name}: finish in the pop-up window.`);

  // Called synchronously from the click: the popup opens before anything is awaited.
  const flow = runOAuthPopup({
    provider: provider.id,
    apiBase,
    authorize: async () => {
      const started = await call(() =>
        api.POST('/api/integrations/{provider}/authorize', { params: { path: { provider: provider.id } } }),
      );
      return started.authorizeUrl;
    },
    poll: async () => {
      await refreshIntegrations();
      const now = integrationOf(provider.id);
      return now?.status === 'active' && versionOf(now) !== before;
    },
  });
  void flow.then((result) => reportFlow(provider, result));
}

async function reportFlow(provider: ProviderView, result: FlowResult): Promise<void> {
  if (result.kind === 'cancelled') return; // A newer Connect click took over.
  try {
    await refreshIntegrations();
  } catch {
    // Keep the last list; the outcome below still stands.
  }
  switch (result.kind) {
    case 'success': {
      const where = describe(integrationOf(provider.id));
      showStatus('success', `${provider.name} connected.${where ? ` ${where}.` : ''}`);
      statusLine.dataset.via = result.via; // How the outcome arrived: the popup's message or polling.
      break;
    }
    case 'error':
      showStatus('error', `${provider.name} was not connected: ${result.message}`, result.code);
      break;
    case 'blocked':
      showStatus(
        'error',
        `The ${provider.name} sign-in window was blocked by your browser. Allow pop-ups for this site, then press Connect ${provider.name} again.`,
        'popup_blocked',
      );
      break;
    case 'closed':
      showStatus('info', `The sign-in window was closed before ${provider.name} was connected.`);
      break;
    case 'timeout':
      showStatus('error', `Connecting ${provider.name} took longer than 10 minutes. Start again.`, 'timeout');
      break;
  }
}

/** What disconnecting does, said before it happens. */
function disconnectWarning(provider: ProviderView): string {
  if (provider.id === 'discord') {
    return (
      'Disconnect Discord? Nothing more is sent to the server: messages still waiting fail, and ' +
      'the bot leaves the server. The lead channels and their history stay in Discord; ' +
      'reconnecting the same server restores them.'
    );
  }
  return `Disconnect ${provider.name}? Its access is revoked; what was already linked stays here.`;
}

async function disconnectProvider(provider: ProviderView, button: HTMLButtonElement): Promise<void> {
  if (!window.confirm(disconnectWarning(provider))) return;
  button.disabled = true;
  try {
    await call(() =>
      api.DELETE('/api/integrations/{provider}', { params: { path: { provider: provider.id } } }),
    );
    showStatus('success', `${provider.name} disconnected.`);
  } catch (error) {
    showError(error, `Could not disconnect ${provider.name}: `);
  } finally {
    button.disabled = false;
  }
  await refreshIntegrations().catch((error: unknown) => showError(error));
}

// Coming back to this tab after finishing in the popup: show the latest state even if every
// other signal was lost.
window.addEventListener('focus', () => {
  if (session) void refreshIntegrations().catch(() => undefined);
});

void resume();
