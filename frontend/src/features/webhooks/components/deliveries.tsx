// An endpoint's delivery log: every attempt with its outcome, the receiver's status code (or why
// there was none), when the next attempt runs, and Resend.
import { useEffect, useState } from 'react';
import { allItems } from '../../../api/paged';
import { EmptyState } from '../../../components/empty-state';
import { FormError } from '../../../components/field-error';
import { LoadMore } from '../../../components/load-more';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { toProblem } from '../../../lib/problem';
import { useDeliveries, useRefreshEndpoints, useResendDelivery, type Attempt, type Endpoint } from '../api/endpoints';

function Result({ attempt }: { attempt: Attempt }) {
  if (attempt.statusCode != null) {
    return (
      <>
        <b>HTTP {attempt.statusCode}</b>
        {attempt.responseExcerpt && <span className="excerpt"> {attempt.responseExcerpt}</span>}
      </>
    );
  }
  return <span className="error-text">{attempt.error ?? 'No answer'}</span>;
}

export function Deliveries({ endpoint, canManage, watching }: { endpoint: Endpoint; canManage: boolean; watching: boolean }) {
  const deliveries = useDeliveries(endpoint.id, watching);
  const resend = useResendDelivery();
  const toast = useToast();
  const [rowError, setRowError] = useState<{ id: string; detail: string; code: string } | null>(null);
  const refreshEndpoints = useRefreshEndpoints();
  const newest = deliveries.data?.pages[0]?.items[0]?.id;

  // A new attempt changes the endpoint's health and last success: read them again.
  useEffect(() => {
    if (newest) void refreshEndpoints();
  }, [newest]);

  if (deliveries.isPending) return <Skeleton lines={3} label="Loading deliveries…" />;
  if (deliveries.isError) return <FormError problem={toProblem(deliveries.error)} />;
  const attempts = allItems(deliveries.data);
  if (attempts.length === 0) {
    return (
      <EmptyState title="No deliveries yet">
        {endpoint.enabled
          ? 'Press Send test to post a webhook.test message, or wait for the next event.'
          : 'This endpoint is disabled: enable it to receive events.'}
      </EmptyState>
    );
  }

  return (
    <div className="stack">
      <div className="table-wrap" tabIndex={0} role="region" aria-label={`Deliveries to ${endpoint.url}`}>
        <table className="data">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Outcome</th>
              <th scope="col">Answer</th>
              <th scope="col">Next attempt</th>
              {canManage && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {attempts.map((attempt) => (
              <tr key={attempt.id} data-outcome={attempt.outcome}>
                <td>
                  <RelativeTime at={attempt.createdAt} />
                  <div className="hint">{attempt.durationMs} ms</div>
                </td>
                <td>
                  <code>{attempt.eventType}</code>
                  <div className="hint">attempt {attempt.attempt}</div>
                </td>
                <td>
                  <span className="badge" data-status={attempt.outcome === 'succeeded' ? 'sent' : 'failed'}>
                    {attempt.outcome}
                  </span>
                </td>
                <td className="wrap">
                  <Result attempt={attempt} />
                </td>
                <td>{attempt.nextRetryAt ? <RelativeTime at={attempt.nextRetryAt} /> : <span className="hint">none</span>}</td>
                {canManage && (
                  <td>
                    <button
                      type="button"
                      className="secondary small"
                      disabled={resend.isPending}
                      aria-label={`Resend ${attempt.eventType} from ${new Date(attempt.createdAt).toLocaleString()}`}
                      onClick={() => {
                        setRowError(null);
                        resend.mutate(
                          { params: { path: { endpointId: endpoint.id, deliveryId: attempt.id } } },
                          {
                            onSuccess: () => toast({ kind: 'success', text: `${attempt.eventType} queued again.` }),
                            onError: (error) => setRowError({ id: attempt.id, ...toProblem(error) }),
                          },
                        );
                      }}
                    >
                      Resend
                    </button>
                    {rowError?.id === attempt.id && (
                      <p className="field-error" role="alert">
                        {rowError.detail} <code>{rowError.code}</code>
                      </p>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <LoadMore query={deliveries} />
    </div>
  );
}
