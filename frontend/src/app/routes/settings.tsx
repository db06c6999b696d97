// Settings: one URL per section (/settings/integrations, /webhooks, /api-keys, /members);
// /settings opens the first. Members see what the API shows them, read-only.
import type { ReactNode } from 'react';
import { Navigate, Outlet, type RouteObject } from 'react-router';
import { SubNav } from '../../components/sub-nav';
import { isAdmin, useMe } from '../../features/auth/api/session';
import { IntegrationsPanel } from '../../features/settings/components/integrations-panel';
import { MembersPanel } from '../../features/settings/components/members-panel';
import { ApiKeysPanel } from '../../features/settings/components/team-panels';
import { WebhooksPanel } from '../../features/webhooks/components/webhooks-panel';

const SECTIONS = [
  { to: '/settings/integrations', text: 'Integrations' },
  { to: '/settings/webhooks', text: 'Webhooks' },
  { to: '/settings/api-keys', text: 'API keys' },
  { to: '/settings/members', text: 'Members' },
];

export function SettingsRoute() {
  return (
    <main className="page" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <SubNav label="Settings sections" links={SECTIONS} />
      <Outlet />
    </main>
  );
}

function Section({ id, title, intro, children }: { id: string; title: string; intro?: ReactNode; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {intro && <p className="hint">{intro}</p>}
      {children}
    </section>
  );
}

function IntegrationsSection() {
  const me = useMe();
  return (
    <Section id="integrations" title="Integrations">
      <IntegrationsPanel canManage={isAdmin(me.data)} />
    </Section>
  );
}

function WebhooksSection() {
  const me = useMe();
  return (
    <Section id="webhooks" title="Webhooks">
      <WebhooksPanel canManage={isAdmin(me.data)} />
    </Section>
  );
}

function ApiKeysSection() {
  const me = useMe();
  return (
    <Section id="keys" title="API keys" intro="For your CRM’s server to call the Switchboard API. Each key is shown once.">
      <ApiKeysPanel canManage={isAdmin(me.data)} />
    </Section>
  );
}

function MembersSection() {
  const me = useMe();
  if (!me.data?.user) return null;
  return (
    <Section id="members" title="Members">
      <MembersPanel me={me.data.user.id} myRole={me.data.role} canManage={isAdmin(me.data)} />
    </Section>
  );
}

export const settingsRoutes: RouteObject[] = [
  { index: true, element: <Navigate to="integrations" replace /> },
  { path: 'integrations', element: <IntegrationsSection /> },
  { path: 'webhooks', element: <WebhooksSection /> },
  { path: 'api-keys', element: <ApiKeysSection /> },
  { path: 'members', element: <MembersSection /> },
  { path: '*', element: <Navigate to="/settings/integrations" replace /> },
];
