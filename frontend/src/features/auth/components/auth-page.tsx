// /login and /signup: one form each, errors next to the field they name.
import { useId, useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { FieldError, FormError, errorProps } from '../../../components/field-error';
import { toProblem, type ProblemInfo } from '../../../lib/problem';
import { useLogin, useMe, useSignup } from '../api/session';

/** Only a path inside the app may be returned to (no `//evil.example`). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const me = useMe();
  const login = useLogin();
  const signup = useSignup();
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const id = useId();
  const pending = login.isPending || signup.isPending;

  if (me.data?.user && !pending) return <Navigate to={next} replace />;

  const errors = { ...problem?.fieldErrors, ...local };
  const fieldId = (name: string) => `${id}-${name}`;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email') ?? '').trim();
    const password = String(form.get('password') ?? '');
    const companyName = String(form.get('companyName') ?? '').trim();
    const missing: Record<string, string> = {};
    if (!email) missing.email = 'Enter your email address.';
    if (!password) missing.password = 'Enter your password.';
    if (mode === 'signup' && !companyName) missing.companyName = 'Enter a company name: signing up creates it.';
    setLocal(missing);
    setProblem(null);
    if (Object.keys(missing).length > 0) return;
    try {
      if (mode === 'signup') {
        await signup.mutateAsync({ body: { email, password, companyName } });
      } else {
        await login.mutateAsync({ body: { email, password } });
      }
      navigate(next, { replace: true });
    } catch (error) {
      setProblem(toProblem(error));
    }
  }

  const shown = ['email', 'password', 'companyName'];
  const formProblem =
    problem && shown.some((field) => problem.fieldErrors[field]) ? null : problem;
  const otherSearch = params.toString() ? `?${params.toString()}` : '';

  return (
    <main className="auth-page">
      <section className="card auth-card" aria-labelledby={`${id}-title`}>
        <p className="brand">Switchboard</p>
        <h1 id={`${id}-title`}>{mode === 'signup' ? 'Create your company' : 'Log in'}</h1>
        <form onSubmit={onSubmit} noValidate>
          <label htmlFor={fieldId('email')}>Email</label>
          <input
            {...errorProps(fieldId('email'), errors.email)}
            name="email"
            type="email"
            autoComplete="username"
            required
          />
          <FieldError id={`${fieldId('email')}-error`} message={errors.email} />

          <label htmlFor={fieldId('password')}>Password</label>
          <input
            {...errorProps(fieldId('password'), errors.password)}
            name="password"
            type="password"
            autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
            minLength={mode === 'signup' ? 8 : undefined}
            required
          />
          {mode === 'signup' && !errors.password && <small className="hint">At least 8 characters.</small>}
          <FieldError id={`${fieldId('password')}-error`} message={errors.password} />

          {mode === 'signup' && (
            <>
              <label htmlFor={fieldId('companyName')}>Company name</label>
              <input
                {...errorProps(fieldId('companyName'), errors.companyName)}
                name="companyName"
                autoComplete="organization"
                required
              />
              <FieldError id={`${fieldId('companyName')}-error`} message={errors.companyName} />
            </>
          )}

          <FormError problem={formProblem} />
          <div className="actions">
            <button type="submit" disabled={pending}>
              {mode === 'signup' ? 'Sign up' : 'Log in'}
            </button>
          </div>
        </form>
        <p className="hint switch-mode">
          {mode === 'signup' ? (
            <>
              Already have an account? <Link to={`/login${otherSearch}`}>Log in</Link>
            </>
          ) : (
            <>
              New here? <Link to={`/signup${otherSearch}`}>Create a company</Link>
            </>
          )}
        </p>
      </section>
    </main>
  );
}
