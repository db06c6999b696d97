// GitHub issues and pull requests linked to the lead: their state (open / closed / merged),
// adding one (`owner/repo#123` or its URL) and removing one. `linkActions` lets the route add
// buttons per link (the sandbox's "Close on GitHub").
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { FieldError, errorProps } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { useToast } from '../../../components/toast';
import { toProblem } from '../../../lib/problem';
import { useCreateLink, useDeleteLink, useLinks, type Lead, type Link } from '../api/leads';

const linkState = (link: Link): string => (link.merged ? 'merged' : link.state);

export function LinksPanel({ lead, linkActions }: { lead: Lead; linkActions?: (link: Link) => ReactNode }) {
  const links = useLinks(lead.id);
  const create = useCreateLink(lead.id);
  const remove = useDeleteLink(lead.id);
  const toast = useToast();
  const id = useId();
  const [ref, setRef] = useState('');
  const [error, setError] = useState<string | undefined>();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!ref.trim()) {
      setError('Enter owner/repo#123 or the URL of an issue or pull request.');
      return;
    }
    setError(undefined);
    try {
      await create.mutateAsync({ params: { path: { leadId: lead.id } }, body: { ref: ref.trim() } });
      setRef('');
    } catch (failure) {
      const problem = toProblem(failure);
      setError(problem.fieldErrors.ref ?? `${problem.detail} (${problem.code})`);
    }
  }

  return (
    <div className="links">
      {links.isPending && <Skeleton lines={2} label="Loading links…" />}
      {links.isError && <p className="form-error">{toProblem(links.error).detail}</p>}
      {links.data && links.data.items.length === 0 && (
        <p className="hint">No linked issues. Link one to resolve this lead when it is closed on GitHub.</p>
      )}
      {links.data && links.data.items.length > 0 && (
        <ul className="plain-list" aria-label="Linked issues">
          {links.data.items.map((link) => (
            <li key={link.id} className="link-row" data-link-id={link.id}>
              <div className="row">
                <a href={link.url} target="_blank" rel="noreferrer">
                  {link.repository}#{link.number}
                </a>
                <span className="badge" data-status={linkState(link)} data-field="link-state">
                  {linkState(link)}
                </span>
              </div>
              <p className="link-title">{link.title}</p>
              <div className="row-actions">
                {linkActions?.(link)}
                <button
                  type="button"
                  className="link small"
                  aria-label={`Remove ${link.repository}#${link.number}`}
                  disabled={remove.isPending}
                  onClick={() =>
                    remove.mutate(
                      { params: { path: { leadId: lead.id, linkId: link.id } } },
                      { onError: (e) => toast({ kind: 'error', text: toProblem(e).detail, code: toProblem(e).code }) },
                    )
                  }
                >
                  Remove
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <form className="inline-form" onSubmit={onSubmit} noValidate>
        <label htmlFor={`${id}-ref`}>Link an issue or pull request</label>
        <input
          {...errorProps(`${id}-ref`, error)}
          value={ref}
          onChange={(e) => setRef(e.target.value)}
          placeholder="owner/repo#123 or URL"
          maxLength={300}
        />
        <button type="submit" className="small" disabled={create.isPending}>
          Link
        </button>
        <FieldError id={`${id}-ref-error`} message={error} />
      </form>
    </div>
  );
}
