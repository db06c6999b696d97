// Unit tests of the live-event reader (src/api/live.ts), without a browser: the module is
// transpiled with the project's TypeScript and imported as a data: URL.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import ts from 'typescript';

const source = readFileSync(new URL('../src/api/live.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
});
const { readLiveEvent, streamUrl, EVENT_TYPES } = await import(
  `data:text/javascript,${encodeURIComponent(outputText)}`
);

const event = {
  id: 7,
  leadId: '0193a5c4-0000-7000-8000-000000000001',
  at: '2026-11-24T10:00:00Z',
  type: 'message.created',
  data: { id: 'm1', content: 'Hi' },
};

test('reads a well-formed event', () => {
  assert.deepEqual(readLiveEvent('message.created', JSON.stringify(event)), event);
});

test('refuses a name that disagrees with the payload, or an unknown type', () => {
  assert.equal(readLiveEvent('lead.updated', JSON.stringify(event)), null);
  assert.equal(readLiveEvent('lead.deleted', JSON.stringify({ ...event, type: 'lead.deleted' })), null);
});

test('refuses malformed payloads', () => {
  for (const data of [
    'not json',
    'null',
    '42',
    JSON.stringify({ ...event, id: '7' }),
    JSON.stringify({ ...event, id: 1.5 }),
    JSON.stringify({ ...event, at: undefined }),
    JSON.stringify({ ...event, data: null }),
  ]) {
    assert.equal(readLiveEvent('message.created', data), null, data);
  }
});

test('knows every event type the API documents', () => {
  const spec = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
  const documented = spec.components.schemas.EventBody.oneOf.flatMap((v) => v.properties.type.enum);
  assert.deepEqual([...EVENT_TYPES].sort(), documented.sort());
});

test('builds stream URLs with the lead id encoded', () => {
  assert.equal(streamUrl('http://127.0.0.1:8080/', '/api/events'), 'http://127.0.0.1:8080/api/events');
  assert.equal(
    streamUrl('http://api.test', '/api/leads/{leadId}/events', { leadId: 'a/b' }),
    'http://api.test/api/leads/a%2Fb/events',
  );
});
