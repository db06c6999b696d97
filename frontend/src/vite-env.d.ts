/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Base URL of the Switchboard API, e.g. http://127.0.0.1:8080 (no trailing slash needed). */
  readonly VITE_API_BASE?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
