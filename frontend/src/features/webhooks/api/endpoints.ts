// The CRM's webhook endpoints: every company event (or the chosen types) posted to a URL, signed
// with the endpoint's `whsec_` secret; each endpoint's delivery log, tests and resends.
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { Schema } from '../../../api/client';
import { cursorPaging } from '../../../api/paged';
import { $api } from '../../../api/query';

export type Endpoint = Schema<'EndpointView'>;
export type Attempt = Schema<'AttemptView'>;
export type EventType = Schema<'EventBody'>['type'];

/**
 * The event types an endpoint can receive (the live events' `type`, schema `EventBody`), with
 * what each means. A `Record` over the schema's union, so a type added to the API and missing
 * here fails the typecheck.
 */
export const EVENT_TYPE_LABELS: Record<EventType, string> = {
  'message.created': 'a message was sent or received',
  'message.updated': "a message's delivery state changed",
  'lead.updated': 'a lead changed',
  'channel.created': "a lead's Discord channel was made",
  'channel.archived': "a lead's channel was archived or deleted",
  'link.updated': 'a linked GitHub issue or pull request closed, merged or reopened',
};
export const EVENT_TYPES = Object.keys(EVENT_TYPE_LABELS) as EventType[];

const endpointsKey = $api.queryOptions('get', '/api/webhook-endpoints').queryKey;
/** Every endpoint's delivery log. */
const deliveriesKey: QueryKey = ['get', '/api/webhook-endpoints/{endpointId}/deliveries'];

export const useEndpoints = () => $api.useQuery('get', '/api/webhook-endpoints');

/** Read the endpoints again (their health and last success change as deliveries are made). */
export function useRefreshEndpoints() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: endpointsKey });
}

export function useCreateEndpoint() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/webhook-endpoints', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

export function useUpdateEndpoint() {
  const queryClient = useQueryClient();
  return $api.useMutation('patch', '/api/webhook-endpoints/{endpointId}', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

export function useDeleteEndpoint() {
  const queryClient = useQueryClient();
  return $api.useMutation('delete', '/api/webhook-endpoints/{endpointId}', {
    onSettled: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

/** Rotate an endpoint's secret; resolves with the endpoint and its new secret. */
export function useRotateEndpointSecret() {
  const queryClient = useQueryClient();
  const rotate = $api.useMutation('post', '/api/webhook-endpoints/{endpointId}/rotate-secret', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
  return {
    ...rotate,
    mutate: (endpointId: string, options?: Parameters<typeof rotate.mutate>[1]) =>
      rotate.mutate({ params: { path: { endpointId } } }, options),
  };
}

/** Queue a `webhook.test` message; its attempt shows up in the delivery log. */
export function useSendTest() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/webhook-endpoints/{endpointId}/test', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: deliveriesKey }),
  });
}

export function useResendDelivery() {
  const queryClient = useQueryClient();
  return $api.useMutation('post', '/api/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/resend', {
    onSuccess: () => queryClient.invalidateQueries({ queryKey: deliveriesKey }),
  });
}

export const DELIVERIES_PAGE = 20;

/**
 * An endpoint's delivery attempts, newest first, page by page. Sending happens in the
 * background, so while `watching` the log is read again every two seconds.
 */
export function useDeliveries(endpointId: string, watching: boolean) {
  return $api.useInfiniteQuery(
    'get',
    '/api/webhook-endpoints/{endpointId}/deliveries',
    { params: { path: { endpointId }, query: { limit: DELIVERIES_PAGE } } },
    { ...cursorPaging, refetchInterval: watching ? 2_000 : false },
  );
}
