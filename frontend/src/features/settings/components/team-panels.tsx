// The company's API keys (for the CRM's server to call the API); members are in members-panel.tsx.
import { useId, useState, type FormEvent } from 'react';
import type { Schema } from '../../../api/client';
import { useConfirm } from '../../../components/confirm-dialog';
import { EmptyState } from '../../../components/empty-state';
import { FieldError, FormError, errorProps } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { toProblem, type ProblemInfo } from '../../../lib/problem';
import { useApiKeys, useCreateApiKey, useRevokeApiKey } from '../api/team';

type CreatedKey = Schema<'CreatedApiKey'>;

export function ApiKeysPanel({ canManage }: { canManage: boolean }) {
  const keys = useApiKeys(canManage);
  const create = useCreateApiKey();
  const revoke = useRevokeApiKey();
  const confirm = useConfirm();
  const toast = useToast();
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const id = useId();

  if (!canManage) return <p className="hint">Only admins can manage API keys.</p>;

  async function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = String(new FormData(form).get('name') ?? '').trim();
    setProblem(null);
    try {
      setCreated(await create.mutateAsync({ body: { name } }));
      form.reset();
    } catch (error) {
      setProblem(toProblem(error));
    }
  }

  return (
    <div className="stack">
      {keys.isPending && <Skeleton lines={2} label="Loading API keys…" />}
      {keys.isError && <FormError problem={toProblem(keys.error)} />}
      {keys.data &&
        (keys.data.items.length === 0 ? (
          <EmptyState title="No API keys yet">Create one for your CRM's server to call the API.</EmptyState>
        ) : (
          <ul className="plain-list">
            {keys.data.items.map((key) => (
              <li key={key.id} className="row">
                <span>
                  <b>{key.name}</b> <code>{key.prefix}…</code> <span className="badge">{key.role}</span>{' '}
                  <span className="hint">
                    {key.revokedAt ? 'revoked' : key.lastUsedAt ? <>used <RelativeTime at={key.lastUsedAt} /></> : 'never used'}
                  </span>
                </span>
                {!key.revokedAt && (
                  <button
                    type="button"
                    className="danger small"
                    onClick={async () => {
                      const ok = await confirm({
                        title: `Revoke ${key.name}?`,
                        body: <p>Calls made with this key fail from now on.</p>,
                        confirmLabel: 'Revoke',
                        danger: true,
                      });
                      if (!ok) return;
                      revoke.mutate(
                        { params: { path: { keyId: key.id } } },
                        {
                          onError: (error) => toast({ kind: 'error', text: toProblem(error).detail, code: toProblem(error).code }),
                        },
                      );
                    }}
                  >
                    Revoke
                  </button>
                )}
              </li>
            ))}
          </ul>
        ))}
      {created && (
        <div className="callout" role="alert">
          <p>
            The key <b>{created.name}</b>: copy it now, it is not shown again.
          </p>
          <code className="secret">{created.secret}</code>
          <button type="button" className="secondary small" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <form className="inline-form" onSubmit={onCreate} noValidate>
        <label htmlFor={`${id}-name`}>New key name</label>
        <input {...errorProps(`${id}-name`, problem?.fieldErrors.name)} name="name" maxLength={100} required />
        <button type="submit" disabled={create.isPending}>
          Create key
        </button>
        <FieldError id={`${id}-name-error`} message={problem?.fieldErrors.name} />
        {problem && !problem.fieldErrors.name && <FormError problem={problem} />}
      </form>
    </div>
  );
}
