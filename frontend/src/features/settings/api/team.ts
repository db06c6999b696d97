// The company's members and API keys.
import { useQueryClient } from '@tanstack/react-query';
import { $api } from '../../../api/query';

export const useMembers = () => $api.useQuery('get', '/api/companies/current/members');

const membersKey = $api.queryOptions('get', '/api/companies/current/members').queryKey;

export function useAddMember() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/companies/current/members', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: membersKey }),
  });
}

export function useChangeRole() {
  const queryClient = useQueryClient();
  return $api.useMutation('patch', '/api/companies/current/members/{userId}', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: membersKey }),
  });
}

export function useRemoveMember() {
  const queryClient = useQueryClient();
  return $api.useMutation('delete', '/api/companies/current/members/{userId}', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: membersKey }),
  });
}
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
