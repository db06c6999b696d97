// The inbox's left pane: status tabs, search, the leads with their last message, "Load more".
import { useEffect, useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { EmptyState } from '../../../components/empty-state';
import { FormError } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { toProblem } from '../../../lib/problem';
import { useLeadList, type Lead, type LeadStatus } from '../api/leads';

export const STATUSES: readonly LeadStatus[] = ['open', 'resolved', 'closed'];

/** The list's filters, from the URL (`?status=resolved&q=ada`); `open` when none. */
export function useLeadFilters(): { status: LeadStatus; q: string } {
  const [params] = useSearchParams();
  const status = params.get('status');
  return {
    status: STATUSES.includes(status as LeadStatus) ? (status as LeadStatus) : 'open',
    q: params.get('q')?.trim() ?? '',
  };
}

function SearchBox({ value, onChange }: { value: string; onChange: (q: string) => void }) {
  const [draft, setDraft] = useState(value);
  const id = useId();
  useEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft.trim() === value) return;
    const timer = window.setTimeout(() => onChange(draft.trim()), 300);
    return () => window.clearTimeout(timer);
  }, [draft, value, onChange]);
  return (
    <div className="search">
      <label htmlFor={id} className="visually-hidden">
        Search leads
      </label>
      <input
        id={id}
        type="search"
        placeholder="Search name, email, Discord…"
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
      />
    </div>
  );
}

function previewOf(lead: Lead): string {
  const last = lead.lastMessage;
  if (!last) return 'No messages yet';
  // Who answered the lead: the teammate's (or key's) name, without the email's domain.
  const who = last.direction === 'outbound' ? `${last.authorName?.split('@')[0] ?? 'Sent'}: ` : '';
  return `${who}${last.preview}`;
}

function LeadRow({ lead, selected, search }: { lead: Lead; selected: boolean; search: string }) {
  const unread = selected ? 0 : lead.unreadCount;
  return (
    <li className="lead-row" data-lead-id={lead.id} data-unread={unread > 0 || undefined}>
      <Link to={`/leads/${lead.id}${search}`} aria-current={selected ? 'page' : undefined}>
        <span className="lead-row-top">
          <span className="lead-name">{lead.name}</span>
          <RelativeTime at={lead.lastActivityAt} className="lead-time" />
        </span>
        <span className="lead-row-bottom">
          <span className="lead-preview" data-field="preview">
            {previewOf(lead)}
          </span>
          {unread > 0 && (
            <span className="unread" data-field="unread" aria-label={`${unread} unread`}>
              {unread}
            </span>
          )}
          {lead.status !== 'open' && (
            <span className="badge" data-status={lead.status}>
              {lead.status}
            </span>
          )}
        </span>
      </Link>
    </li>
  );
}

export function LeadList({ selectedId, onNewLead }: { selectedId: string | undefined; onNewLead: () => void }) {
  const [params, setParams] = useSearchParams();
  const { status, q } = useLeadFilters();
  const list = useLeadList({ status, sort: 'recent', ...(q ? { q } : {}) });
  const search = params.toString() ? `?${params.toString()}` : '';
  const leads = list.data?.pages.flatMap((page) => page.items) ?? [];

  const setFilter = (name: 'status' | 'q', value: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value && !(name === 'status' && value === 'open')) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );

  return (
    <section className="pane lead-pane" aria-label="Leads">
      <div className="pane-head">
        <h1 className="pane-title">Inbox</h1>
        <button type="button" className="small" onClick={onNewLead}>
          New lead
        </button>
      </div>
      <div className="status-tabs" role="group" aria-label="Status">
        {STATUSES.map((value) => (
          <button
            key={value}
            type="button"
            className="tab"
            aria-pressed={status === value}
            onClick={() => setFilter('status', value)}
          >
            {value[0]?.toUpperCase()}
            {value.slice(1)}
          </button>
        ))}
      </div>
      <SearchBox value={q} onChange={(value) => setFilter('q', value)} />
      <div className="pane-body">
        {list.isPending && <Skeleton lines={6} label="Loading leads…" />}
        {list.isError && <FormError problem={toProblem(list.error)} />}
        {list.isSuccess && leads.length === 0 && (
          <EmptyState title={q ? `No ${status} leads match “${q}”` : `No ${status} leads`}>
            {q ? 'Try another name, email or Discord username.' : status === 'open' ? (
              <>
                Add one with <b>New lead</b>, or let your CRM create them through the API.
              </>
            ) : null}
          </EmptyState>
        )}
        <ul className="lead-list" aria-label={`${status} leads`} aria-busy={list.isFetching}>
          {leads.map((lead) => (
            <LeadRow key={lead.id} lead={lead} selected={lead.id === selectedId} search={search} />
          ))}
        </ul>
        {list.hasNextPage && (
          <div className="load-more">
            <button
              type="button"
              className="secondary small"
              disabled={list.isFetchingNextPage}
              onClick={() => void list.fetchNextPage()}
            >
              {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
