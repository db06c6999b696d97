// Sandbox mode only (the API answers 404 otherwise): the simulated Discord server's members, and
// acting as the lead or as GitHub through the simulators, so replies and webhooks arrive by the
// real paths (gateway, webhook) and show up live like real ones.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schema } from '../../../api/client';
import { $api } from '../../../api/query';

export type SandboxMember = Schema<'SandboxMember'>;

// API GAP: openapi/openapi.json gives GET/POST /api/sandbox/discord/members the operationIds
// `list_members` and `add_member`, which GET/POST /api/companies/current/members already use;
// openapi-typescript keys operations by id, so the generated types of these two paths are the
// company members' ones. Their schemas (SandboxMemberList, SandboxMember, NewSandboxMember) are
// right, so the answers are read as those until the ids are made unique.
const membersKey = ['get', '/api/sandbox/discord/members'] as const;

export function useSandboxMembers() {
  return useQuery({
    queryKey: membersKey,
    retry: false,
    queryFn: async ({ signal }) => {
      const { data, error } = await api.GET('/api/sandbox/discord/members', { signal });
      if (error || !data) throw error;
      return data as unknown as Schema<'SandboxMemberList'>;
    },
  });
}

export function useAddSandboxMember() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schema<'NewSandboxMember'>) => {
      const { data, error } = await api.POST('/api/sandbox/discord/members', { body: body as never });
      if (error || !data) throw error;
      return data as unknown as SandboxMember;
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: membersKey }),
  });
}

export const useReplyAsLead = () => $api.useMutation('post', '/api/sandbox/leads/{leadId}/reply');

export const useCloseOnGitHub = () => $api.useMutation('post', '/api/sandbox/links/{linkId}/close');
