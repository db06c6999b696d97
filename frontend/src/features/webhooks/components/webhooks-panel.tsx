// Settings → Webhooks: the endpoints the company's events are posted to, their health, their
// secrets (shown once), tests, and each one's delivery log. Members see them read-only.
import { useEffect, useState } from 'react';
import type { Schema } from '../../../api/client';
import { useConfirm } from '../../../components/confirm-dialog';
import { SecretOnce } from '../../../components/copy-button';
import { EmptyState } from '../../../components/empty-state';
import { FormError } from '../../../components/field-error';
import { Skeleton } from '../../../components/skeleton';
import { RelativeTime } from '../../../components/time';
import { useToast } from '../../../components/toast';
import { toProblem, type ProblemInfo } from '../../../lib/problem';
import {
  useCreateEndpoint,
  useDeleteEndpoint,
  useEndpoints,
  useRotateEndpointSecret,
  useSendTest,
  useUpdateEndpoint,
  type Endpoint,
} from '../api/endpoints';
import { Deliveries } from './deliveries';
import { EndpointForm, type EndpointFields } from './endpoint-form';

type EndpointWithSecret = Schema<'EndpointWithSecret'>;

/** How long the delivery log is re-read after a test or resend. */
const WATCH_MS = 30_000;

const HEALTH_STATUS: Record<Endpoint['health'], string> = {
  healthy: 'active',
  degraded: 'pending',
  disabled: 'error',
};

const HEALTH_TEXT: Record<Endpoint['health'], string> = {
  healthy: 'No failing deliveries.',
  degraded: 'Recent deliveries failed; they are being retried.',
  disabled: 'Nothing is sent to it.',
};

function EndpointFacts({ endpoint }: { endpoint: Endpoint }) {
  return (
    <ul className="facts">
      <li>
        {HEALTH_TEXT[endpoint.health]}
        {endpoint.disabledReason && <> Disabled: {endpoint.disabledReason}</>}
      </li>
      <li>
        Events:{' '}
        {endpoint.eventTypes ? (
          endpoint.eventTypes.map((type, index) => (
            <span key={type}>
              {index > 0 && ', '}
              <code>{type}</code>
            </span>
          ))
        ) : (
          <>all</>
        )}
      </li>
      <li>
        Last success: {endpoint.lastSuccessAt ? <RelativeTime at={endpoint.lastSuccessAt} /> : 'never'}
        {endpoint.failingSince && (
          <>
            {' '}
            · failing since <RelativeTime at={endpoint.failingSince} />
          </>
        )}
      </li>
      {endpoint.previousSecretExpiresAt && (
        <li>
          The previous secret also signs messages until <RelativeTime at={endpoint.previousSecretExpiresAt} />.
        </li>
      )}
    </ul>
  );
}

function EndpointCard({
  endpoint,
  canManage,
  onSecret,
}: {
  endpoint: Endpoint;
  canManage: boolean;
  onSecret: (created: EndpointWithSecret, title: string) => void;
}) {
  const update = useUpdateEndpoint();
  const remove = useDeleteEndpoint();
  const rotate = useRotateEndpointSecret();
  const sendTest = useSendTest();
  const confirm = useConfirm();
  const toast = useToast();
  const [editing, setEditing] = useState(false);
  const [editProblem, setEditProblem] = useState<ProblemInfo | null>(null);
  const [actionProblem, setActionProblem] = useState<ProblemInfo | null>(null);
  const [showLog, setShowLog] = useState(false);
  const [watchUntil, setWatchUntil] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const titleId = `endpoint-${endpoint.id}`;
  const watching = now < watchUntil;

  // Stop re-reading the delivery log once the watch is over.
  useEffect(() => {
    if (!watchUntil) return;
    const timer = window.setTimeout(() => setNow(Date.now()), Math.max(0, watchUntil - Date.now()) + 10);
    return () => window.clearTimeout(timer);
  }, [watchUntil]);

  const watch = () => {
    setShowLog(true);
    setNow(Date.now());
    setWatchUntil(Date.now() + WATCH_MS);
  };

  function save(fields: EndpointFields) {
    setEditProblem(null);
    update.mutate(
      {
        params: { path: { endpointId: endpoint.id } },
        body: { url: fields.url, description: fields.description, eventTypes: fields.eventTypes, enabled: fields.enabled },
      },
      {
        onSuccess: () => {
          setEditing(false);
          toast({ kind: 'success', text: 'Endpoint saved.' });
        },
        onError: (error) => setEditProblem(toProblem(error)),
      },
    );
  }

  async function onDelete() {
    const ok = await confirm({
      title: 'Delete this endpoint?',
      body: (
        <p>
          Nothing more is sent to <b>{endpoint.url}</b>, and its delivery log is deleted with it. Messages waiting to be
          retried are dropped.
        </p>
      ),
      confirmLabel: 'Delete endpoint',
      danger: true,
    });
    if (!ok) return;
    setActionProblem(null);
    remove.mutate(
      { params: { path: { endpointId: endpoint.id } } },
      {
        onSuccess: () => toast({ kind: 'success', text: `Endpoint ${endpoint.url} deleted.` }),
        onError: (error) => setActionProblem(toProblem(error)),
      },
    );
  }

  async function onRotate() {
    const ok = await confirm({
      title: 'Rotate the signing secret?',
      body: (
        <p>
          A new secret is made and shown once. For 24 hours every message carries two signatures, one per secret, so your
          receiver can switch over without missing anything.
        </p>
      ),
      confirmLabel: 'Rotate secret',
    });
    if (!ok) return;
    setActionProblem(null);
    rotate.mutate(endpoint.id, {
      onSuccess: (rotated) => onSecret(rotated, `The new signing secret for ${rotated.url}.`),
      onError: (error) => setActionProblem(toProblem(error)),
    });
  }

  function onTest() {
    setActionProblem(null);
    sendTest.mutate(
      { params: { path: { endpointId: endpoint.id } } },
      {
        onSuccess: () => {
          toast({ text: `Test message queued for ${endpoint.url}. Its delivery appears in the log.` });
          watch();
        },
        onError: (error) => setActionProblem(toProblem(error)),
      },
    );
  }

  return (
    <li className="endpoint" aria-labelledby={titleId} data-health={endpoint.health}>
      <div className="head">
        <h3 id={titleId} className="url">
          {endpoint.url}
        </h3>
        <span className="badge" data-status={HEALTH_STATUS[endpoint.health]} data-field="health">
          {endpoint.health}
        </span>
        {!endpoint.enabled && <span className="badge">disabled</span>}
      </div>
      {endpoint.description && <p className="detail">{endpoint.description}</p>}
      <EndpointFacts endpoint={endpoint} />

      {editing ? (
        <EndpointForm
          endpoint={endpoint}
          submitLabel="Save endpoint"
          pending={update.isPending}
          problem={editProblem}
          onSubmit={save}
          onCancel={() => {
            setEditing(false);
            setEditProblem(null);
          }}
        />
      ) : (
        <div className="buttons">
          {canManage && (
            <>
              <button type="button" className="small" disabled={sendTest.isPending || !endpoint.enabled} onClick={onTest}>
                Send test
              </button>
              <button type="button" className="secondary small" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button type="button" className="secondary small" disabled={rotate.isPending} onClick={() => void onRotate()}>
                Rotate secret
              </button>
              <button type="button" className="danger small" disabled={remove.isPending} onClick={() => void onDelete()}>
                Delete
              </button>
            </>
          )}
          <button
            type="button"
            className="secondary small"
            aria-expanded={showLog}
            aria-controls={`${titleId}-log`}
            onClick={() => setShowLog(!showLog)}
          >
            {showLog ? 'Hide deliveries' : 'Show deliveries'}
          </button>
        </div>
      )}
      {canManage && !endpoint.enabled && !editing && <p className="hint">Enable it (Edit) to send a test.</p>}
      <FormError problem={actionProblem} />
      {showLog && (
        <div id={`${titleId}-log`} className="deliveries">
          <h4>Deliveries</h4>
          <Deliveries endpoint={endpoint} canManage={canManage} watching={watching} />
        </div>
      )}
    </li>
  );
}

