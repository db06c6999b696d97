// Shared by the browser tests: build the app with Vite, start the API server binary in sandbox
// mode in a temporary directory with FRONTEND_DIR set to that build (so the API serves the app on
// its own origin, as in production), and drive Debian's Chromium with playwright-core. A server
// binary that cannot serve FRONTEND_DIR yet gets a small same-origin front instead: it serves the
// build and passes the API's paths (HTTP, SSE and WebSocket) through, and the server's PUBLIC_URL
// and FRONTEND_ORIGIN are that front. Everything listens on and talks to 127.0.0.1 only, and
// `close` stops everything, also when a test failed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
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

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

const API_PATHS = /^\/(api|sandbox|openapi\.json|docs|readyz|healthz)(\/|$|\?)/;

/**
 * The interim same-origin front on 127.0.0.1:`port`: the API's paths go to `apiPort` (streamed,
 * so Server-Sent Events and WebSockets pass), anything else is a file of `root`, and unknown
 * paths answer index.html (history fallback).
 */
function startFront(root, port, apiPort) {
  const server = createServer((request, response) => {
    if (API_PATHS.test(request.url ?? '/')) {
      const upstream = httpRequest(
        { host: '127.0.0.1', port: apiPort, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
      return;
    }
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
  // The simulated Discord gateway is a WebSocket: pass the upgrade through byte for byte.
  const tunnels = new Set();
  server.on('upgrade', (request, socket, head) => {
    const upstream = netConnect(apiPort, '127.0.0.1', () => {
      const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) {
        lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    tunnels.add(socket).add(upstream);
    socket.on('close', () => tunnels.delete(socket));
    upstream.on('close', () => tunnels.delete(upstream));
  });
  // Closing stops the streams and tunnels too, which never end by themselves.
  server.stop = () =>
    new Promise((r) => {
      server.close(r);
      server.closeAllConnections();
      for (const socket of tunnels) socket.destroy();
    });
  return new Promise((r, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => r(server));
  });
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
      await app.staticServer?.stop();
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
    if (!(await servesBuild(app.api.base, outDir))) {
      // A server binary without FRONTEND_DIR: put the same-origin front before it.
      await stopProcess(app.api.child);
      const frontPort = await freePort();
      const front = `http://127.0.0.1:${frontPort}`;
      app.api = await startServer(app.workDir, () => ({ FRONTEND_ORIGIN: front, PUBLIC_URL: front }));
      app.staticServer = await startFront(outDir, frontPort, Number(new URL(app.api.base).port));
      app.appOrigin = front;
      app.api.base = front;
    }

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
