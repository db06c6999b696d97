// The audit log: who did what, newest first; filtered by action in the URL.
import { useId, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { allItems } from '../../../api/paged';
import { EmptyState } from '../../../components/empty-state';
import { LoadMore } from '../../../components/load-more';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useAuditLog } from '../api/operations';
import { JsonSummary, ListError, TableWrap } from './common';

/** `user:{id}`, `api_key:{id}` or `system`, for people. */
function actorText(actor: string): string {
  const [kind, id] = actor.split(':', 2);
  if (kind === 'user') return `User ${id?.slice(0, 8)}…`;
  if (kind === 'api_key') return `API key ${id?.slice(0, 8)}…`;
  return actor === 'system' ? 'Switchboard' : actor;
}

export function AuditPanel() {
  const [params, setParams] = useSearchParams();
  const action = params.get('action') || undefined;
  const entries = useAuditLog(action);
  const id = useId();
  const items = allItems(entries.data);

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get('action') ?? '').trim();
    setParams(value ? { action: value } : {});
  }

  return (
    <div className="stack">
      <form key={action ?? ''} className="filters" onSubmit={apply} aria-label="Filter the audit log">
        <div>
          <label htmlFor={`${id}-action`}>Action</label>
          <input id={`${id}-action`} name="action" maxLength={64} placeholder="e.g. integration.connected" defaultValue={action ?? ''} />
        </div>
        <div className="filter-buttons">
          <button type="submit">Filter</button>
          {action && (
            <button type="button" className="secondary" onClick={() => setParams({})}>
              Clear
            </button>
          )}
        </div>
      </form>
      {entries.isPending ? (
        <Skeleton lines={4} label="Loading the audit log…" />
      ) : entries.isError ? (
        <ListError error={entries.error} />
      ) : items.length === 0 ? (
        <EmptyState title={action ? `No “${action}” entries` : 'Nothing in the audit log yet'}>
          {action
            ? 'Check the action’s spelling (for example integration.connected), or clear the filter.'
            : 'Connecting integrations, managing members and keys, and other admin actions are recorded here.'}
        </EmptyState>
      ) : (
        <TableWrap label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <RelativeTime at={entry.at} />
                </td>
                <td title={entry.actor}>{actorText(entry.actor)}</td>
                <td>
                  <button type="button" className="link" onClick={() => setParams({ action: entry.action })} title="Only this action">
                    <code>{entry.action}</code>
                  </button>
                </td>
                <td className="wrap">
                  <code>{entry.target}</code>
                </td>
                <td className="wrap">
                  <JsonSummary value={entry.detail} />
                </td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      <LoadMore query={entries} />
    </div>
  );
}
