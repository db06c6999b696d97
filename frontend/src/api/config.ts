// What the server says about itself (GET /api/config, public): sandbox mode, and its public URL,
// whose origin the OAuth popup's message comes from.
import type { Schema } from './client';
import { $api } from './query';

export type AppConfig = Schema<'AppConfig'>;

export function useAppConfig() {
  return $api.useQuery('get', '/api/config', undefined, { staleTime: Infinity });
}
