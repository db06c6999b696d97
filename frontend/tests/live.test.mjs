// End-to-end test of live messages, in a real browser against the real API server in sandbox
// mode (see harness.mjs): a lead's reply, posted from the Discord simulator's chat page, travels
// over the simulated gateway into the API and appears in the open conversation without a reload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT, startApp } from './harness.mjs';

describe('live messages in the browser', { timeout: 3 * TEST_TIMEOUT, skip: 'the old page; rewritten against the inbox next' }, () => {
  let app;
  let page;

  before(
    async () => {
      app = await startApp('live');
      ({ page } = app);
    },
    { timeout: TEST_TIMEOUT },
  );

  after(() => app?.close(), { timeout: TEST_TIMEOUT });

  const statusLine = () => page.getByRole('status');
  const messages = () => page.getByRole('list', { name: 'Messages' });

  test('a lead with a channel, a message out, a reply in, live', { timeout: TEST_TIMEOUT }, async () => {
    const { context } = app;
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByLabel('Company name').fill('Compilers Inc');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByText('Compilers Inc', { exact: true }).waitFor();

    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect Discord' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close');
    await popup.getByLabel('Add to server').selectOption({ label: 'Acme Support' });
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await popupClosed;
    await statusLine().filter({ hasText: 'Discord connected' }).waitFor();

    // The lead is a member of the server (the simulator's control API adds one).
    const servers = await (await fetch(`${app.api.base}/sandbox/discord/servers`)).json();
    const server = (servers.items ?? servers).find((s) => s.name === 'Acme Support');
    assert.ok(server, `no Acme Support in ${JSON.stringify(servers)}`);
    const member = await (
      await fetch(`${app.api.base}/sandbox/discord/servers/${server.id}/members`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'ada.lovelace' }),
      })
    ).json();
    assert.match(member.user?.id ?? '', /^[0-9]+$/, JSON.stringify(member));

    await page.getByLabel('Name', { exact: true }).fill('Ada Lovelace');
    await page.getByLabel('Discord user ID').fill(member.user.id);
    await page.getByRole('button', { name: 'Add lead' }).click();
    await page.getByRole('heading', { name: 'Conversation with Ada Lovelace' }).waitFor();
    await page.locator('#live[data-state="live"]').waitFor();

    await page.getByRole('button', { name: 'Open Discord channel' }).click();
    const channelLine = page.getByText(/Discord channel #\S+ · waiting for the lead to join/);
    await channelLine.waitFor();
    const channelName = (await channelLine.textContent()).match(/#(\S+)/)[1];

    // From here on the page must not reload: everything below arrives on the event stream.
    await page.evaluate(() => {
      window.sameDocument = true;
    });

    await page.getByLabel('Message', { exact: true }).fill('Hello Ada, how can we help?');
    await page.getByRole('button', { name: 'Send' }).click();
    const outbound = messages().locator('[data-direction="outbound"]');
    await outbound.filter({ hasText: 'Hello Ada, how can we help?' }).waitFor();
    await outbound.locator('[data-field="state"]').filter({ hasText: /^sent$/ }).waitFor();

    // The lead replies in Discord: the simulator's chat page, in another tab.
    const discord = await context.newPage();
    await discord.goto(`${app.api.base}/sandbox/discord/chat`);
    await discord.getByRole('link', { name: `#${channelName}`, exact: true }).click();
    await discord.getByText('Hello Ada, how can we help?').waitFor();
    assert.equal(
      await discord.getByLabel('Post as').locator('option:checked').textContent(),
      'ada.lovelace',
      'the lead is preselected',
    );
    await discord.getByLabel('Message').fill('Hi! A question about my order, please.');
    await discord.getByRole('button', { name: 'Send' }).click();
    await discord.getByText('Hi! A question about my order, please.').waitFor();

    const inbound = messages().locator('[data-direction="inbound"]');
    await inbound.filter({ hasText: 'Hi! A question about my order, please.' }).waitFor();
    assert.match(await inbound.first().textContent(), /Ada Lovelace/);
    // Her first message marks her as joined (a lead.updated event).
    await page.getByText(/the lead has joined/).waitFor();
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page did not reload');
    assert.equal(await messages().locator('.message').count(), 2);
    assert.deepEqual(app.offHost, [], 'requests to hosts other than 127.0.0.1');
    await discord.close();
  });

  test('after a reload the conversation and its live stream come back', { timeout: TEST_TIMEOUT }, async () => {
    const channelName = (await page.getByText(/Discord channel #\S+/).textContent()).match(/#(\S+)/)[1];
    await page.reload();
    await page.getByRole('button', { name: 'Ada Lovelace' }).click();
    await page.locator('#live[data-state="live"]').waitFor();
    await messages().getByText('Hi! A question about my order, please.').waitFor();
    assert.equal(await messages().locator('.message').count(), 2);

    const discord = await app.context.newPage();
    await discord.goto(`${app.api.base}/sandbox/discord/chat`);
    await discord.getByRole('link', { name: `#${channelName}`, exact: true }).click();
    await discord.getByLabel('Message').fill('Still there?');
    await discord.getByRole('button', { name: 'Send' }).click();
    await messages().getByText('Still there?').waitFor();
    assert.equal(await messages().locator('.message').count(), 3);
    await discord.close();
  });
});
