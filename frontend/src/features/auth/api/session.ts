// The session: who is signed in (GET /api/me), signing up, logging in and out.
import { useQueryClient } from '@tanstack/react-query';
import { setToken, type Schema } from '../../../api/client';
import { $api } from '../../../api/query';

export type Me = Schema<'MeResponse'>;

/** The query key of GET /api/me; resetting it sends the app back to the log-in page. */
export const meQuery = $api.queryOptions('get', '/api/me');

/** Who is signed in. A 401 is an answer here ("nobody"), not an error to retry. */
export function useMe() {
  return $api.useQuery('get', '/api/me', undefined, { retry: false, staleTime: 5 * 60_000 });
}

/** Admins and owners manage integrations and see Operations. */
export const isAdmin = (me: Me | undefined): boolean => me?.role === 'admin' || me?.role === 'owner';

function useEnter() {
  const queryClient = useQueryClient();
  return async (auth: Schema<'AuthResponse'>) => {
    setToken(auth.token);
    queryClient.removeQueries();
    await queryClient.fetchQuery(meQuery);
  };
}

export function useLogin() {
  const enter = useEnter();
  return $api.useMutation('post', '/api/auth/login', { onSuccess: enter });
}

export function useSignup() {
  const enter = useEnter();
  return $api.useMutation('post', '/api/auth/signup', { onSuccess: enter });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/auth/logout', {
    // Forget the session here whatever the API said (it may already have expired).
    onSettled: () => {
      setToken(null);
      queryClient.removeQueries();
      queryClient.setQueryData(meQuery.queryKey, undefined);
    },
  });
}
