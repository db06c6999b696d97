// What went wrong with an API call, in one shape for the UI: openapi-fetch hands back the
// problem+json body (or the text of any other body) as `error`, and `fetch` itself throws when
// the API cannot be reached. Field errors are keyed by the problem's `errors[].field`.
import type { Schema } from '../api/client';

export interface ProblemInfo {
  /** The problem's stable code (`validation_failed`, `lead_not_found`, …), `network_error` or `http_<status>`. */
  code: string;
  /** For people. */
  detail: string;
  /** The HTTP status; 0 when the API could not be reached. */
  status: number;
  /** `field` → message, from the problem's `errors`. */
  fieldErrors: Record<string, string>;
}

type Problem = Schema<'Problem'>;

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return typeof fields.code === 'string' && typeof fields.status === 'number';
}

/** Turn whatever a failed call produced into a ProblemInfo. */
export function toProblem(error: unknown): ProblemInfo {
  if (isProblem(error)) {
    const fieldErrors: Record<string, string> = {};
    for (const item of error.errors ?? []) {
      // The first message for a field is the one shown; the rest stay in `detail`.
      fieldErrors[item.field] ??= item.message;
    }
    return {
      code: error.code,
      detail: error.detail || error.title || error.code,
      status: error.status,
      fieldErrors,
    };
  }
  if (error instanceof TypeError) {
    return {
      code: 'network_error',
      detail: 'Cannot reach the Switchboard API. Check your connection and try again.',
      status: 0,
      fieldErrors: {},
    };
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return { code: 'aborted', detail: 'The request was cancelled.', status: 0, fieldErrors: {} };
  }
  const text = typeof error === 'string' ? error.trim() : error instanceof Error ? error.message : '';
  return {
    code: 'unexpected_error',
    detail: text ? text.slice(0, 300) : 'Something went wrong. Try again.',
    status: 0,
    fieldErrors: {},
  };
}

/** Field errors that belong to none of `shown`, to be listed next to the form as a whole. */
export function otherFieldErrors(problem: ProblemInfo, shown: readonly string[]): string[] {
  return Object.entries(problem.fieldErrors)
    .filter(([field]) => !shown.includes(field))
    .map(([field, message]) => `${field}: ${message}`);
}

/** True for a 401 (no session, or it expired). */
export const isUnauthorized = (error: unknown): boolean => toProblem(error).status === 401;
