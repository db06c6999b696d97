// Every page and every lead has a URL: /login, /signup, / (the inbox), /leads/:leadId,
// /settings, /operations.
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { AuthPage } from '../features/auth/components/auth-page';
import { AppLayout, PublicLayout, RequireSession } from './layout';
import { InboxRoute } from './routes/inbox';
import { OperationsRoute, operationsRoutes } from './routes/operations';
import { SettingsRoute, settingsRoutes } from './routes/settings';

const router = createBrowserRouter([
  {
    element: <PublicLayout />,
    children: [
      { path: '/login', element: <AuthPage mode="login" /> },
      { path: '/signup', element: <AuthPage mode="signup" /> },
    ],
  },
  {
    element: (
      <RequireSession>
        <AppLayout />
      </RequireSession>
    ),
    children: [
      { index: true, element: <InboxRoute /> },
      { path: 'leads/:leadId', element: <InboxRoute /> },
      { path: 'settings', element: <SettingsRoute />, children: settingsRoutes },
      { path: 'operations', element: <OperationsRoute />, children: operationsRoutes },
      { path: '*', element: <Navigate to="/" replace /> },
    ],
  },
]);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
