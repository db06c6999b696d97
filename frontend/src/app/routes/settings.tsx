import { isAdmin, useMe } from '../../features/auth/api/session';
import { IntegrationsPanel } from '../../features/settings/components/integrations-panel';
import { ApiKeysPanel, MembersPanel } from '../../features/settings/components/team-panels';

export function SettingsRoute() {
  const me = useMe();
  const canManage = isAdmin(me.data);
  return (
    <main className="page" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <section className="card" aria-labelledby="integrations-title">
        <h2 id="integrations-title">Integrations</h2>
        <IntegrationsPanel canManage={canManage} />
      </section>
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        <MembersPanel />
      </section>
      <section className="card" aria-labelledby="keys-title">
        <h2 id="keys-title">API keys</h2>
        <ApiKeysPanel canManage={canManage} />
      </section>
    </main>
  );
}
