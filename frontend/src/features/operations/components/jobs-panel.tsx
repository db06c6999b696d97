// Background jobs by state (dead by default): what each does, its attempts and last error, and
// Retry for a dead one.
import { useId, useState } from 'react';
import { useSearchParams } from 'react-router';
import { allItems } from '../../../api/paged';
import { EmptyState } from '../../../components/empty-state';
import { LoadMore } from '../../../components/load-more';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { toProblem, type ProblemInfo } from '../../../lib/problem';
import { JOB_KINDS, JOB_STATES, useJobs, useRetryJob, type Job, type JobState } from '../api/operations';
import { JsonSummary, ListError, TableWrap } from './common';

const STATES = Object.keys(JOB_STATES) as JobState[];
const isState = (value: string | null): value is JobState => STATES.includes(value as JobState);

const EMPTY: Record<JobState, string> = {
  dead: 'No dead jobs: everything that failed was retried successfully. Jobs that give up after their attempts show here, with Retry.',
  pending: 'Nothing is waiting to run.',
  running: 'Nothing is running right now.',
  done: 'No finished jobs yet.',
};

function RetryButton({ job }: { job: Job }) {
  const retry = useRetryJob();
  const toast = useToast();
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  return (
    <>
      <button
        type="button"
        className="small"
        disabled={retry.isPending}
        aria-label={`Retry ${JOB_KINDS[job.kind] ?? job.kind}`}
        onClick={() => {
          setProblem(null);
          retry.mutate(
            { params: { path: { jobId: job.id } } },
            {
              onSuccess: () =>
                toast({ kind: 'success', text: `${JOB_KINDS[job.kind] ?? job.kind}: queued again, from its first attempt.` }),
              onError: (error) => setProblem(toProblem(error)),
            },
          );
        }}
      >
        Retry
      </button>
      {problem && (
        <p className="field-error" role="alert">
          {problem.detail} <code>{problem.code}</code>
        </p>
      )}
    </>
  );
}

export function JobsPanel() {
  const [params, setParams] = useSearchParams();
  const raw = params.get('state');
  const state: JobState = isState(raw) ? raw : 'dead';
  const jobs = useJobs(state);
  const id = useId();
  const items = allItems(jobs.data);

  return (
    <div className="stack">
      <div className="filters">
        <div>
          <label htmlFor={`${id}-state`}>State</label>
          <select
            id={`${id}-state`}
            value={state}
            onChange={(event) => setParams(event.target.value === 'dead' ? {} : { state: event.target.value }, { replace: true })}
          >
            {STATES.map((value) => (
              <option key={value} value={value}>
                {value}: {JOB_STATES[value]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {jobs.isPending ? (
        <Skeleton lines={4} label="Loading jobs…" />
      ) : jobs.isError ? (
        <ListError error={jobs.error} />
      ) : items.length === 0 ? (
        <EmptyState title={`No ${state} jobs`}>{EMPTY[state]}</EmptyState>
      ) : (
        <TableWrap label={`${state} jobs`}>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">Created</th>
              <th scope="col">{state === 'pending' ? 'Runs' : 'Updated'}</th>
              {state === 'dead' && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {items.map((job) => (
              <tr key={job.id}>
                <td>
                  {JOB_KINDS[job.kind] ?? job.kind}
                  <div className="hint">
                    <code>{job.kind}</code> <JsonSummary value={job.payload} />
                  </div>
                </td>
                <td>{job.attempts}</td>
                <td className="wrap">{job.lastError ?? <span className="hint">—</span>}</td>
                <td>
                  <RelativeTime at={job.createdAt} />
                </td>
                <td>
                  <RelativeTime at={state === 'pending' ? job.runAt : job.updatedAt} />
                </td>
                {state === 'dead' && (
                  <td>
                    <RetryButton job={job} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      <LoadMore query={jobs} />
    </div>
  );
}
