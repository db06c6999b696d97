// Sandbox helpers shown beside the real UI: pick a lead from the simulated Discord server's
// members (or add one), reply as the lead, close a linked issue on the simulated GitHub.
import { useId, useState, type FormEvent } from 'react';
import { FieldError, errorProps } from '../../../components/field-error';
import { useToast } from '../../../components/toast';
import { toProblem } from '../../../lib/problem';
import { useAddSandboxMember, useCloseOnGitHub, useReplyAsLead, useSandboxMembers, type SandboxMember } from '../api/sandbox';

/** A select of the sandbox server's members and "add a member"; `onPick` fills the Discord id. */
export function MemberPicker({ onPick }: { onPick: (member: SandboxMember) => void }) {
  const members = useSandboxMembers();
  const add = useAddSandboxMember();
  const id = useId();
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | undefined>();
  const people = members.data?.items.filter((member) => !member.bot) ?? [];

  if (members.isError) {
    const problem = toProblem(members.error);
    return (
      <p className="hint sandbox-tool">
        Sandbox members: {problem.code === 'discord_not_connected' ? 'connect Discord in Settings first.' : problem.detail}
      </p>
    );
  }

  async function onAdd(event: FormEvent) {
    event.preventDefault();
    event.stopPropagation();
    setError(undefined);
    try {
      const member = await add.mutateAsync({ username: username.trim() });
      setUsername('');
      onPick(member);
    } catch (failure) {
      const problem = toProblem(failure);
      setError(problem.fieldErrors.username ?? problem.detail);
    }
  }

  return (
    <fieldset className="sandbox-tool">
      <legend>Sandbox: a member of the simulated server</legend>
      <label htmlFor={`${id}-member`}>Pick a member</label>
      <select
        id={`${id}-member`}
        value=""
        onChange={(event) => {
          const member = people.find((m) => m.id === event.target.value);
          if (member) onPick(member);
        }}
      >
        <option value="">{members.isPending ? 'Loading…' : people.length ? 'Choose…' : 'No members yet'}</option>
        {people.map((member) => (
          <option key={member.id} value={member.id}>
            {member.username}
          </option>
        ))}
      </select>
      {/* Not a nested <form>: the button submits this part only. */}
      <div className="inline-form">
        <label htmlFor={`${id}-username`}>Add a member (username)</label>
        <input
          {...errorProps(`${id}-username`, error)}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          placeholder="grace.hopper"
          onKeyDown={(e) => {
            if (e.key === 'Enter') void onAdd(e);
          }}
        />
        <button type="button" className="secondary small" disabled={add.isPending || !username.trim()} onClick={(e) => void onAdd(e)}>
          Add member
        </button>
        <FieldError id={`${id}-username-error`} message={error} />
      </div>
    </fieldset>
  );
}

/** "Reply as this lead": posts in their channel from the simulated Discord client. */
export function ReplyAsLead({ leadId, leadName }: { leadId: string; leadName: string }) {
  const reply = useReplyAsLead();
  const id = useId();
  const [content, setContent] = useState('');
  const [error, setError] = useState<string | undefined>();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    try {
      await reply.mutateAsync({ params: { path: { leadId } }, body: { content } });
      setContent('');
    } catch (failure) {
      const problem = toProblem(failure);
      setError(`${problem.fieldErrors.content ?? problem.detail} (${problem.code})`);
    }
  }

  return (
    <form className="inline-form" onSubmit={onSubmit} noValidate>
      <label htmlFor={`${id}-reply`}>Reply as {leadName}</label>
      <input
        {...errorProps(`${id}-reply`, error)}
        value={content}
        onChange={(e) => setContent(e.target.value)}
        maxLength={2000}
        placeholder="What the lead says in Discord"
      />
      <button type="submit" className="secondary small" disabled={reply.isPending || !content.trim()}>
        Post in Discord
      </button>
      <FieldError id={`${id}-reply-error`} message={error} />
    </form>
  );
}

/** "Close on GitHub (sandbox)" for an open link: the simulator closes it and sends its webhook. */
export function CloseOnGitHub({ linkId, label }: { linkId: string; label: string }) {
  const close = useCloseOnGitHub();
  const toast = useToast();
  return (
    <button
      type="button"
      className="secondary small"
      aria-label={`Close ${label} on GitHub (sandbox)`}
      disabled={close.isPending}
      onClick={() =>
        close.mutate(
          { params: { path: { linkId } } },
          {
            onSuccess: () => toast({ text: `${label} closed on the simulated GitHub; its webhook follows.` }),
            onError: (error) => {
              const problem = toProblem(error);
              toast({ kind: 'error', text: `Could not close ${label}: ${problem.detail}`, code: problem.code });
            },
          },
        )
      }
    >
      Close on GitHub (sandbox)
    </button>
  );
}
