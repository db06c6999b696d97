// End-to-end test of the OAuth popup flows, in a real browser against the real API server in
// sandbox mode (its built-in Discord and GitHub simulators).
//
// It starts the server binary (SWITCHBOARD_BIN, default ../target/debug/switchboard) in a temporary
// directory, builds the app with VITE_API_BASE pointing at it, serves that bundle from a tiny static
// server on a second port, and drives Debian's Chromium with playwright-core. Everything listens on
// and talks to 127.0.0.1 only, and everything is stopped in `after`, also when a test fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_BIN = resolve(FRONTEND, process.env.SWITCHBOARD_BIN || '../target/debug/switchboard');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(FRONTEND, 'test-results', 'popup.png');
const TEST_TIMEOUT = 60_000;
const ACTION_TIMEOUT = 15_000;

/** A port the kernel says is free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait for `child` to exit, up to `ms`; true if it did. */
function waitForExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((r) => {
    const timer = setTimeout(() => r(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      r(true);
    });
  });
}

async function stopProcess(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitForExit(child, 5_000))) {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  }
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Start the API in `dir` with FRONTEND_ORIGIN = `frontendOrigin`; resolve once GET /readyz is 200.
 * Retries on another port if the one picked was taken in the meantime.
 */
async function startServer(dir, frontendOrigin) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = join(dir, `server-${attempt}.log`);
    const fd = openSync(log, 'w');
    const child = spawn(SERVER_BIN, ['serve'], {
      cwd: dir,
      // A minimal environment: nothing from the caller (DATABASE_URL, DISCORD_*, …) may turn off
      // sandbox mode or point the server elsewhere.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        BIND_ADDR: `127.0.0.1:${port}`,
        FRONTEND_ORIGIN: frontendOrigin,
        RUST_LOG: 'warn',
        NO_COLOR: '1',
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      try {
        const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (response.status === 200) return { child, base, log };
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    await stopProcess(child);
    const output = tail(log);
    if (attempt < 3 && /address already in use/i.test(output)) continue;
    throw new Error(`the server at ${base} did not become ready; its log:\n${output}`);
  }
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Serve `root` on 127.0.0.1:`port`; unknown paths answer index.html (a single-page app). */
function startStatic(root, port) {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    let file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || path.endsWith('/')) {
      file = join(root, 'index.html');
    }
    try {
      const body = readFileSync(file);
      response.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((r, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => r(server));
  });
}

describe('OAuth popup flows in the browser', { timeout: 5 * TEST_TIMEOUT }, () => {
  let workDir;
  let api;
  let staticServer;
  let browser;
  let context;
  let page;
  const offHost = [];

  before(
    async () => {
      assert.ok(
        existsSync(SERVER_BIN),
        `no server binary at ${SERVER_BIN}: build it with \`cargo build\` in the repository root, or set SWITCHBOARD_BIN`,
      );
      assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
      workDir = mkdtempSync(join(tmpdir(), 'switchboard-frontend-test-'));

      const frontendPort = await freePort();
      const appOrigin = `http://127.0.0.1:${frontendPort}`;
      api = await startServer(workDir, appOrigin);

      // The real production bundle, built for this API's address.
      const outDir = join(workDir, 'dist');
      process.env.VITE_API_BASE = api.base;
      await build({
        root: FRONTEND,
        logLevel: 'warn',
        build: { outDir, emptyOutDir: true },
      });
      staticServer = await startStatic(outDir, frontendPort);

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
        timeout: 30_000,
      });
      context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
      context.setDefaultTimeout(ACTION_TIMEOUT);
      // Belt and braces: the pages must never reach beyond this machine.
      await context.route(
        (url) => url.hostname !== '127.0.0.1',
        (route) => {
          offHost.push(route.request().url());
          return route.abort();
        },
      );
      page = await context.newPage();
      await page.goto(appOrigin);
    },
    { timeout: TEST_TIMEOUT },
  );

  after(
    async () => {
      try {
        if (page && !page.isClosed()) {
          mkdirSync(dirname(SCREENSHOT), { recursive: true });
          await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => undefined);
        }
      } finally {
        await browser?.close().catch(() => undefined);
        await new Promise((r) => (staticServer ? staticServer.close(r) : r()));
        await stopProcess(api?.child);
        if (workDir) rmSync(workDir, { recursive: true, force: true });
      }
    },
    { timeout: TEST_TIMEOUT },
  );

  const integration = (name) => page.getByRole('listitem', { name, exact: true });
  const fieldText = async (name, field) =>
    (await integration(name).locator(`[data-field="${field}"]`).textContent())?.trim();
  /** Wait until the integration's status badge reads `status`. */
  const waitForStatus = (name, status) =>
    integration(name)
      .locator('[data-field="status"]')
      .filter({ hasText: new RegExp(`^${status}$`) })
      .waitFor();
  const statusLine = () => page.getByRole('status');
  const waitForStatusLine = (text) => statusLine().filter({ hasText: text }).waitFor();

  test('sign up, then connect Discord through the popup', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByLabel('Email').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Log out' }).isVisible(), false);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByLabel('Company name').fill('Analytical Engines');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByText('Analytical Engines', { exact: true }).waitFor();
    await waitForStatus('Discord', 'not connected');

    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect Discord' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close', { timeout: ACTION_TIMEOUT });
    await popup.getByLabel('Add to server').selectOption({ label: 'Acme Support' });
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await popupClosed; // The callback page posted its message and closed itself.

    await waitForStatusLine('Discord connected');
    await waitForStatus('Discord', 'active');
    assert.match(await fieldText('Discord', 'detail'), /Acme Support/);
    assert.match(await statusLine().textContent(), /Acme Support/);
    await page.getByRole('button', { name: 'Reconnect Discord' }).waitFor();
  });

  test('cancel on GitHub: the access_denied error is shown', { timeout: TEST_TIMEOUT }, async () => {
    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect GitHub' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close', { timeout: ACTION_TIMEOUT });
    await popup.getByRole('button', { name: 'Cancel' }).click();
    await popupClosed;

    // Only the callback page's message carries an error code (polling cannot see one), so this
    // also proves the postMessage path end to end.
    await waitForStatusLine('access_denied');
    const line = await statusLine().textContent();
    assert.match(line, /GitHub was not connected/);
    assert.equal(await statusLine().getAttribute('data-kind'), 'error');
    assert.equal(await fieldText('GitHub', 'status'), 'not connected');
    await page.getByRole('button', { name: 'Connect GitHub' }).waitFor();
  });

  test('a lost postMessage: polling still notices the connection', { timeout: TEST_TIMEOUT }, async () => {
    // Drop the callback page's message before the app sees it, as a misconfigured FRONTEND_ORIGIN
    // would: the popup still closes itself, and only the app's last poll of GET /api/integrations
    // can see the outcome. (Registered before the app's own listener, which Connect adds.)
    await page.evaluate(() => {
      window.droppedMessages = 0;
      window.addEventListener(
        'message',
        (event) => {
          if (event.data?.type === 'switchboard:oauth') window.droppedMessages += 1;
          event.stopImmediatePropagation();
        },
        { capture: true },
      );
    });
    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect GitHub' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close', { timeout: ACTION_TIMEOUT });
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await popupClosed; // The callback page closed itself after posting.

    await waitForStatusLine('GitHub connected');
    await waitForStatus('GitHub', 'active');
    assert.match(await fieldText('GitHub', 'detail'), /Account: \S+/);
    assert.equal(await page.evaluate(() => window.droppedMessages), 1, 'the message was dropped');
    assert.equal(await statusLine().getAttribute('data-via'), 'poll');
  });

  test('a popup cut off from the app: polling sees the connection while it is open', { timeout: TEST_TIMEOUT }, async () => {
    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Reconnect Discord' }).click();
    const popup = await popupOpened;
    await popup.getByLabel('Add to server').selectOption({ label: 'Beta Testers' });
    // Sever the popup from the app, as some provider pages do: the callback page then can neither
    // post its message nor close itself, so only polling while the popup is open sees the outcome.
    await popup.evaluate(() => {
      window.opener = null;
    });
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await popup.waitForURL(/\/api\/integrations\/discord\/callback/);

    await waitForStatusLine('Discord connected');
    assert.match(await statusLine().textContent(), /Beta Testers/);
    assert.equal(await statusLine().getAttribute('data-via'), 'poll');
    await waitForStatus('Discord', 'active');
    assert.match(await fieldText('Discord', 'detail'), /Beta Testers/);
    assert.equal(await popup.locator('main').getAttribute('data-status'), 'success');
    await popup.close();
  });

  test('a blocked popup is explained; the session survives a reload', { timeout: TEST_TIMEOUT }, async () => {
    await page.evaluate(() => {
      window.open = () => null; // What a popup blocker does.
    });
    await page.getByRole('button', { name: 'Reconnect Discord' }).click();
    await waitForStatusLine('blocked by your browser');
    assert.match(await statusLine().textContent(), /popup_blocked/);

    // The reload drops the in-memory bearer token: the HttpOnly session cookie signs us in again.
    await page.reload();
    await page.getByText('Analytical Engines', { exact: true }).waitFor();
    await waitForStatus('Discord', 'active');
    await waitForStatus('GitHub', 'active');
  });

  test('disconnect Discord', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'Disconnect Discord' }).click();
    await waitForStatusLine('Discord disconnected');
    await waitForStatus('Discord', 'revoked');
    await page.getByRole('button', { name: 'Connect Discord' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Disconnect Discord' }).count(), 0);
  });

  test('log out, then log in again', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Email').waitFor();
    assert.equal(await integration('Discord').count(), 0);

    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await waitForStatusLine('invalid_credentials');

    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await waitForStatusLine('Logged in');
    await waitForStatus('Discord', 'revoked');
    await waitForStatus('GitHub', 'active');
    assert.deepEqual(offHost, [], 'requests to hosts other than 127.0.0.1');
  });
});
