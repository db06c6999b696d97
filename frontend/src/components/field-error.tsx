// The error for one form field, under it; the input points at it with aria-describedby.
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} className="field-error" role="alert">
      {message}
    </p>
  );
}

/** A form-level error (the problem's `detail` and code), above the submit button. */
export function FormError({ problem }: { problem: { detail: string; code: string } | null | undefined }) {
  if (!problem) return null;
  return (
    <p className="form-error" role="alert">
      {problem.detail} <code>{problem.code}</code>
    </p>
  );
}

/** The props that tie an input to its error: `<input {...fieldProps('email', errors)} />`. */
export function errorProps(
  id: string,
  message: string | undefined,
): { id: string; 'aria-invalid': boolean | undefined; 'aria-describedby': string | undefined } {
  return {
    id,
    'aria-invalid': message ? true : undefined,
    'aria-describedby': message ? `${id}-error` : undefined,
  };
}
