// The one API client. Every call the app makes to the Switchboard API goes through `api`, typed
// by src/api/schema.d.ts (generated from openapi/openapi.json by `npm run generate`). The API
// serves the app itself, so requests go to the page's own origin (relative URLs); in development
// Vite proxies the API paths (vite.config.ts).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

/** Shorthand for a schema of the OpenAPI document: `Schema<'LeadView'>`. */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

let bearerToken: string | null = null;

/** Remember (or forget) the bearer token from sign-up/log-in; kept in memory only. */
export function setToken(token: string | null): void {
  bearerToken = token;
}

const bearer: Middleware = {
  onRequest({ request }) {
    if (bearerToken && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${bearerToken}`);
    }
    return request;
  },
};

// `credentials: 'include'` sends the HttpOnly session cookie, which the OAuth flow is bound to.
export const api = createClient<paths>({ baseUrl: '', credentials: 'include' });
api.use(bearer);
