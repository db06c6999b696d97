// GitHub's webhook once connected: where GitHub delivers and with which secret (to set a hook up
// by hand where Switchboard could not), the hooks Switchboard registered, and "Sync now".
import { useState } from 'react';
import { CopyButton, SecretOnce } from '../../../components/copy-button';
import { useConfirm } from '../../../components/confirm-dialog';
import { FormError } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { plural } from '../../../lib/format';
import { toProblem, type ProblemInfo } from '../../../lib/problem';
import { useGitHubSettings, useGitHubSync, useRotateGitHubSecret } from '../api/github';

function every(seconds: number): string {
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

export function GitHubPanel({ canManage }: { canManage: boolean }) {
  const settings = useGitHubSettings(true);
  const rotate = useRotateGitHubSecret();
  const sync = useGitHubSync();
  const confirm = useConfirm();
  const toast = useToast();
  const [revealed, setRevealed] = useState(false);
  const [newSecret, setNewSecret] = useState<string | null>(null);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);

  if (settings.isPending) return <Skeleton lines={3} label="Loading GitHub settings…" />;
  if (settings.isError) return <FormError problem={toProblem(settings.error)} />;
  const { webhook, hooks, pollIntervalSecs } = settings.data;

  async function onRotate() {
    const ok = await confirm({
      title: 'Rotate the GitHub webhook secret?',
      body: (
        <p>
          Hooks Switchboard registered get the new secret at once. Hooks you set up by hand must be given the new secret,
          or GitHub's deliveries to them are refused until you do (polling still catches up).
        </p>
      ),
      confirmLabel: 'Rotate secret',
    });
    if (!ok) return;
    setProblem(null);
    rotate.mutate(
      {},
      {
        onSuccess: (next) => {
          setRevealed(false);
          setNewSecret(next.webhook.secret ?? null);
        },
        onError: (error) => setProblem(toProblem(error)),
      },
    );
  }

  function onSync() {
    setProblem(null);
    sync.mutate(
      {},
      {
        onSuccess: (run) =>
          toast({
            kind: run.recordsFailed > 0 ? 'error' : 'success',
            text:
              `GitHub synced: ${plural(run.recordsSynced, 'link')} read, ${run.recordsUpdated} changed` +
              (run.recordsFailed > 0 ? `, ${run.recordsFailed} failed (see Operations → Sync logs).` : '.'),
          }),
        onError: (error) => setProblem(toProblem(error)),
      },
    );
  }

  return (
    <section className="subsection github-settings" aria-labelledby="github-webhook-title">
      <h3 id="github-webhook-title">GitHub webhook</h3>
      <p className="hint">
        Switchboard registers this hook on linked repositories by itself. Where it could not (a hook below shows
        <i> failed</i>), a repository admin adds it under <i>Settings → Webhooks</i> with these values, choosing the{' '}
        <b>Issues</b> and <b>Pull requests</b> events. Without deliveries, links are polled every {every(pollIntervalSecs)}.
      </p>
      <dl className="settings-list">
        <dt>Payload URL</dt>
        <dd>
          <code className="wrap" data-field="webhook-url">
            {webhook.url}
          </code>{' '}
          <CopyButton text={webhook.url} label="Copy URL" />
        </dd>
        <dt>Content type</dt>
        <dd>
          <code>{webhook.contentType}</code>
        </dd>
        <dt>Events</dt>
        <dd>{webhook.events.join(', ')}</dd>
        <dt>Secret</dt>
        <dd>
          {webhook.secret ? (
            <>
              <code className="wrap">{revealed ? webhook.secret : '•'.repeat(16)}</code>{' '}
              <button type="button" className="secondary small" onClick={() => setRevealed(!revealed)}>
                {revealed ? 'Hide' : 'Show'}
              </button>{' '}
              <CopyButton text={webhook.secret} label="Copy secret" />
            </>
          ) : (
            <span className="hint">Only admins see the secret.</span>
          )}
        </dd>
        <dt>Last delivery</dt>
        <dd>{webhook.lastDeliveryAt ? <RelativeTime at={webhook.lastDeliveryAt} /> : 'none yet'}</dd>
      </dl>
      {newSecret && (
        <SecretOnce title="The new GitHub webhook secret." secret={newSecret} onDone={() => setNewSecret(null)}>
          <p className="hint">Enter it in every hook you set up by hand.</p>
        </SecretOnce>
      )}
      {hooks.length > 0 && (
        <>
          <h4>Hooks on linked repositories</h4>
          <ul className="plain-list">
            {hooks.map((hook) => (
              <li key={hook.repository} className="row">
                <span>
                  <code>{hook.repository}</code>{' '}
                  <span className="badge" data-status={hook.state === 'active' ? 'active' : 'failed'}>
                    {hook.state}
                  </span>
                  {hook.lastError && <span className="hint"> {hook.lastError}</span>}
                </span>
                <span className="hint">
                  <RelativeTime at={hook.updatedAt} />
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      {canManage && (
        <div className="buttons">
          <button type="button" className="small" disabled={sync.isPending} onClick={onSync}>
            {sync.isPending ? 'Syncing…' : 'Sync now'}
          </button>
          <button type="button" className="secondary small" disabled={rotate.isPending} onClick={() => void onRotate()}>
            Rotate secret
          </button>
        </div>
      )}
      <FormError problem={problem} />
    </section>
  );
}
