// Fails when src/api/schema.d.ts is not what openapi-typescript generates from
// ../openapi/openapi.json today (someone changed the API and forgot `npm run generate`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'src/api/schema.d.ts');
const dir = mkdtempSync(join(tmpdir(), 'switchboard-schema-'));
const fresh = join(dir, 'schema.d.ts');

try {
  const cli = join(root, 'node_modules/openapi-typescript/bin/cli.js');
  const run = spawnSync(process.execPath, [cli, '../openapi/openapi.json', '-o', fresh], {
    cwd: root,
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    console.error('check:generated: openapi-typescript failed');
    process.exit(1);
  }
  let current = '';
  try {
    current = readFileSync(committed, 'utf8');
  } catch {
    // Missing counts as stale.
  }
  if (current !== readFileSync(fresh, 'utf8')) {
    console.error(
      'check:generated: src/api/schema.d.ts is out of date with ../openapi/openapi.json; run npm run generate',
    );
    process.exit(1);
  }
  console.log('check:generated: src/api/schema.d.ts matches ../openapi/openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
