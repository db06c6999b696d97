// TanStack Query hooks over the one API client: `$api.useQuery('get', '/api/leads', …)`. Query
// keys are `[method, path, init]`, so a prefix such as `['get', '/api/leads']` reaches every
// page of every lead list.
import createQueryClient from 'openapi-react-query';
import { api } from './client';

export const $api = createQueryClient(api);