export function WebhooksPanel({ canManage }: { canManage: boolean }) {
  const endpoints = useEndpoints();
  const create = useCreateEndpoint();
  const toast = useToast();
  const [adding, setAdding] = useState(false);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [secret, setSecret] = useState<{ title: string; endpoint: EndpointWithSecret } | null>(null);

  function add(fields: EndpointFields) {
    setProblem(null);
    create.mutate(
      { body: { url: fields.url, description: fields.description || null, eventTypes: fields.eventTypes } },
      {
        onSuccess: (created) => {
          setAdding(false);
          setSecret({ title: `The signing secret for ${created.url}.`, endpoint: created });
          toast({ kind: 'success', text: 'Endpoint added.' });
        },
        onError: (error) => setProblem(toProblem(error)),
      },
    );
  }

  if (endpoints.isPending) return <Skeleton lines={3} label="Loading webhook endpoints…" />;
  if (endpoints.isError) return <FormError problem={toProblem(endpoints.error)} />;
  const items = endpoints.data.items;
  const showForm = canManage && (adding || items.length === 0);

  return (
    <div className="stack">
      <p className="hint">
        Switchboard posts each event of your company to these URLs as JSON, signed with Standard Webhooks headers
        (<code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>). Failed deliveries are
        retried for up to five days.
      </p>
      {secret && (
        <SecretOnce title={secret.title} secret={secret.endpoint.secret} onDone={() => setSecret(null)}>
          <p className="hint">Verify each message's webhook-signature with it.</p>
        </SecretOnce>
      )}
      {items.length === 0 ? (
        <EmptyState title="No webhook endpoints yet">
          {canManage
            ? 'Add your CRM’s URL below to be told about new messages, lead changes and closed GitHub issues.'
            : 'An admin can add one to send events to your CRM.'}
        </EmptyState>
      ) : (
        <ul className="endpoints">
          {items.map((endpoint) => (
            <EndpointCard
              key={endpoint.id}
              endpoint={endpoint}
              canManage={canManage}
              onSecret={(rotated, title) => setSecret({ title, endpoint: rotated })}
            />
          ))}
        </ul>
      )}
      {!canManage && <p className="hint">Only admins can add or change endpoints.</p>}
      {canManage && !showForm && (
        <button type="button" onClick={() => setAdding(true)}>
          Add an endpoint
        </button>
      )}
      {showForm && (
        <section className="subsection" aria-labelledby="add-endpoint-title">
          <h3 id="add-endpoint-title">Add an endpoint</h3>
          <EndpointForm
            submitLabel="Add endpoint"
            pending={create.isPending}
            problem={problem}
            onSubmit={add}
            onCancel={items.length > 0 ? () => setAdding(false) : undefined}
          />
        </section>
      )}
    </div>
  );
}
