// Runs one "connect a provider" OAuth flow in a popup window.
//
// The API's callback page posts the outcome to this window (see ./message.ts). A popup blocker,
// a provider page that severs `window.opener`, or a closed popup can lose that message, so the
// integration list is also polled every 2 s while the popup is open, once more after it closed,
// and for at most 10 minutes (the lifetime of the OAuth state).
import { readOAuthMessage } from './oauth-message';

export const POPUP_NAME = 'switchboard-oauth';
export const POPUP_FEATURES = 'popup,width=520,height=720';
export const POLL_INTERVAL_MS = 2_000;
export const FLOW_TIMEOUT_MS = 10 * 60_000;

export type FlowResult =
  | { kind: 'success'; via: 'message' | 'poll' }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'blocked' }
  | { kind: 'closed' }
  | { kind: 'timeout' }
  | { kind: 'cancelled' };

export interface FlowOptions {
  provider: string;
  /** The API's public URL (`AppConfig.publicUrl`); messages are accepted only from its origin. */
  publicUrl: string;
  /** Ask the API for the provider's consent URL (POST …/authorize). Throws on failure. */
  authorize: () => Promise<string>;
  /** Refresh the integration list; resolve true once the provider shows as newly connected. */
  poll: () => Promise<boolean>;
}

let cancelCurrent: (() => void) | null = null;

/**
 * Open the popup and resolve with the outcome. Must be called from a click handler: the popup is
 * opened before anything is awaited, so that the browser still sees the user's gesture.
 */
export function runOAuthPopup(options: FlowOptions): Promise<FlowResult> {
  cancelCurrent?.();

  const popup = window.open('', POPUP_NAME, POPUP_FEATURES);
  if (!popup) {
    return Promise.resolve({ kind: 'blocked' });
  }
  try {
    popup.document.title = 'Switchboard';
    popup.document.body.textContent = 'Opening the sign-in page…';
  } catch {
    // The named window already shows another origin's page; it is navigated below anyway.
  }

  return new Promise<FlowResult>((resolve) => {
    let done = false;
    let polling = false;
    let timer: number | undefined;
    const deadline = Date.now() + FLOW_TIMEOUT_MS;

    const finish = (result: FlowResult, closePopup: boolean) => {
      if (done) return;
      done = true;
      window.removeEventListener('message', onMessage);
      window.clearInterval(timer);
      if (cancelCurrent === cancel) cancelCurrent = null;
      if (closePopup && !popup.closed) popup.close();
      resolve(result);
    };

    const cancel = () => finish({ kind: 'cancelled' }, false);
    cancelCurrent = cancel;

    function onMessage(event: MessageEvent) {
      const message = readOAuthMessage(event, options.publicUrl);
      if (!message || message.provider !== options.provider || event.source !== popup) {
        return;
      }
      if (message.status === 'success') {
        finish({ kind: 'success', via: 'message' }, false);
      } else {
        finish(
          {
            kind: 'error',
            code: message.code ?? 'unknown_error',
            message: message.message ?? 'The provider did not connect.',
          },
          false,
        );
      }
    }
    window.addEventListener('message', onMessage);

    const tick = async () => {
      if (done || polling) return;
      polling = true;
      try {
        const closed = popup.closed;
        let connected = false;
        try {
          connected = await options.poll();
        } catch {
          // A failed poll is retried on the next tick; the message may still arrive.
        }
        if (done) return;
        if (connected) {
          finish({ kind: 'success', via: 'poll' }, true);
        } else if (closed) {
          // That was the last poll; a message posted just before closing has been handled by now.
          finish({ kind: 'closed' }, false);
        } else if (Date.now() >= deadline) {
          finish({ kind: 'timeout' }, true);
        }
      } finally {
        polling = false;
      }
    };

    options.authorize().then(
      (authorizeUrl) => {
        if (done) return;
        if (popup.closed) {
          finish({ kind: 'closed' }, false);
          return;
        }
        popup.location.href = authorizeUrl;
        timer = window.setInterval(() => void tick(), POLL_INTERVAL_MS);
      },
      (error: unknown) => {
        const code = (error as { code?: unknown })?.code;
        finish(
          {
            kind: 'error',
            code: typeof code === 'string' ? code : 'unknown_error',
            message: error instanceof Error ? error.message : String(error),
          },
          true,
        );
      },
    );
  });
}
