// The whole journey of issue #18, as a new user takes it, in headless Chromium against
// `switchboard serve` in sandbox mode, the app and the API on one origin (see harness.mjs):
// sign up → connect Discord in the popup → pick a member of the sandbox server as a new lead →
// create their channel → send (it turns `sent`) → reply as the lead (the reply appears without a
// reload) and, from Discord's own client, once more while the inbox is elsewhere (the lead list
// shows it unread) → resolve the lead → a denied consent shows its error → a failed message is
// retried from the conversation → at 375 px nothing scrolls sideways. Every page it visits is
// saved as a screenshot under test-results/e2e/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_TIMEOUT, connectDiscord, signUp, startApp } from './harness.mjs';

const SHOTS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'test-results', 'e2e');

describe('a first conversation, end to end', { timeout: 6 * TEST_TIMEOUT }, () => {
  let app;
  let page;
  let shots = 0;
  let leadUrl;
  let channelName;
  const pageErrors = [];

  before(
    async () => {
      mkdirSync(SHOTS, { recursive: true });
      app = await startApp('e2e', { viewport: { width: 1280, height: 900 } });
      ({ page } = app);
      page.on('pageerror', (error) => pageErrors.push(String(error)));
    },
    { timeout: TEST_TIMEOUT },
  );

  after(() => app?.close(), { timeout: TEST_TIMEOUT });

  /** Saves the page as it is now: test-results/e2e/NN-name.png. */
  async function shot(name) {
    shots += 1;
    const file = join(SHOTS, `${String(shots).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  }

  const side = () => page.getByRole('complementary', { name: 'Lead details' });
  const messages = () => page.getByRole('list', { name: 'Messages' });
  const toast = (text) => page.locator('.toast').filter({ hasText: text });
  const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  /** Switches the Discord simulator's faults (`{}`: none). */
  async function faults(body) {
    const answer = await fetch(`${app.api.base}/sandbox/discord/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(answer.status, 200, await answer.text());
  }

  test('sign up, and connect Discord in the popup', { timeout: TEST_TIMEOUT }, async () => {
    await page.goto(`${app.appOrigin}/signup`);
    await page.getByRole('button', { name: 'Sign up' }).waitFor();
    await shot('sign-up');
    await signUp(page, { email: 'ada@example.com', company: 'Analytical Engines' });
    await page.getByText('No open leads').waitFor();
    await page.getByText(/sandbox/i).first().waitFor();
    await shot('inbox-empty');

    await connectDiscord(page, app.context);
    await shot('settings-integrations');
  });

  test('pick a member of the sandbox server as a new lead, and create their channel', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('button', { name: 'New lead' }).click();
    const dialog = page.getByRole('dialog', { name: 'New lead' });
    await dialog.getByLabel('Name', { exact: true }).fill('Grace Hopper');
    // The starting servers have people in them: pick one, which fills in their Discord id.
    await dialog.getByLabel('Pick a member').selectOption({ label: 'grace.hopper' });
    await page.waitForFunction(() => /^[0-9]+$/.test(document.querySelector('dialog input[inputmode="numeric"]')?.value ?? ''));
    await shot('new-lead');
    await dialog.getByRole('button', { name: 'Add lead' }).click();
    await page.waitForURL(/\/leads\/[0-9a-f-]{36}$/);
    leadUrl = page.url();
    await page.getByRole('heading', { name: 'Grace Hopper', level: 2 }).first().waitFor();

    await side().getByRole('button', { name: 'Create channel' }).click();
    const state = side().locator('[data-field="channel-state"]');
    await state.filter({ hasText: /#\S+/ }).waitFor();
    channelName = (await state.textContent()).match(/#(\S+)/)[1];
    // Invite help: the lead sees the channel once they are in the company's server.
    await side().getByText(/Acme Support/).first().waitFor();
  });

  test('send: the message turns sent; the lead replies: it appears without a reload', { timeout: TEST_TIMEOUT }, async () => {
    await page.evaluate(() => {
      window.sameDocument = true;
    });
    const composer = page.getByLabel('Message', { exact: true });
    await composer.fill('Hello Grace, how can we help?');
    await composer.press('Enter');
    const outbound = messages().locator('[data-direction="outbound"]');
    await outbound.filter({ hasText: 'how can we help?' }).locator('[data-field="state"]').filter({ hasText: /^sent$/ }).waitFor();

    // "Reply as this lead": posted through the Discord simulator, back over the gateway.
    await side().getByLabel('Reply as Grace Hopper').fill('My compiler is stuck, can you look?');
    await side().getByRole('button', { name: 'Post in Discord' }).click();
    const inbound = messages().locator('[data-direction="inbound"]');
    await inbound.filter({ hasText: 'My compiler is stuck' }).waitFor();
    assert.match(await inbound.first().textContent(), /Grace Hopper/, 'the lead wrote it');
    await shot('conversation');

    // Elsewhere in the app, she writes again from Discord's own client: the list shows it unread.
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.waitForURL((url) => url.pathname === '/');
    const discord = await app.context.newPage();
    await discord.goto(`${app.api.base}/sandbox/discord/chat`);
    await discord.getByRole('link', { name: `#${channelName}`, exact: true }).click();
    await discord.getByLabel('Message').fill('Also: is there a manual?');
    await discord.getByRole('button', { name: 'Send' }).click();
    await discord.getByText('Also: is there a manual?').waitFor();
    await discord.close();
    const row = page.getByRole('list', { name: 'open leads' }).locator('.lead-row').filter({ hasText: 'Grace Hopper' });
    await row.locator('[data-field="unread"]').filter({ hasText: /^1$/ }).waitFor();
    assert.equal(await row.locator('[data-field="preview"]').textContent(), 'Also: is there a manual?');
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page did not reload');
    await shot('inbox-unread');
  });

  test('resolve the lead', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('list', { name: 'open leads' }).getByRole('link', { name: /Grace Hopper/ }).click();
    await page.waitForURL(leadUrl);
    await messages().getByText('Also: is there a manual?').waitFor();
    await side().getByRole('button', { name: 'Resolve' }).click();
    await side().locator('[data-field="lead-status"]').filter({ hasText: /^resolved$/ }).waitFor();
    await page.getByRole('group', { name: 'Status', exact: true }).getByRole('button', { name: 'Resolved' }).click();
    await page.getByRole('list', { name: 'resolved leads' }).getByText('Grace Hopper').waitFor();
    await shot('resolved');
  });

  test('a denied consent shows its error', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/settings\/integrations$/);
    const popupOpened = app.context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect GitHub' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close');
    await popup.getByRole('button', { name: 'Cancel' }).click();
    await popupClosed;
    await toast('access_denied').waitFor();
    assert.match(await toast('access_denied').textContent(), /GitHub was not connected/);
    await shot('consent-denied');
  });

  test('a failed message shows why, and is retried from the conversation', { timeout: 3 * TEST_TIMEOUT }, async () => {
    // Discord fails every attempt to post in the channel (500): after eight attempts, 1 + 2 + 4 +
    // 8 + 16 + 16 + 16 seconds apart, the message is given up as failed.
    await faults({ failRoute: 'channels/{channel_id}/messages', failRouteCount: 8 });

    await page.goto(leadUrl);
    await side().getByRole('button', { name: 'Reopen' }).click();
    await side().locator('[data-field="lead-status"]').filter({ hasText: /^open$/ }).waitFor();
    const composer = page.getByLabel('Message', { exact: true });
    await composer.fill('Here is the manual.');
    await composer.press('Enter');
    const failed = messages().locator('[data-direction="outbound"]').filter({ hasText: 'Here is the manual.' });
    await failed.locator('[data-field="state"]').filter({ hasText: /^queued$/ }).waitFor();
    await failed.locator('[data-field="state"]').filter({ hasText: /^failed$/ }).waitFor({ timeout: 100_000 });
    await failed.getByText(/Not delivered: /).waitFor();
    await shot('message-failed');

    // Discord is well again: Retry sends the same message once.
    await faults({});
    await failed.getByRole('button', { name: 'Retry' }).click();
    await failed.locator('[data-field="state"]').filter({ hasText: /^sent$/ }).waitFor();
    assert.equal(await failed.getByText(/Not delivered/).count(), 0);
    assert.equal(
      await messages().locator('[data-direction="outbound"]').filter({ hasText: 'Here is the manual.' }).count(),
      1,
      'one message, not two',
    );
  });

  test('opened on localhost instead of the public address, the app says where to go', { timeout: TEST_TIMEOUT }, async () => {
    // The popups return to PUBLIC_URL (127.0.0.1), so the app names it rather than "cannot
    // reach the API". Only loopback is reachable from this context too.
    const context = await app.browser.newContext();
    await context.route(
      (url) => !['127.0.0.1', 'localhost'].includes(url.hostname),
      (route) => route.abort(),
    );
    try {
      const other = await context.newPage();
      const port = new URL(app.appOrigin).port;
      await other.goto(`http://localhost:${port}/login`);
      const banner = other.getByRole('alert').filter({ hasText: 'sign-in popups return there' });
      await banner.waitFor();
      assert.equal(await banner.getByRole('link').getAttribute('href'), app.appOrigin);
      await other.screenshot({ path: join(SHOTS, 'localhost-banner.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('every page, with a screenshot; at 375 px nothing scrolls sideways', { timeout: 2 * TEST_TIMEOUT }, async () => {
    for (const [path, heading] of [
      ['/settings/webhooks', 'Settings'],
      ['/settings/api-keys', 'Settings'],
      ['/settings/members', 'Settings'],
      ['/operations/jobs', 'Operations'],
      ['/operations/routing', 'Operations'],
      ['/operations/sync-logs', 'Operations'],
      ['/operations/audit', 'Operations'],
    ]) {
      await page.goto(`${app.appOrigin}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await page.locator('.skeleton').first().waitFor({ state: 'detached' }).catch(() => undefined);
      await shot(path.slice(1).replaceAll('/', '-'));
    }

    await page.setViewportSize({ width: 375, height: 800 });
    for (const [path, name] of [
      ['/', 'phone-inbox'],
      [new URL(leadUrl).pathname, 'phone-conversation'],
      ['/settings/integrations', 'phone-settings'],
      ['/operations/routing', 'phone-operations'],
    ]) {
      await page.goto(`${app.appOrigin}${path}`);
      await page.getByRole('main').first().waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      assert.equal(await noSideways(), true, `no horizontal scroll at 375 px on ${path}`);
      await shot(name);
    }
    assert.deepEqual(app.offHost, [], 'requests to hosts other than 127.0.0.1');
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  });
});
