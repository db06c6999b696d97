// Pieces the Operations panels share.
import type { ReactNode } from 'react';
import { EmptyState } from '../../../components/empty-state';
import { FormError } from '../../../components/field-error';
import { toProblem } from '../../../lib/problem';

/** A list that did not load; a 403 means the page is for admins. */
export function ListError({ error }: { error: unknown }) {
  const problem = toProblem(error);
  if (problem.status === 403) return <AdminsOnly />;
  return <FormError problem={problem} />;
}

export function AdminsOnly() {
  return (
    <EmptyState title="Operations is for admins">
      Jobs, routing decisions, sync runs and the audit log are shown to admins and owners. Ask one of them to change your
      role under Settings → Members.
    </EmptyState>
  );
}

/** A table that scrolls sideways inside itself on a narrow screen, never the page. */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>
      <table className="data">{children}</table>
    </div>
  );
}

/** A JSON value in one short line, all of it on hover. */
export function JsonSummary({ value }: { value: unknown }) {
  const text = JSON.stringify(value);
  if (!text || text === '{}' || text === '[]' || text === 'null') return <span className="hint">—</span>;
  return (
    <code className="json" title={JSON.stringify(value, null, 2)}>
      {text.length > 120 ? `${text.slice(0, 117)}…` : text}
    </code>
  );
}
