// The message the API's OAuth callback page posts to `window.opener`. Pure and DOM-free so that
// it can be tested without a browser (tests/oauth-message.test.mjs).
import type { components } from '../../../api/schema';

/** The schema of the message (`OAuthPopupMessage` in openapi/openapi.json). */
export type OAuthMessage = components['schemas']['OAuthPopupMessage'];

/**
 * Return the OAuth outcome carried by a `message` event, or null when the event must be ignored:
 * it did not come from the API's public origin (`new URL(publicUrl).origin`, with publicUrl from
 * GET /api/config), or it is not a well-formed `switchboard:oauth` message.
 */
export function readOAuthMessage(
  event: { origin: string; data: unknown },
  publicUrl: string,
): OAuthMessage | null {
  let expectedOrigin: string;
  try {
    expectedOrigin = new URL(publicUrl).origin;
  } catch {
    return null;
  }
  if (expectedOrigin === 'null' || event.origin !== expectedOrigin) {
    return null;
  }
  const data = event.data;
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const fields = data as Record<string, unknown>;
  if (fields.type !== 'switchboard:oauth') {
    return null;
  }
  if (fields.status !== 'success' && fields.status !== 'error') {
    return null;
  }
  if (typeof fields.provider !== 'string' || fields.provider === '') {
    return null;
  }
  const message: OAuthMessage = {
    type: 'switchboard:oauth',
    provider: fields.provider,
    status: fields.status,
  };
  if (typeof fields.code === 'string') {
    message.code = fields.code;
  }
  if (typeof fields.message === 'string') {
    message.message = fields.message;
  }
  return message;
}
