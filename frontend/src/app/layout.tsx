// The signed-in frame: top bar (company, user, log out), navigation, banners, the live indicator.
import type { ReactNode } from 'react';
import { Navigate, NavLink, Outlet, useLocation, useMatch, useNavigate } from 'react-router';
import { useAppConfig } from '../api/config';
import type { StreamState } from '../api/live';
import { Skeleton } from '../components/skeleton';
import { isAdmin, useLogout, useMe } from '../features/auth/api/session';
import { isUnauthorized, toProblem } from '../lib/problem';
import { useLiveEvents } from './live';

/** Children only with a session; otherwise to /login, remembering where we were. */
export function RequireSession({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) {
    return (
      <main className="boot">
        <Skeleton lines={4} label="Loading Switchboard…" />
      </main>
    );
  }
  if (me.isError && !isUnauthorized(me.error)) {
    const problem = toProblem(me.error);
    return (
      <main className="boot">
        <p className="form-error" role="alert">
          {problem.detail} <code>{problem.code}</code>
        </p>
        <button type="button" onClick={() => void me.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  if (!me.data?.user) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

const LIVE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

function LiveIndicator({ state }: { state: StreamState }) {
  return (
    <span
      className="live-indicator"
      data-state={state}
      title={state === 'live' ? 'New messages appear as they arrive' : 'Live updates are paused; nothing is lost'}
    >
      <span className="dot" aria-hidden="true" /> <span className="live-text">{LIVE_TEXT[state]}</span>
    </span>
  );
}

/** The OAuth popup comes back to the public URL's origin; warn when the app is open elsewhere. */
function OriginBanner({ publicUrl }: { publicUrl: string }) {
  let expected: string;
  try {
    expected = new URL(publicUrl).origin;
  } catch {
    return null;
  }
  if (expected === window.location.origin) return null;
  return (
    <p className="banner warning" role="alert">
      Open Switchboard at <a href={publicUrl}>{publicUrl}</a> — sign-in popups return there.
    </p>
  );
}

/** The banners every page shows: sandbox mode, and the wrong origin. */
export function ServerBanners() {
  const config = useAppConfig();
  if (!config.data) return null;
  return (
    <>
      {config.data.sandbox && (
        <p className="banner sandbox">Sandbox mode: Discord and GitHub are simulated on this server.</p>
      )}
      <OriginBanner publicUrl={config.data.publicUrl} />
    </>
  );
}

/** The sign-up and log-in pages, under the same banners. */
export function PublicLayout() {
  return (
    <>
      <ServerBanners />
      <Outlet />
    </>
  );
}

export function AppLayout() {
  const me = useMe();
  const logout = useLogout();
  const navigate = useNavigate();
  const openLead = useMatch('/leads/:leadId')?.params.leadId;
  const live = useLiveEvents(Boolean(me.data?.user), openLead);
  const data = me.data;
  if (!data?.user) return null;

  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand">
          Switchboard
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Inbox
          </NavLink>
          <NavLink to="/settings">Settings</NavLink>
          {isAdmin(data) && <NavLink to="/operations">Operations</NavLink>}
        </nav>
        <LiveIndicator state={live} />
        <div className="account">
          <span className="company" title="Company">
            {data.company.name}
          </span>
          <span className="user" title={`Role: ${data.role}`}>
            {data.user.email} <span className="role">{data.role}</span>
          </span>
          <button
            type="button"
            className="secondary small"
            disabled={logout.isPending}
            onClick={() =>
              logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) })
            }
          >
            Log out
          </button>
        </div>
      </header>
      <ServerBanners />
      <Outlet />
    </div>
  );
}
