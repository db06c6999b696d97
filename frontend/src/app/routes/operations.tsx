// Operations (admins): /operations/jobs, /routing, /sync-logs, /audit; /operations opens the
// first. Others are told the page is for admins (the API answers them 403 `forbidden`).
import type { ReactNode } from 'react';
import { Navigate, Outlet, type RouteObject } from 'react-router';
import { SubNav } from '../../components/sub-nav';
import { isAdmin, useMe } from '../../features/auth/api/session';
import { AuditPanel } from '../../features/operations/components/audit-panel';
import { AdminsOnly } from '../../features/operations/components/common';
import { JobsPanel } from '../../features/operations/components/jobs-panel';
import { RoutingPanel } from '../../features/operations/components/routing-panel';
import { SyncLogsPanel } from '../../features/operations/components/sync-logs-panel';

const SECTIONS = [
  { to: '/operations/jobs', text: 'Jobs' },
  { to: '/operations/routing', text: 'Routing' },
  { to: '/operations/sync-logs', text: 'Sync logs' },
  { to: '/operations/audit', text: 'Audit log' },
];

export function OperationsRoute() {
  const me = useMe();
  return (
    <main className="page wide" aria-labelledby="operations-title">
      <h1 id="operations-title">Operations</h1>
      {isAdmin(me.data) ? (
        <>
          <SubNav label="Operations sections" links={SECTIONS} />
          <Outlet />
        </>
      ) : (
        <AdminsOnly />
      )}
    </main>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {children}
    </section>
  );
}

export const operationsRoutes: RouteObject[] = [
  { index: true, element: <Navigate to="jobs" replace /> },
  {
    path: 'jobs',
    element: (
      <Section id="jobs" title="Jobs">
        <JobsPanel />
      </Section>
    ),
  },
  {
    path: 'routing',
    element: (
      <Section id="routing" title="Routing events">
        <RoutingPanel />
      </Section>
    ),
  },
  {
    path: 'sync-logs',
    element: (
      <Section id="sync-logs" title="Sync logs">
        <SyncLogsPanel />
      </Section>
    ),
  },
  {
    path: 'audit',
    element: (
      <Section id="audit" title="Audit log">
        <AuditPanel />
      </Section>
    ),
  },
  { path: '*', element: <Navigate to="/operations/jobs" replace /> },
];
