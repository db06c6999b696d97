import { defineConfig, loadEnv } from 'vite';

// The API's own paths: the dev server passes them on to the API, so the app can also be used
// from http://127.0.0.1:5173 with the same paths it has when the service serves it.
const API_PATHS = ['/api', '/sandbox', '/openapi.json', '/docs'];

export default defineConfig(({ mode }) => {
  const apiBase = loadEnv(mode, process.cwd(), 'VITE_').VITE_API_BASE || 'http://127.0.0.1:8080';
  return {
    server: {
      proxy: Object.fromEntries(API_PATHS.map((path) => [path, { target: apiBase }])),
    },
    // `npm run build:app` (mode `service`) builds the app the service embeds and serves at `/`:
    // it talks to the origin it was loaded from, whatever PUBLIC_URL the service has.
    define:
      mode === 'service' ? { 'import.meta.env.VITE_API_BASE': 'window.location.origin' } : {},
  };
});
