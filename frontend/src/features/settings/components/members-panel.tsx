// The company's members: everyone sees who they are; admins add people who already have an
// account, change roles and remove members. An error (`last_owner`, `forbidden`, …) is shown
// next to the member it is about.
import { useId, useState, type FormEvent } from 'react';
import type { Schema } from '../../../api/client';
import { useConfirm } from '../../../components/confirm-dialog';
import { FieldError, FormError, errorProps } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { otherFieldErrors, toProblem, type ProblemInfo } from '../../../lib/problem';
import { useAddMember, useChangeRole, useMembers, useRemoveMember } from '../api/team';

type Role = Schema<'Role'>;
type Member = Schema<'MemberView'>;

/** The roles, lowest first, with what each may do. */
const ROLES: Record<Role, string> = {
  member: 'leads and conversations',
  admin: 'also members, API keys, integrations and webhooks',
  owner: 'also owners',
};
const ROLE_NAMES = Object.keys(ROLES) as Role[];

const nameOf = (member: Member) => member.user.name ?? member.user.email;

function MemberRow({ member, me, myRole, canManage }: { member: Member; me: string; myRole: Role; canManage: boolean }) {
  const change = useChangeRole();
  const remove = useRemoveMember();
  const confirm = useConfirm();
  const toast = useToast();
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const id = useId();
  const isMe = member.user.id === me;
  // Only an owner grants or takes away `owner`.
  const editable = canManage && (myRole === 'owner' || member.role !== 'owner');

  function onRole(role: Role) {
    setProblem(null);
    change.mutate(
      { params: { path: { userId: member.user.id } }, body: { role } },
      {
        onSuccess: () => toast({ kind: 'success', text: `${nameOf(member)} is now ${role}.` }),
        onError: (error) => setProblem(toProblem(error)),
      },
    );
  }

  async function onRemove() {
    const ok = await confirm({
      title: isMe ? 'Leave this company?' : `Remove ${nameOf(member)}?`,
      body: (
        <p>
          {isMe ? 'You' : nameOf(member)} lose{isMe ? '' : 's'} access to this company at once: sessions and tokens stop
          working. Their account stays; an admin can add them again.
        </p>
      ),
      confirmLabel: isMe ? 'Leave' : 'Remove member',
      danger: true,
    });
    if (!ok) return;
    setProblem(null);
    remove.mutate(
      { params: { path: { userId: member.user.id } } },
      {
        onSuccess: () => toast({ kind: 'success', text: `${nameOf(member)} removed.` }),
        onError: (error) => setProblem(toProblem(error)),
      },
    );
  }

  return (
    <li className="member" aria-labelledby={`${id}-name`}>
      <div className="row">
        <span>
          <b id={`${id}-name`}>{nameOf(member)}</b>
          {isMe && <span className="hint"> (you)</span>}
          {member.user.name && <span className="hint"> {member.user.email}</span>}
          <span className="hint">
            {' '}
            · joined <RelativeTime at={member.joinedAt} />
          </span>
        </span>
        {editable ? (
          <span className="member-controls">
            <label htmlFor={`${id}-role`} className="visually-hidden">
              Role of {nameOf(member)}
            </label>
            <select
              id={`${id}-role`}
              value={member.role}
              disabled={change.isPending}
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? `${id}-error` : undefined}
              onChange={(event) => onRole(event.target.value as Role)}
            >
              {ROLE_NAMES.map((role) => (
                <option key={role} value={role} disabled={role === 'owner' && myRole !== 'owner'}>
                  {role}
                </option>
              ))}
            </select>
            <button type="button" className="danger small" disabled={remove.isPending} onClick={() => void onRemove()}>
              {isMe ? 'Leave' : 'Remove'}
            </button>
          </span>
        ) : (
          <span className="badge">{member.role}</span>
        )}
      </div>
      {problem && (
        <p id={`${id}-error`} className="field-error" role="alert">
          {problem.detail} <code>{problem.code}</code>
        </p>
      )}
    </li>
  );
}

function AddMemberForm({ myRole }: { myRole: Role }) {
  const add = useAddMember();
  const toast = useToast();
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const id = useId();
  const errors = problem?.fieldErrors ?? {};
  const rest = problem ? otherFieldErrors(problem, ['email', 'role']) : [];

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const email = String(data.get('email') ?? '').trim();
    const role = String(data.get('role') ?? 'member') as Role;
    setProblem(null);
    try {
      const member = await add.mutateAsync({ body: { email, role } });
      form.reset();
      toast({ kind: 'success', text: `${nameOf(member)} added as ${member.role}.` });
    } catch (error) {
      setProblem(toProblem(error));
    }
  }

  return (
    <form className="add-member" onSubmit={onSubmit} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Add a member</h3>
      <p className="hint">They need a Switchboard account first: ask them to sign up with their own email.</p>
      <div className="fields">
        <div>
          <label htmlFor={`${id}-email`}>Email</label>
          <input {...errorProps(`${id}-email`, errors.email)} name="email" type="email" autoComplete="off" maxLength={254} required />
          <FieldError id={`${id}-email-error`} message={errors.email} />
        </div>
        <div>
          <label htmlFor={`${id}-role`}>Role</label>
          <select {...errorProps(`${id}-role`, errors.role)} name="role" defaultValue="member">
            {ROLE_NAMES.map((role) => (
              <option key={role} value={role} disabled={role === 'owner' && myRole !== 'owner'}>
                {role}: {ROLES[role]}
              </option>
            ))}
          </select>
          <FieldError id={`${id}-role-error`} message={errors.role} />
        </div>
        <button type="submit" disabled={add.isPending}>
          Add member
        </button>
      </div>
      {problem && Object.keys(errors).length === 0 && <FormError problem={problem} />}
      {rest.length > 0 && (
        <p className="form-error" role="alert">
          {rest.join('; ')}
        </p>
      )}
    </form>
  );
}

export function MembersPanel({ me, myRole, canManage }: { me: string; myRole: Role; canManage: boolean }) {
  const members = useMembers();
  if (members.isPending) return <Skeleton lines={2} label="Loading members…" />;
  if (members.isError) return <FormError problem={toProblem(members.error)} />;
  return (
    <div className="stack">
      <ul className="plain-list members">
        {members.data.items.map((member) => (
          <MemberRow key={member.user.id} member={member} me={me} myRole={myRole} canManage={canManage} />
        ))}
      </ul>
      {canManage ? <AddMemberForm myRole={myRole} /> : <p className="hint">Only admins can add members or change roles.</p>}
    </div>
  );
}
