// "New lead": name, email, Discord user id. In sandbox mode the route adds a picker of the
// sandbox server's members that fills the Discord id (`discordPicker`).
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { FieldError, FormError, errorProps } from '../../../components/field-error';
import { otherFieldErrors, toProblem, type ProblemInfo } from '../../../lib/problem';
import { useCreateLead, type Lead } from '../api/leads';

export type DiscordPick = (member: { id: string; username: string }) => void;

export function NewLeadForm({
  onCreated,
  onCancel,
  discordPicker,
}: {
  onCreated: (lead: Lead) => void;
  onCancel: () => void;
  discordPicker?: (pick: DiscordPick) => ReactNode;
}) {
  const create = useCreateLead();
  const id = useId();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [discordUserId, setDiscordUserId] = useState('');
  const [discordUsername, setDiscordUsername] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const errors = problem?.fieldErrors ?? {};
  const shown = ['name', 'email', 'discordUserId', 'discordUsername'];

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setProblem({ code: 'validation_failed', detail: 'Enter a name.', status: 422, fieldErrors: { name: 'Enter a name.' } });
      return;
    }
    setProblem(null);
    try {
      const lead = await create.mutateAsync({
        body: {
          name: name.trim(),
          ...(email.trim() ? { email: email.trim() } : {}),
          ...(discordUserId.trim() ? { discordUserId: discordUserId.trim() } : {}),
          ...(discordUsername && discordUserId.trim() ? { discordUsername } : {}),
        },
      });
      onCreated(lead);
    } catch (error) {
      setProblem(toProblem(error));
    }
  }

  const rest = problem ? otherFieldErrors(problem, shown) : [];
  return (
    <form onSubmit={onSubmit} noValidate className="new-lead">
      <label htmlFor={`${id}-name`}>Name</label>
      <input
        {...errorProps(`${id}-name`, errors.name)}
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={200}
        required
        autoFocus
      />
      <FieldError id={`${id}-name-error`} message={errors.name} />

      <label htmlFor={`${id}-email`}>Email</label>
      <input
        {...errorProps(`${id}-email`, errors.email)}
        type="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        maxLength={254}
      />
      <FieldError id={`${id}-email-error`} message={errors.email} />

      <label htmlFor={`${id}-discord`}>Discord user ID</label>
      <input
        {...errorProps(`${id}-discord`, errors.discordUserId)}
        value={discordUserId}
        onChange={(e) => {
          setDiscordUserId(e.target.value);
          setDiscordUsername('');
        }}
        inputMode="numeric"
        pattern="[1-9][0-9]{0,19}"
        aria-describedby={errors.discordUserId ? `${id}-discord-error` : `${id}-discord-hint`}
      />
      {!errors.discordUserId && (
        <small id={`${id}-discord-hint`} className="hint">
          Optional: lets them into their channel and marks their replies. In Discord: User Settings → Advanced →
          Developer Mode, then right-click them → Copy User ID.
        </small>
      )}
      <FieldError id={`${id}-discord-error`} message={errors.discordUserId} />
      {discordPicker?.((member) => {
        setDiscordUserId(member.id);
        setDiscordUsername(member.username);
      })}

      {problem && (rest.length > 0 || !shown.some((field) => errors[field])) && (
        <FormError problem={rest.length ? { ...problem, detail: rest.join('; ') } : problem} />
      )}
      <div className="actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={create.isPending}>
          Add lead
        </button>
      </div>
    </form>
  );
}
