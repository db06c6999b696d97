// Sandbox mode only (the API answers 404 otherwise): the simulated Discord server's members, and
// acting as the lead or as GitHub through the simulators, so replies and webhooks arrive by the
// real paths (gateway, webhook) and show up live like real ones.
import { useQueryClient } from '@tanstack/react-query';
import type { Schema } from '../../../api/client';
import { $api } from '../../../api/query';

export type SandboxMember = Schema<'SandboxMember'>;

const membersKey = $api.queryOptions('get', '/api/sandbox/discord/members').queryKey;

export const useSandboxMembers = () =>
  $api.useQuery('get', '/api/sandbox/discord/members', undefined, { retry: false });

export function useAddSandboxMember() {
  const queryClient = useQueryClient();
  const add = $api.useMutation('post', '/api/sandbox/discord/members', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: membersKey }),
  });
  return {
    ...add,
    mutateAsync: (body: Schema<'NewSandboxMember'>) => add.mutateAsync({ body }),
  };
}

export const useReplyAsLead = () => $api.useMutation('post', '/api/sandbox/leads/{leadId}/reply');

export const useCloseOnGitHub = () => $api.useMutation('post', '/api/sandbox/links/{linkId}/close');
