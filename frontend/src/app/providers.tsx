// Everything the pages share: the query cache, toasts, the confirm dialog.
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { keys } from '../api/keys';
import { ConfirmProvider } from '../components/confirm-dialog';
import { ToastProvider } from '../components/toast';
import { isUnauthorized, toProblem } from '../lib/problem';

function makeQueryClient(): QueryClient {
  const queryClient: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      // The session ended while the app was open: ask /api/me again, which sends the app to
      // the log-in page (see RequireSession).
      onError: (error, query) => {
        if (isUnauthorized(error) && query.queryKey[1] !== '/api/me') {
          void queryClient.invalidateQueries({ queryKey: keys.me() });
        }
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        // Retry what might pass next time (network, 5xx); a 4xx answer will not change.
        retry: (count, error) => {
          const { status } = toProblem(error);
          return count < 2 && (status === 0 || status >= 500);
        },
        refetchOnWindowFocus: false,
      },
    },
  });
  return queryClient;
}

export function AppProviders({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <ToastProvider>
        <ConfirmProvider>{children}</ConfirmProvider>
      </ToastProvider>
    </QueryClientProvider>
  );
}
