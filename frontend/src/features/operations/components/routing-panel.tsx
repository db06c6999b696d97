// Routing events: what became of each Discord message seen in the company's server, and why —
// "why didn't this message arrive?". The filters live in the URL, so a filtered view can be shared.
import { useId, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { allItems } from '../../../api/paged';
import { EmptyState } from '../../../components/empty-state';
import { FieldError, errorProps } from '../../../components/field-error';
import { LoadMore } from '../../../components/load-more';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { toProblem } from '../../../lib/problem';
import { DECISIONS, useRoutingEvents, type RoutingDecision, type RoutingQuery } from '../api/operations';
import { explainReason } from '../api/reasons';
import { ListError, TableWrap } from './common';

const DECISION_NAMES = Object.keys(DECISIONS) as RoutingDecision[];
const SNOWFLAKE = /^[0-9]{1,20}$/;

/** An instant as a `datetime-local` value, in the browser's time zone. */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A `datetime-local` value as RFC 3339 (UTC), or undefined when empty or invalid. */
function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

function readFilters(params: URLSearchParams): RoutingQuery {
  const decision = params.get('decision');
  return {
    decision: DECISION_NAMES.includes(decision as RoutingDecision) ? (decision as RoutingDecision) : undefined,
    channelId: params.get('channelId') || undefined,
    since: params.get('since') || undefined,
    until: params.get('until') || undefined,
  };
}

export function RoutingPanel() {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const events = useRoutingEvents(filters);
  const id = useId();
  const [channelError, setChannelError] = useState<string | undefined>();
  const problem = events.isError ? toProblem(events.error) : null;
  const fieldErrors = problem?.status === 422 ? problem.fieldErrors : {};
  const errors: Record<string, string | undefined> = { ...fieldErrors, channelId: channelError ?? fieldErrors.channelId };
  const filtered = Object.values(filters).some(Boolean);
  const items = allItems(events.data);

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const channelId = String(form.get('channelId') ?? '').trim();
    if (channelId && !SNOWFLAKE.test(channelId)) {
      setChannelError('A Discord channel id is a number of up to 20 digits (right-click the channel → Copy Channel ID).');
      return;
    }
    setChannelError(undefined);
    const next = new URLSearchParams();
    const decision = String(form.get('decision') ?? '');
    if (decision) next.set('decision', decision);
    if (channelId) next.set('channelId', channelId);
    const since = fromLocalInput(String(form.get('since') ?? ''));
    const until = fromLocalInput(String(form.get('until') ?? ''));
    if (since) next.set('since', since);
    if (until) next.set('until', until);
    setParams(next);
  }

  return (
    <div className="stack">
      <p className="hint">
        Every message Switchboard saw in your Discord server: <b>routed</b> to a lead, <b>ignored</b> (its own echoes, bots,
        system messages) or <b>rejected</b> with the reason. Look here when a message did not arrive in the inbox.
      </p>
      {/* Keyed by the URL, so Back/Forward and shared links fill the form. */}
      <form key={params.toString()} className="filters" onSubmit={apply} noValidate aria-label="Filter routing events">
        <div>
          <label htmlFor={`${id}-decision`}>Decision</label>
          <select id={`${id}-decision`} name="decision" defaultValue={filters.decision ?? ''}>
            <option value="">Any</option>
            {DECISION_NAMES.map((decision) => (
              <option key={decision} value={decision}>
                {decision}: {DECISIONS[decision]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-channel`}>Channel id</label>
          <input
            {...errorProps(`${id}-channel`, errors.channelId)}
            name="channelId"
            inputMode="numeric"
            placeholder="e.g. 1180000000000000000"
            defaultValue={filters.channelId ?? ''}
          />
          <FieldError id={`${id}-channel-error`} message={errors.channelId} />
        </div>
        <div>
          <label htmlFor={`${id}-since`}>From</label>
          <input {...errorProps(`${id}-since`, errors.since)} name="since" type="datetime-local" defaultValue={toLocalInput(filters.since)} />
          <FieldError id={`${id}-since-error`} message={errors.since} />
        </div>
        <div>
          <label htmlFor={`${id}-until`}>Until</label>
          <input {...errorProps(`${id}-until`, errors.until)} name="until" type="datetime-local" defaultValue={toLocalInput(filters.until)} />
          <FieldError id={`${id}-until-error`} message={errors.until} />
        </div>
        <div className="filter-buttons">
          <button type="submit">Filter</button>
          {filtered && (
            <button type="button" className="secondary" onClick={() => setParams(new URLSearchParams())}>
              Clear
            </button>
          )}
        </div>
      </form>

      {events.isPending ? (
        <Skeleton lines={4} label="Loading routing events…" />
      ) : events.isError ? (
        problem?.status === 422 ? null : <ListError error={events.error} />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? 'No routing events match these filters' : 'No routing events yet'}>
          {filtered
            ? 'Widen the time range or clear the filters.'
            : 'Once Discord is connected, every message in your server shows up here with what became of it.'}
        </EmptyState>
      ) : (
        <TableWrap label="Routing events">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Decision</th>
              <th scope="col">Why</th>
              <th scope="col">Channel</th>
              <th scope="col">Author</th>
              <th scope="col">Lead</th>
            </tr>
          </thead>
          <tbody>
            {items.map((event) => (
              <tr key={event.id} data-decision={event.decision}>
                <td>
                  <RelativeTime at={event.at} />
                  <div className="hint">
                    {event.eventType} · {event.source}
                  </div>
                </td>
                <td>
                  <span className="badge" data-status={event.decision}>
                    {event.decision}
                  </span>
                </td>
                <td className="wrap">
                  {explainReason(event.reason, event.eventType)}
                  {event.reason && (
                    <div className="hint">
                      <code>{event.reason}</code>
                    </div>
                  )}
                </td>
                <td>
                  {event.channelId ? (
                    <Link to={`?${new URLSearchParams({ channelId: event.channelId })}`} title="Only this channel">
                      <code>{event.channelId}</code>
                    </Link>
                  ) : (
                    <span className="hint">direct message</span>
                  )}
                </td>
                <td>{event.authorId ? <code>{event.authorId}</code> : <span className="hint">—</span>}</td>
                <td>{event.leadId ? <Link to={`/leads/${event.leadId}`}>Open lead</Link> : <span className="hint">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      <LoadMore query={events} />
    </div>
  );
}
