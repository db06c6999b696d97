// Live events: the API's Server-Sent Event streams. openapi-fetch cannot read an endless body, so
// streams are opened with the browser's EventSource, which also reconnects by itself and sends
// `Last-Event-ID` so the API replays what was missed. The paths and the event shape still come
// from the generated schema: a change to either in the API fails the typecheck here.
import type { components, paths } from './schema';

export type LiveEvent = components['schemas']['LiveEvent'];
export type LiveEventType = LiveEvent['type'];

/** The documented stream paths (each must be a GET in the OpenAPI document). */
export type StreamPath = '/api/events' | '/api/leads/{leadId}/events';
type Documented<P extends keyof paths> = paths[P]['get'] extends object ? P : never;
type Streams = Documented<StreamPath>;

/** Every event type the API sends; EventSource needs a listener per named event. */
export const EVENT_TYPES = [
  'message.created',
  'message.updated',
  'lead.updated',
  'channel.created',
  'channel.archived',
  'link.updated',
] as const satisfies readonly LiveEventType[];

/** The absolute URL of a stream, its path parameters filled in and encoded. */
export function streamUrl(apiBase: string, path: Streams, params: { leadId?: string } = {}): string {
  const filled = path.replace('{leadId}', () => encodeURIComponent(params.leadId ?? ''));
  return `${apiBase.replace(/\/+$/, '')}${filled}`;
}

/**
 * Read one SSE event (its `event` name and `data` text) as a LiveEvent, or null when it is not
 * a well-formed one: unknown type, a name that disagrees with the payload, no numeric id.
 */
export function readLiveEvent(name: string, data: string): LiveEvent | null {
  if (!(EVENT_TYPES as readonly string[]).includes(name)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const event = parsed as Record<string, unknown>;
  if (event.type !== name || !Number.isSafeInteger(event.id) || typeof event.at !== 'string') return null;
  if (typeof event.data !== 'object' || event.data === null) return null;
  return parsed as LiveEvent;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LiveStream {
  close(): void;
}

/**
 * Open a stream with the session cookie (`withCredentials`: the API's origin differs from the
 * app's). `onEvent` gets each well-formed event once, in id order; `onState` follows the
 * connection. The browser reconnects after a drop; a refusal (401, 404) closes the stream.
 */
export function openLiveStream(
  url: string,
  onEvent: (event: LiveEvent) => void,
  onState: (state: StreamState) => void,
): LiveStream {
  const source = new EventSource(url, { withCredentials: true });
  let lastId = -1;
  onState('connecting');
  source.addEventListener('open', () => onState('live'));
  source.addEventListener('error', () => {
    onState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  });
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message: MessageEvent<string>) => {
      const event = readLiveEvent(type, message.data);
      // The API never repeats an id; this guards the view against a replay overlap anyway.
      if (!event || event.id <= lastId) return;
      lastId = event.id;
      onEvent(event);
    });
  }
  return {
    close() {
      source.close();
      onState('closed');
    },
  };
}
