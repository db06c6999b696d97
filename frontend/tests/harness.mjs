// Shared by the browser tests: build the app with Vite, start the API server binary in sandbox
// mode in a temporary directory with FRONTEND_DIR set to that build (so the API serves the app on
// its own origin, as in production), and drive Debian's Chromium with playwright-core.
// Everything listens on and talks to 127.0.0.1 only, and `close` stops everything, also when a
// test failed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_BIN = resolve(FRONTEND, process.env.SWITCHBOARD_BIN || '../target/debug/switchboard');
const CHROMIUM = '/usr/bin/chromium';
export const TEST_TIMEOUT = 60_000;
export const ACTION_TIMEOUT = 15_000;

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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
 * Start the API in `dir`; resolve once GET /readyz is 200. `env(base)` adds settings that depend
 * on the server's own address. Retries on another port if the one picked was taken meanwhile.
 */
async function startServer(dir, env) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const ownBase = `http://127.0.0.1:${port}`;
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
        ...env(ownBase),
        RUST_LOG: 'warn',
        NO_COLOR: '1',
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const base = ownBase;
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

/** True when the server at `base` serves this build at / (it knows FRONTEND_DIR). */
async function servesBuild(base, outDir) {
  try {
    const response = await fetch(`${base}/`, { signal: AbortSignal.timeout(5_000) });
    return response.ok && (await response.text()) === readFileSync(join(outDir, 'index.html'), 'utf8');
  } catch {
    return false;
  }
}

/**
 * Everything a browser test needs: the app and its API on one origin (`appOrigin`, also
 * `api.base`), Chromium with one context and page on the app, and `offHost`, the requests the pages tried to make beyond
 * 127.0.0.1 (blocked). `close()` saves a screenshot to test-results/`name`.png and stops it all.
 */
export async function startApp(name, { viewport = { width: 1000, height: 900 } } = {}) {
  assert.ok(
    existsSync(SERVER_BIN),
    `no server binary at ${SERVER_BIN}: build it with \`cargo build\` in the repository root, or set SWITCHBOARD_BIN`,
  );
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const app = { offHost: [] };
  app.workDir = mkdtempSync(join(tmpdir(), `switchboard-frontend-${name}-`));
  app.close = async () => {
    try {
      if (app.page && !app.page.isClosed()) {
        const screenshot = join(FRONTEND, 'test-results', `${name}.png`);
        mkdirSync(dirname(screenshot), { recursive: true });
        await app.page.screenshot({ path: screenshot, fullPage: true }).catch(() => undefined);
      }
    } finally {
      await app.browser?.close().catch(() => undefined);
      await stopProcess(app.api?.child);
      rmSync(app.workDir, { recursive: true, force: true });
    }
  };
  try {
    // The real production bundle of the current sources.
    const outDir = join(app.workDir, 'dist');
    await build({ root: FRONTEND, logLevel: 'warn', build: { outDir, emptyOutDir: true } });

    app.api = await startServer(app.workDir, (base) => ({ FRONTEND_DIR: outDir, FRONTEND_ORIGIN: base }));
    app.appOrigin = app.api.base;
    assert.ok(
      await servesBuild(app.api.base, outDir),
      `the server at ${SERVER_BIN} does not serve FRONTEND_DIR: rebuild it (cargo build in the repository root)`,
    );

    app.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
    app.context = await app.browser.newContext({ viewport });
    app.context.setDefaultTimeout(ACTION_TIMEOUT);
    // Belt and braces: the pages must never reach beyond this machine.
    await app.context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => {
        app.offHost.push(route.request().url());
        return route.abort();
      },
    );
    app.page = await app.context.newPage();
    await app.page.goto(app.appOrigin);
    return app;
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** On the sign-up page: creates the company and waits until the app shows it. */
export async function signUp(page, { email, company, password = 'correct horse battery' }) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Company name').fill(company);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText(company, { exact: true }).waitFor();
}

/**
 * Settings → Integrations → Connect Discord; in the simulator's consent popup, adds the bot to
 * `server` and authorizes. Resolves once the popup has closed itself and the app said so.
 */
export async function connectDiscord(page, context, server = 'Acme Support') {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.waitForURL(/\/settings\/integrations$/);
  const popupOpened = context.waitForEvent('page');
  await page.getByRole('button', { name: 'Connect Discord' }).click();
  const popup = await popupOpened;
  const popupClosed = popup.waitForEvent('close');
  await popup.getByLabel('Add to server').selectOption({ label: server });
  await popup.getByRole('button', { name: 'Authorize' }).click();
  await popupClosed;
  await page.locator('.toast').filter({ hasText: 'Discord connected' }).waitFor();
}
