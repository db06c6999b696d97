// Create or edit a webhook endpoint: URL, description, which event types (all by default) and,
// when editing, whether it is enabled. Field errors (`url`, `description`, `eventTypes[i]`) are
// shown under their field.
import { useId, useState, type FormEvent } from 'react';
import { FieldError, FormError, errorProps } from '../../../components/field-error';
import { otherFieldErrors, type ProblemInfo } from '../../../lib/problem';
import { EVENT_TYPE_LABELS, EVENT_TYPES, type Endpoint, type EventType } from '../api/endpoints';

export interface EndpointFields {
  url: string;
  description: string;
  /** `null` for every event type. */
  eventTypes: EventType[] | null;
  enabled: boolean;
}

const SHOWN = ['url', 'description', 'eventTypes', 'enabled'];

/** The message of `eventTypes` or of any `eventTypes[i]` (naming the type `sent[i]`). */
function eventTypesError(problem: ProblemInfo | null, sent: readonly string[]): string | undefined {
  if (!problem) return undefined;
  const entry = Object.entries(problem.fieldErrors).find(([field]) => field === 'eventTypes' || field.startsWith('eventTypes['));
  if (!entry) return undefined;
  const index = /^eventTypes\[(\d+)\]/.exec(entry[0])?.[1];
  const type = index === undefined ? undefined : sent[Number(index)];
  return type ? `${type}: ${entry[1]}` : entry[1];
}

export function EndpointForm({
  endpoint,
  submitLabel,
  pending,
  problem,
  onSubmit,
  onCancel,
}: {
  endpoint?: Endpoint;
  submitLabel: string;
  pending: boolean;
  problem: ProblemInfo | null;
  onSubmit: (fields: EndpointFields) => void;
  onCancel?: () => void;
}) {
  const id = useId();
  const [all, setAll] = useState(!endpoint?.eventTypes);
  const [chosen, setChosen] = useState<Set<string>>(new Set(endpoint?.eventTypes ?? []));
  const [noneChosen, setNoneChosen] = useState(false);
  const errors = problem?.fieldErrors ?? {};
  const sentTypes = EVENT_TYPES.filter((type) => chosen.has(type));
  const typesError = noneChosen
    ? 'Choose at least one event type, or send all events.'
    : eventTypesError(problem, all ? [] : sentTypes);
  const shown = SHOWN.concat(Object.keys(errors).filter((field) => field.startsWith('eventTypes[')));
  const rest = problem ? otherFieldErrors(problem, shown) : [];

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setNoneChosen(!all && chosen.size === 0);
    if (!all && chosen.size === 0) return;
    onSubmit({
      url: String(form.get('url') ?? '').trim(),
      description: String(form.get('description') ?? '').trim(),
      eventTypes: all ? null : sentTypes,
      enabled: endpoint ? form.get('enabled') === 'on' : true,
    });
  }

  return (
    <form className="endpoint-form" onSubmit={submit} noValidate>
      <label htmlFor={`${id}-url`}>Endpoint URL</label>
      <input
        {...errorProps(`${id}-url`, errors.url)}
        name="url"
        type="url"
        inputMode="url"
        required
        maxLength={2000}
        placeholder="https://crm.example.com/hooks/switchboard"
        defaultValue={endpoint?.url}
      />
      <FieldError id={`${id}-url-error`} message={errors.url} />

      <label htmlFor={`${id}-description`}>Description (optional)</label>
      <input
        {...errorProps(`${id}-description`, errors.description)}
        name="description"
        maxLength={500}
        defaultValue={endpoint?.description}
      />
      <FieldError id={`${id}-description-error`} message={errors.description} />

      <fieldset className="event-types" aria-describedby={typesError ? `${id}-types-error` : undefined}>
        <legend>Events to send</legend>
        <label className="check">
          <input type="radio" name="scope" checked={all} onChange={() => { setAll(true); setNoneChosen(false); }} /> All events, including types added
          later
        </label>
        <label className="check">
          <input type="radio" name="scope" checked={!all} onChange={() => setAll(false)} /> Only these:
        </label>
        <div className="choices">
          {EVENT_TYPES.map((type) => (
            <label key={type} className="check">
              <input
                type="checkbox"
                name="eventTypes"
                value={type}
                disabled={all}
                checked={all || chosen.has(type)}
                onChange={(event) => {
                  const next = new Set(chosen);
                  if (event.target.checked) next.add(type);
                  else next.delete(type);
                  setChosen(next);
                  setNoneChosen(false);
                }}
              />{' '}
              <code>{type}</code> <span className="hint">{EVENT_TYPE_LABELS[type]}</span>
            </label>
          ))}
        </div>
        <FieldError id={`${id}-types-error`} message={typesError} />
      </fieldset>

      {endpoint && (
        <label className="check">
          <input type="checkbox" name="enabled" defaultChecked={endpoint.enabled} /> Enabled
          {!endpoint.enabled && <span className="hint"> (turning it on makes it healthy again)</span>}
        </label>
      )}
      <FieldError id={`${id}-enabled-error`} message={errors.enabled} />

      {problem && Object.keys(errors).length === 0 && <FormError problem={problem} />}
      {rest.length > 0 && (
        <p className="form-error" role="alert">
          {rest.join('; ')}
        </p>
      )}
      <div className="actions">
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" disabled={pending}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
