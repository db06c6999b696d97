// Tables of jobs, routing decisions and audit entries (the newest 50 of each).
import { useId, useState } from 'react';
import { EmptyState } from '../../../components/empty-state';
import { FormError } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { toProblem } from '../../../lib/problem';
import { useAuditLog, useJobs, useRetryJob, useRoutingEvents, type JobStateFilter } from '../api/operations';

export function JobsPanel() {
  const [state, setState] = useState<JobStateFilter>('');
  const jobs = useJobs(state);
  const retry = useRetryJob();
  const toast = useToast();
  const id = useId();
  return (
    <div className="stack">
      <div>
        <label htmlFor={`${id}-state`}>State</label>
        <select id={`${id}-state`} value={state} onChange={(e) => setState(e.target.value as JobStateFilter)}>
          <option value="">All</option>
          <option value="pending">Pending</option>
          <option value="running">Running</option>
          <option value="done">Done</option>
          <option value="dead">Dead (gave up)</option>
        </select>
      </div>
      {jobs.isPending && <Skeleton lines={3} label="Loading jobs…" />}
      {jobs.isError && <FormError problem={toProblem(jobs.error)} />}
      {jobs.data?.items.length === 0 && <EmptyState title="No jobs">Nothing {state || 'queued'} right now.</EmptyState>}
      {jobs.data && jobs.data.items.length > 0 && (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th>Kind</th>
                <th>State</th>
                <th>Attempts</th>
                <th>Updated</th>
                <th>Last error</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.items.map((job) => (
                <tr key={job.id}>
                  <td>{job.kind}</td>
                  <td>
                    <span className="badge" data-status={job.state}>
                      {job.state}
                    </span>
                  </td>
                  <td>{job.attempts}</td>
                  <td>
                    <RelativeTime at={job.updatedAt} />
                  </td>
                  <td className="error">{job.lastError}</td>
                  <td>
                    {job.state === 'dead' && (
                      <button
                        type="button"
                        className="small"
                        disabled={retry.isPending}
                        onClick={() =>
                          retry.mutate(
                            { params: { path: { jobId: job.id } } },
                            {
                              onSuccess: () => toast({ kind: 'success', text: `The ${job.kind} job runs again.` }),
                              onError: (e) => toast({ kind: 'error', text: toProblem(e).detail, code: toProblem(e).code }),
                            },
                          )
                        }
                      >
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function RoutingPanel() {
  const events = useRoutingEvents();
  if (events.isPending) return <Skeleton lines={3} label="Loading routing events…" />;
  if (events.isError) return <FormError problem={toProblem(events.error)} />;
  if (events.data.items.length === 0) {
    return <EmptyState title="No Discord events yet">Messages in lead channels show up here with what was done with them.</EmptyState>;
  }
  return (
    <div className="table-wrap">
      <table className="data">
        <thead>
          <tr>
            <th>When</th>
            <th>Event</th>
            <th>Decision</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {events.data.items.map((event) => (
            <tr key={event.id}>
              <td>
                <RelativeTime at={event.at} />
              </td>
              <td>{event.eventType}</td>
              <td>
                <span className="badge" data-status={event.decision}>
                  {event.decision}
                </span>
              </td>
              <td>{event.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AuditPanel() {
  const log = useAuditLog();
  if (log.isPending) return <Skeleton lines={3} label="Loading the audit log…" />;
  if (log.isError) return <FormError problem={toProblem(log.error)} />;
  if (log.data.items.length === 0) return <EmptyState title="Nothing audited yet" />;
  return (
    <div className="table-wrap">
      <table className="data">
        <thead>
          <tr>
            <th>When</th>
            <th>Action</th>
            <th>Actor</th>
            <th>Target</th>
          </tr>
        </thead>
        <tbody>
          {log.data.items.map((entry) => (
            <tr key={entry.id}>
              <td>
                <RelativeTime at={entry.at} />
              </td>
              <td>{entry.action}</td>
              <td>{entry.actor}</td>
              <td>{entry.target}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
