// Sync runs (GitHub polling, DM-lead migrations, catch-ups after gateway outages) with their
// counts and errors; filtered by resource type in the URL.
import { useId } from 'react';
import { useSearchParams } from 'react-router';
import { allItems } from '../../../api/paged';
import { EmptyState } from '../../../components/empty-state';
import { LoadMore } from '../../../components/load-more';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useSyncLogs, type SyncLog } from '../api/operations';
import { JsonSummary, ListError, TableWrap } from './common';

/** The resource types the API documents (`SyncLogView.resourceType`). */
const RESOURCES: Record<string, string> = {
  github_links: 'GitHub links (polling)',
  lead_channels: 'Lead channels',
  messages: 'Messages (catch-up)',
};

function duration(run: SyncLog): string {
  if (!run.completedAt) return 'not finished';
  const ms = Date.parse(run.completedAt) - Date.parse(run.startedAt);
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

export function SyncLogsPanel() {
  const [params, setParams] = useSearchParams();
  const resourceType = params.get('resourceType') || undefined;
  const runs = useSyncLogs(resourceType);
  const id = useId();
  const items = allItems(runs.data);

  return (
    <div className="stack">
      <div className="filters">
        <div>
          <label htmlFor={`${id}-resource`}>Resource</label>
          <select
            id={`${id}-resource`}
            value={resourceType ?? ''}
            onChange={(event) => setParams(event.target.value ? { resourceType: event.target.value } : {}, { replace: true })}
          >
            <option value="">All</option>
            {Object.entries(RESOURCES).map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
            {resourceType && !RESOURCES[resourceType] && <option value={resourceType}>{resourceType}</option>}
          </select>
        </div>
      </div>
      {runs.isPending ? (
        <Skeleton lines={4} label="Loading sync runs…" />
      ) : runs.isError ? (
        <ListError error={runs.error} />
      ) : items.length === 0 ? (
        <EmptyState title="No sync runs yet">
          Runs appear when GitHub links are polled (or you press Sync now under Settings → Integrations), and when
          Switchboard catches up with Discord after an outage.
        </EmptyState>
      ) : (
        <TableWrap label="Sync runs">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Resource</th>
              <th scope="col">Read</th>
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
              <th scope="col">Failed</th>
              <th scope="col">Took</th>
              <th scope="col">Errors</th>
            </tr>
          </thead>
          <tbody>
            {items.map((run) => (
              <tr key={run.id} data-failed={run.recordsFailed > 0 || undefined}>
                <td>
                  <RelativeTime at={run.startedAt} />
                </td>
                <td>
                  {RESOURCES[run.resourceType] ?? run.resourceType}
                  <div className="hint">{run.syncType}</div>
                </td>
                <td>{run.recordsSynced}</td>
                <td>{run.recordsCreated}</td>
                <td>{run.recordsUpdated}</td>
                <td>{run.recordsFailed > 0 ? <b className="error-text">{run.recordsFailed}</b> : 0}</td>
                <td>{duration(run)}</td>
                <td className="wrap">
                  <JsonSummary value={run.errors} />
                </td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      <LoadMore query={runs} />
    </div>
  );
}
