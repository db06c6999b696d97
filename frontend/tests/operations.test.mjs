// Settings sections and Operations in a real browser against the API server in sandbox mode
// (see harness.mjs): every section has its URL, heading and empty state, without console errors;
// a webhook endpoint at the sandbox's own inbox shows its secret once, and a test message shows
// up in its delivery log. A screenshot of each page goes to test-results/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT, signUp, startApp } from './harness.mjs';

const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

describe('Settings and Operations in the browser', { timeout: 6 * TEST_TIMEOUT }, () => {
  let app;
  let page;
  const consoleErrors = [];
  /** `status METHOD /path` of every answer ≥ 400. */
  const failures = [];

  before(
    async () => {
      app = await startApp('operations');
      ({ page } = app);
      page.on('console', (message) => {
        // Failed requests are judged by their answers below.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
          consoleErrors.push(message.text());
        }
      });
      page.on('response', (response) => {
        if (response.status() >= 400) {
          failures.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
        }
      });
      page.on('pageerror', (error) => consoleErrors.push(String(error)));
    },
    { timeout: TEST_TIMEOUT },
  );

  after(() => app?.close(), { timeout: TEST_TIMEOUT });

  const screenshot = async (name) => {
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage: true });
  };
  const heading = (name, level = 2) => page.getByRole('heading', { name, level, exact: true });
  const emptyState = (title) => page.locator('.empty-state').filter({ hasText: title });
  const toast = (text) => page.getByRole('status', { name: 'Notifications' }).locator('.toast').filter({ hasText: text }).last();
  /** Open `path` by its URL (a fresh load: the session cookie signs us in again). */
  const visit = async (path) => {
    await page.goto(`${app.appOrigin}${path}`);
    await page.waitForURL((url) => url.pathname === path);
  };
  /**
   * Console errors, and failed answers other than those the app expects (no session before
   * signing up) or this test provoked (invalid input, the last owner stepping down).
   */
  const EXPECTED = [
    /^401 GET \/api\/me$/,
    /^422 POST \/api\/(webhook-endpoints|companies\/current\/members)$/,
    /^409 PATCH \/api\/companies\/current\/members\/[0-9a-f-]+$/,
  ];
  const unexpectedErrors = () => [...consoleErrors, ...failures.filter((line) => !EXPECTED.some((re) => re.test(line)))];

  test('sign up; /settings opens Integrations', { timeout: TEST_TIMEOUT }, async () => {
    await page.waitForURL(/\/login$/);
    await page.getByRole('link', { name: 'Create a company' }).click();
    await signUp(page, { email: 'grace@example.com', company: 'Compilers Inc' });

    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.waitForURL(/\/settings\/integrations$/);
    await heading('Integrations').waitFor();
    const sections = page.getByRole('navigation', { name: 'Settings sections' });
    for (const name of ['Integrations', 'Webhooks', 'API keys', 'Members']) {
      await sections.getByRole('link', { name, exact: true }).waitFor();
    }
    // What each integration unlocks is said before connecting it.
    await page.getByText('Unlocks a Discord channel per lead').waitFor();
    await page.getByText('Unlocks linking GitHub issues').waitFor();
    await screenshot('settings-integrations');
  });

  test('each Settings section has its URL, heading and empty state', { timeout: TEST_TIMEOUT }, async () => {
    await visit('/settings/webhooks');
    await heading('Webhooks').waitFor();
    await emptyState('No webhook endpoints yet').waitFor();
    await screenshot('settings-webhooks-empty');

    await visit('/settings/api-keys');
    await heading('API keys').waitFor();
    await emptyState('No API keys yet').waitFor();
    await screenshot('settings-api-keys');

    await visit('/settings/members');
    await heading('Members').waitFor();
    const me = page.getByRole('listitem').filter({ hasText: 'grace@example.com' });
    await me.waitFor();
    assert.match(await me.textContent(), /\(you\)/);
    await page.getByRole('heading', { name: 'Add a member' }).waitFor();
    // Someone without an account: the error is under the email field.
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('.field-error').filter({ hasText: 'no Switchboard account' }).waitFor();
    // The only owner cannot step down: `last_owner`, next to the control.
    await page.getByLabel('Role of grace@example.com').selectOption('admin');
    await me.getByRole('alert').filter({ hasText: 'last_owner' }).waitFor();
    await screenshot('settings-members');

    assert.deepEqual(unexpectedErrors(), [], 'console errors');
  });

  test('a webhook endpoint: its secret once, a test message, its delivery', { timeout: TEST_TIMEOUT }, async () => {
    await visit('/settings/webhooks');
    const url = `${app.appOrigin}/sandbox/webhooks/inbox/crm`;

    // A malformed URL is refused with the error under the URL field.
    await page.getByLabel('Endpoint URL').fill('not a url');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.locator('.field-error').filter({ hasText: 'absolute URL' }).waitFor();
    assert.equal(await page.getByLabel('Endpoint URL').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Endpoint URL').fill(url);
    await page.getByLabel('Description (optional)').fill('The CRM');
    assert.equal(await page.getByLabel('All events, including types added later').isChecked(), true);
    await page.getByRole('button', { name: 'Add endpoint' }).click();

    const secret = page.locator('[data-field="secret"]');
    await secret.waitFor();
    assert.match(await secret.textContent(), /^whsec_/);
    await page.getByRole('button', { name: 'Copy secret' }).waitFor();
    const endpoint = page.getByRole('listitem', { name: url, exact: true });
    await endpoint.waitFor();
    assert.equal((await endpoint.locator('[data-field="health"]').textContent())?.trim(), 'healthy');
    await screenshot('settings-webhooks');
    await page.getByRole('button', { name: 'Done' }).click();
    await secret.waitFor({ state: 'detached' });

    // Shown once: not after a reload either.
    await page.reload();
    await endpoint.waitFor();
    assert.equal(await page.locator('[data-field="secret"]').count(), 0);
    assert.doesNotMatch(await page.content(), /whsec_/);

    // Send a test: it is queued, and its delivery to the sandbox inbox appears in the log.
    await endpoint.getByRole('button', { name: 'Send test' }).click();
    await toast('Test message queued').waitFor();
    const delivery = endpoint.locator('tr[data-outcome]').filter({ hasText: 'webhook.test' });
    await delivery.first().waitFor();
    assert.match(await delivery.first().textContent(), /succeeded.*HTTP 2\d\d/s);
    await endpoint.getByRole('button', { name: /^Resend webhook\.test/ }).first().waitFor();
    await screenshot('settings-webhooks-deliveries');

    // The sandbox inbox got it, signed with the secret it was handed.
    const inbox = await (await fetch(`${app.appOrigin}/sandbox/webhooks/inbox/messages`)).json();
    const received = inbox.find((message) => message.eventType === 'webhook.test');
    assert.ok(received, `the inbox has no webhook.test: ${JSON.stringify(inbox)}`);
    assert.equal(received.verified, true);

    // Edit: only one event type.
    await endpoint.getByRole('button', { name: 'Edit' }).click();
    await endpoint.getByLabel('Only these:').check();
    await endpoint.getByRole('checkbox', { name: /message\.created/ }).check();
    await endpoint.getByRole('button', { name: 'Save endpoint' }).click();
    await toast('Endpoint saved').waitFor();
    await endpoint.locator('.facts li').filter({ hasText: /^Events: message\.created$/ }).waitFor();

    // Rotate: asked first, then the new secret once.
    await endpoint.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog', { name: 'Rotate the signing secret?' }).getByRole('button', { name: 'Rotate secret' }).click();
    assert.match(await page.locator('[data-field="secret"]').textContent(), /^whsec_/);
    await endpoint.getByText(/previous secret also signs messages/).waitFor();
    await page.getByRole('button', { name: 'Done' }).click();

    assert.deepEqual(unexpectedErrors(), [], 'console errors');
  });

  test('each Operations section has its URL, heading and empty state', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('link', { name: 'Operations', exact: true }).click();
    await page.waitForURL(/\/operations\/jobs$/);
    await heading('Jobs').waitFor();
    await emptyState('No dead jobs').waitFor();
    await screenshot('operations-jobs');

    await visit('/operations/routing');
    await heading('Routing events').waitFor();
    await emptyState('No routing events yet').waitFor();
    // Filters live in the URL: a filtered view can be shared.
    await page.getByLabel('Decision').selectOption('rejected');
    await page.getByLabel('Channel id').fill('1234');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/operations\/routing\?decision=rejected&channelId=1234$/);
    await emptyState('No routing events match these filters').waitFor();
    await page.reload();
    assert.equal(await page.getByLabel('Decision').inputValue(), 'rejected');
    assert.equal(await page.getByLabel('Channel id').inputValue(), '1234');
    // A channel id that is no Discord id is explained next to the field.
    await page.getByLabel('Channel id').fill('general');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('.field-error').filter({ hasText: 'Discord channel id' }).waitFor();
    await screenshot('operations-routing');

    await visit('/operations/sync-logs');
    await heading('Sync logs').waitFor();
    await emptyState('No sync runs yet').waitFor();
    await screenshot('operations-sync-logs');

    await visit('/operations/audit');
    await heading('Audit log').waitFor();
    // Creating the endpoint may be audited; either way the page shows a table or says what to do.
    await page.locator('.empty-state, table.data').first().waitFor();
    await screenshot('operations-audit');

    assert.deepEqual(unexpectedErrors(), [], 'console errors');
  });

  test('GitHub connected: its webhook settings, Sync now, a rotated secret shown once', { timeout: TEST_TIMEOUT }, async () => {
    await visit('/settings/integrations');
    const popupOpened = app.context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect GitHub' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close');
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await popupClosed;
    await toast('GitHub connected').waitFor();

    await heading('GitHub webhook', 3).waitFor();
    assert.match(await page.locator('[data-field="webhook-url"]').textContent(), /\/api\/webhooks\/github\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Copy URL' }).waitFor();

    await page.getByRole('button', { name: 'Sync now' }).click();
    await toast('GitHub synced').waitFor();

    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the GitHub webhook secret?' });
    assert.match(await dialog.textContent(), /set up by hand must be given the new secret/);
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();
    await page.locator('.secret-once [data-field="secret"]').waitFor();
    await screenshot('settings-integrations-github');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('.secret-once').waitFor({ state: 'detached' });

    // The run is in the sync logs.
    await visit('/operations/sync-logs');
    await page.locator('table.data tbody tr').filter({ hasText: 'GitHub links' }).first().waitFor();
    assert.deepEqual(unexpectedErrors(), [], 'console errors');
  });

  test('a member: no Operations, told it is for admins, Settings read-only', { timeout: TEST_TIMEOUT }, async () => {
    // Lin signs up (her own company), Grace adds her to Compilers Inc as a member, and Lin logs
    // in to Compilers Inc in a browser of her own.
    const origin = app.appOrigin;
    const json = { 'content-type': 'application/json' };
    const signup = await fetch(`${origin}/api/auth/signup`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'lin@example.com', password: 'correct horse battery', companyName: 'Lin Ltd' }),
    });
    assert.equal(signup.status, 201, await signup.text());
    await visit('/settings/members');
    await page.getByLabel('Email').fill('lin@example.com');
    await page.getByRole('button', { name: 'Add member' }).click();
    await toast('added as member').waitFor();
    const companyId = await page.evaluate(async () => (await (await fetch('/api/me')).json()).company.id);

    const context = await app.browser.newContext({ viewport: { width: 1000, height: 900 } });
    try {
      await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
      const lin = await context.newPage();
      await lin.goto(`${origin}/login`);
      const status = await lin.evaluate(
        async (body) => (await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status,
        JSON.stringify({ email: 'lin@example.com', password: 'correct horse battery', companyId }),
      );
      assert.equal(status, 200);
      await lin.goto(`${origin}/settings/webhooks`);
      await lin.getByText('Compilers Inc', { exact: true }).waitFor();
      await lin.getByRole('heading', { name: 'Webhooks', level: 2 }).waitFor();
      await lin.getByText('Only admins can add or change endpoints.').waitFor();
      assert.equal(await lin.getByRole('button', { name: 'Send test' }).count(), 0);
      assert.equal(await lin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operations' }).count(), 0);
      await lin.goto(`${origin}/settings/members`);
      await lin.getByText('Only admins can add members or change roles.').waitFor();
      await lin.goto(`${origin}/operations/routing`);
      await lin.getByRole('heading', { name: 'Operations', level: 1 }).waitFor();
      await lin.locator('.empty-state').filter({ hasText: 'Operations is for admins' }).waitFor();
      await lin.screenshot({ path: join(RESULTS, 'operations-member.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('at 375 px wide the pages do not scroll sideways', { timeout: TEST_TIMEOUT }, async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const path of ['/settings/webhooks', '/settings/members', '/operations/jobs', '/operations/routing']) {
      await visit(path);
      await page.locator('main h2').first().waitFor();
      await page.locator('[role="status"][aria-busy="true"]').first().waitFor({ state: 'detached' }).catch(() => undefined);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px at 375px`);
    }
    await visit('/settings/webhooks');
    await page.getByRole('button', { name: 'Show deliveries' }).click();
    await page.locator('tr[data-outcome]').first().waitFor();
    await screenshot('settings-webhooks-375');
    assert.deepEqual(app.offHost, [], 'requests to hosts other than 127.0.0.1');
  });
});
