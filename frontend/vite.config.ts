// The app is served by the API itself (`switchboard serve`, same origin). In development the
// Vite server proxies the API's paths to it: VITE_API_BASE, default http://127.0.0.1:8080.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const target = process.env.VITE_API_BASE || 'http://127.0.0.1:8080';
const proxied = { target, changeOrigin: false, ws: true };

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': proxied,
      '/sandbox': proxied,
      '/openapi.json': proxied,
      '/docs': proxied,
    },
  },
  build: { outDir: 'dist', sourcemap: false },
});
