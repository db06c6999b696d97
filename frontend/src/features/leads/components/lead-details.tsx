// The side panel's lead details: edit name, email, Discord user id and owner (errors inline),
// and move the conversation between open, resolved and closed.
import { useEffect, useId, useState, type FormEvent } from 'react';
import { FieldError, FormError, errorProps } from '../../../components/field-error';
import { useToast } from '../../../components/toast';
import { otherFieldErrors, toProblem, type ProblemInfo } from '../../../lib/problem';
import { useMembers, useUpdateLead, type Lead, type LeadStatus } from '../api/leads';

const ACTIONS: Record<LeadStatus, { label: string; to: LeadStatus; className?: string }[]> = {
  open: [
    { label: 'Resolve', to: 'resolved' },
    { label: 'Close', to: 'closed', className: 'secondary' },
  ],
  resolved: [
    { label: 'Reopen', to: 'open' },
    { label: 'Close', to: 'closed', className: 'secondary' },
  ],
  closed: [{ label: 'Reopen', to: 'open' }],
};

export function StatusActions({ lead }: { lead: Lead }) {
  const update = useUpdateLead();
  const toast = useToast();
  return (
    <div className="status-actions" role="group" aria-label="Conversation status">
      <span className="badge" data-status={lead.status} data-field="lead-status">
        {lead.status}
      </span>
      {ACTIONS[lead.status].map((action) => (
        <button
          key={action.to}
          type="button"
          className={`small ${action.className ?? ''}`}
          disabled={update.isPending}
          onClick={() =>
            update.mutate(
              { params: { path: { leadId: lead.id } }, body: { status: action.to } },
              {
                onSuccess: () => toast({ kind: 'success', text: `${lead.name}: ${action.to}.` }),
                onError: (error) => {
                  const problem = toProblem(error);
                  toast({ kind: 'error', text: `Could not change the status: ${problem.detail}`, code: problem.code });
                },
              },
            )
          }
        >
          {action.label}
        </button>
      ))}
    </div>
  );
}

interface Draft {
  name: string;
  email: string;
  discordUserId: string;
  ownerUserId: string;
}

const draftOf = (lead: Lead): Draft => ({
  name: lead.name,
  email: lead.email ?? '',
  discordUserId: lead.discordUserId ?? '',
  ownerUserId: lead.ownerUserId ?? '',
});

export function LeadDetails({ lead }: { lead: Lead }) {
  const update = useUpdateLead();
  const members = useMembers();
  const toast = useToast();
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<Draft>(() => draftOf(lead));
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const errors = problem?.fieldErrors ?? {};

  // Another lead, or the lead changed elsewhere while not being edited: show the new values.
  useEffect(() => {
    if (!editing) setDraft(draftOf(lead));
  }, [lead, editing]);
  useEffect(() => {
    setEditing(false);
    setProblem(null);
  }, [lead.id]);

  const owner = members.data?.items.find((member) => member.user.id === lead.ownerUserId);

  if (!editing) {
    return (
      <div className="lead-details">
        <dl>
          <dt>Email</dt>
          <dd>{lead.email ?? <span className="hint">none</span>}</dd>
          <dt>Discord</dt>
          <dd>
            {lead.discordUserId ? (
              <>
                {lead.discordUsername ? `@${lead.discordUsername} ` : ''}
                <code>{lead.discordUserId}</code>
              </>
            ) : (
              <span className="hint">no Discord user id</span>
            )}
          </dd>
          <dt>Owner</dt>
          <dd>{owner ? (owner.user.name ?? owner.user.email) : <span className="hint">nobody</span>}</dd>
        </dl>
        <button type="button" className="secondary small" onClick={() => setEditing(true)}>
          Edit details
        </button>
      </div>
    );
  }

  const set = (field: keyof Draft) => (event: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [field]: event.target.value }));

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      await update.mutateAsync({
        params: { path: { leadId: lead.id } },
        body: {
          name: draft.name.trim(),
          email: draft.email.trim() || null,
          discordUserId: draft.discordUserId.trim() || null,
          ownerUserId: draft.ownerUserId || null,
        },
      });
      setEditing(false);
      toast({ kind: 'success', text: 'Lead saved.' });
    } catch (error) {
      setProblem(toProblem(error));
    }
  }

  const shown = ['name', 'email', 'discordUserId', 'ownerUserId'];
  const rest = problem ? otherFieldErrors(problem, shown) : [];
  return (
    <form className="lead-details" onSubmit={onSubmit} noValidate aria-label="Edit lead">
      <label htmlFor={`${id}-name`}>Name</label>
      <input {...errorProps(`${id}-name`, errors.name)} value={draft.name} onChange={set('name')} maxLength={200} required />
      <FieldError id={`${id}-name-error`} message={errors.name} />

      <label htmlFor={`${id}-email`}>Email</label>
      <input {...errorProps(`${id}-email`, errors.email)} type="email" value={draft.email} onChange={set('email')} />
      <FieldError id={`${id}-email-error`} message={errors.email} />

      <label htmlFor={`${id}-discord`}>Discord user ID</label>
      <input
        {...errorProps(`${id}-discord`, errors.discordUserId)}
        value={draft.discordUserId}
        onChange={set('discordUserId')}
        inputMode="numeric"
      />
      <FieldError id={`${id}-discord-error`} message={errors.discordUserId} />

      <label htmlFor={`${id}-owner`}>Owner</label>
      <select {...errorProps(`${id}-owner`, errors.ownerUserId)} value={draft.ownerUserId} onChange={set('ownerUserId')}>
        <option value="">Nobody</option>
        {members.data?.items.map((member) => (
          <option key={member.user.id} value={member.user.id}>
            {member.user.name ?? member.user.email}
          </option>
        ))}
      </select>
      <FieldError id={`${id}-owner-error`} message={errors.ownerUserId} />

      {problem && (rest.length > 0 || !shown.some((field) => errors[field])) && (
        <FormError problem={rest.length ? { ...problem, detail: rest.join('; ') } : problem} />
      )}
      <div className="actions">
        <button
          type="button"
          className="secondary small"
          onClick={() => {
            setEditing(false);
            setProblem(null);
            setDraft(draftOf(lead));
          }}
        >
          Cancel
        </button>
        <button type="submit" className="small" disabled={update.isPending}>
          Save
        </button>
      </div>
    </form>
  );
}
