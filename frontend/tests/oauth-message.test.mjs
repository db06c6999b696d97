// Unit tests of the postMessage handler (src/features/settings/api/oauth-message.ts), without a
// browser: the module is
// transpiled with the project's TypeScript and imported as a data: URL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import ts from 'typescript';

const source = readFileSync(new URL('../src/features/settings/api/oauth-message.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
});
const { readOAuthMessage } = await import(`data:text/javascript,${encodeURIComponent(outputText)}`);

// AppConfig.publicUrl: the API (which also serves the app) as the browser reaches it.
const API = 'http://127.0.0.1:8080';
const success = { type: 'switchboard:oauth', provider: 'discord', status: 'success' };

test('accepts a success message from the public origin', () => {
  assert.deepEqual(readOAuthMessage({ origin: API, data: success }, API), success);
});

test('accepts an error message with its code and message', () => {
  const data = {
    type: 'switchboard:oauth',
    provider: 'github',
    status: 'error',
    code: 'access_denied',
    message: 'You declined.',
    extra: 'dropped',
  };
  assert.deepEqual(readOAuthMessage({ origin: API, data }, API), {
    type: 'switchboard:oauth',
    provider: 'github',
    status: 'error',
    code: 'access_denied',
    message: 'You declined.',
  });
});

test('compares origins, not URLs: a path or trailing slash in the public URL is fine', () => {
  assert.deepEqual(readOAuthMessage({ origin: API, data: success }, `${API}/`), success);
  assert.deepEqual(readOAuthMessage({ origin: API, data: success }, `${API}/some/prefix`), success);
});

test('ignores a message from any other origin', () => {
  for (const origin of [
    'http://127.0.0.1:5173', // the Vite dev server
    'http://127.0.0.1:8081', // another port
    'http://localhost:8080', // another host name for the same server
    'https://127.0.0.1:8080', // another scheme
    'https://evil.example',
    'null', // sandboxed iframes, file: pages
    '',
  ]) {
    assert.equal(readOAuthMessage({ origin, data: success }, API), null, origin);
  }
});

test('ignores malformed messages from the public origin', () => {
  for (const data of [
    null,
    undefined,
    'switchboard:oauth',
    42,
    {},
    { ...success, type: 'other' },
    { ...success, status: 'maybe' },
    { ...success, provider: 7 },
    { ...success, provider: '' },
  ]) {
    assert.equal(readOAuthMessage({ origin: API, data }, API), null, JSON.stringify(data));
  }
});

test('ignores everything when the public URL is not a URL', () => {
  assert.equal(readOAuthMessage({ origin: 'null', data: success }, 'not a url'), null);
});
