import { Navigate } from 'react-router';
import { isAdmin, useMe } from '../../features/auth/api/session';
import { AuditPanel, JobsPanel, RoutingPanel } from '../../features/operations/components/operations-panels';

export function OperationsRoute() {
  const me = useMe();
  if (!isAdmin(me.data)) return <Navigate to="/" replace />;
  return (
    <main className="page" aria-labelledby="operations-title">
      <h1 id="operations-title">Operations</h1>
      <section className="card" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Background jobs</h2>
        <JobsPanel />
      </section>
      <section className="card" aria-labelledby="routing-title">
        <h2 id="routing-title">Discord routing</h2>
        <RoutingPanel />
      </section>
      <section className="card" aria-labelledby="audit-title">
        <h2 id="audit-title">Audit log</h2>
        <AuditPanel />
      </section>
    </main>
  );
}
