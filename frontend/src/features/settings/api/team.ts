// The company's members and API keys.
import { useQueryClient } from '@tanstack/react-query';
import { $api } from '../../../api/query';

export const useMembers = () => $api.useQuery('get', '/api/companies/current/members');
export const useApiKeys = (enabled: boolean) => $api.useQuery('get', '/api/api-keys', undefined, { enabled });

const apiKeysKey = $api.queryOptions('get', '/api/api-keys').queryKey;

export function useCreateApiKey() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/api-keys', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeysKey }),
  });
}

export function useRevokeApiKey() {
  const queryClient = useQueryClient();
  return $api.useMutation('delete', '/api/api-keys/{keyId}', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: apiKeysKey }),
  });
}
