// The one API client. Every call the app makes to the Switchboard API goes through `api`, typed
// by src/api/schema.d.ts (generated from openapi/openapi.json by `npm run generate`).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Problem = components['schemas']['Problem'];
export type IntegrationView = components['schemas']['IntegrationView'];
export type ProviderView = components['schemas']['ProviderView'];
export type AuthResponse = components['schemas']['AuthResponse'];
export type MeResponse = components['schemas']['MeResponse'];
export type Role = components['schemas']['Role'];
export type LeadView = components['schemas']['LeadView'];
export type LeadChannelView = components['schemas']['LeadChannelView'];
export type MessageView = components['schemas']['MessageView'];

/** Where the API lives. Set VITE_API_BASE at build time (`npm run dev` / `npm run build`). */
export const apiBase: string = import.meta.env.VITE_API_BASE || 'http://127.0.0.1:8080';

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
export const api = createClient<paths>({ baseUrl: apiBase, credentials: 'include' });
api.use(bearer);

/** A failed API call, carrying the problem's stable `code` and its `detail` for people. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Turn openapi-fetch's `error` (a problem+json body, or text for anything else) into an ApiError. */
export function toApiError(error: unknown, response: Response): ApiError {
  if (typeof error === 'object' && error !== null) {
    const problem = error as Partial<Problem>;
    if (typeof problem.code === 'string') {
      return new ApiError(problem.code, problem.detail ?? problem.title ?? problem.code, response.status);
    }
  }
  return new ApiError(`http_${response.status}`, `The API answered ${response.status} ${response.statusText}`.trim(), response.status);
}

/** Run an API call; a network failure (API down, CORS refused) becomes an ApiError too. */
export async function call<T>(
  request: () => Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request();
  } catch {
    throw new ApiError('network_error', `Cannot reach the Switchboard API at ${apiBase}`, 0);
  }
  if (!result.response.ok) {
    throw toApiError(result.error, result.response);
  }
  return result.data as T;
}
