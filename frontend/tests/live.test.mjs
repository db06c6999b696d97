// End-to-end test of the inbox with live messages, in a real browser against the real API server
// in sandbox mode (see harness.mjs): a lead's reply, posted from the Discord simulator's chat page,
// travels over the simulated gateway into the API and appears in the open conversation without a
// reload; delivery states change in place; the layout holds at phone width.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_TIMEOUT, connectDiscord, signUp, startApp } from './harness.mjs';

describe('the inbox, live, in the browser', { timeout: 4 * TEST_TIMEOUT }, () => {
  let app;
  let page;
  let channelName;

  before(
    async () => {
      app = await startApp('live', { viewport: { width: 1280, height: 900 } });
      ({ page } = app);
    },
    { timeout: TEST_TIMEOUT },
  );

  after(() => app?.close(), { timeout: TEST_TIMEOUT });

  const messages = () => page.getByRole('list', { name: 'Messages' });
  const side = () => page.getByRole('complementary', { name: 'Lead details' });

  /** Post `text` in #channelName as the lead, from the Discord simulator's chat page. */
  async function replyInDiscord(text) {
    const discord = await app.context.newPage();
    await discord.goto(`${app.api.base}/sandbox/discord/chat`);
    await discord.getByRole('link', { name: `#${channelName}`, exact: true }).click();
    await discord.getByLabel('Message').fill(text);
    await discord.getByRole('button', { name: 'Send' }).click();
    await discord.getByText(text).waitFor();
    await discord.close();
  }

  test('a lead with a channel, a message out, a reply in, live', { timeout: TEST_TIMEOUT }, async () => {
    const { context } = app;
    await page.getByRole('link', { name: 'Create a company' }).click();
    await signUp(page, { email: 'grace@example.com', company: 'Compilers Inc' });
    await page.getByText('No open leads').waitFor();
    await connectDiscord(page, context);

    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('button', { name: 'New lead' }).click();
    const dialog = page.getByRole('dialog', { name: 'New lead' });
    // A 422 lands beside the field it names.
    await dialog.getByLabel('Name', { exact: true }).fill('Ada Lovelace');
    await dialog.getByLabel('Email').fill('not an email');
    await dialog.getByRole('button', { name: 'Add lead' }).click();
    await dialog.getByRole('alert').filter({ hasText: /email/i }).waitFor();
    assert.equal(await dialog.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    await dialog.getByLabel('Email').fill('ada@example.com');
    // Sandbox mode: the lead joins the simulated server, which fills in her Discord user id.
    await dialog.getByLabel('Add a member (username)').fill('ada.lovelace');
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await page.waitForFunction(() => /^[0-9]+$/.test(document.querySelector('dialog input[inputmode="numeric"]')?.value ?? ''));
    await dialog.getByRole('button', { name: 'Add lead' }).click();
    await page.waitForURL(/\/leads\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 2 }).first().waitFor();
    await page.locator('.live-indicator[data-state="live"]').waitFor();

    // No channel yet: the composer says why it cannot send.
    await page.getByText('No Discord channel yet: create one in the details panel').first().waitFor();
    assert.equal(await page.getByLabel('Message', { exact: true }).isDisabled(), true);
    await side().getByRole('button', { name: 'Create channel' }).click();
    const state = side().locator('[data-field="channel-state"]');
    await state.filter({ hasText: /#\S+/ }).waitFor();
    channelName = (await state.textContent()).match(/#(\S+)/)[1];
    await side().getByText(/Waiting for the lead to join/).waitFor();

    // From here on the page must not reload: everything below arrives on the event stream.
    await page.evaluate(() => {
      window.sameDocument = true;
    });

    const composer = page.getByLabel('Message', { exact: true });
    await composer.fill('Hello Ada,');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('how can we help?');
    assert.equal(await composer.inputValue(), 'Hello Ada,\nhow can we help?');
    await page.getByText('27 / 2000').waitFor();
    await composer.press('Enter');
    const outbound = messages().locator('[data-direction="outbound"]');
    await outbound.filter({ hasText: 'how can we help?' }).waitFor();
    await outbound.locator('[data-field="state"]').filter({ hasText: /^sent$/ }).waitFor();
    assert.match(await outbound.first().textContent(), /You/);
    assert.equal(await composer.inputValue(), '', 'the sent draft is cleared');

    // The lead replies in Discord: the simulator's chat page, in another tab.
    await replyInDiscord('Hi! A question about my order, please.');

    const inbound = messages().locator('[data-direction="inbound"]');
    await inbound.filter({ hasText: 'Hi! A question about my order, please.' }).waitFor();
    assert.match(await inbound.first().textContent(), /Ada Lovelace/, 'the lead by name');
    // Her first message marks her as joined (a lead.updated event).
    await side().getByText('The lead has joined.').waitFor();
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'the page did not reload');
    assert.equal(await messages().locator('.message').count(), 2);
    await messages().getByRole('heading', { name: 'Today' }).waitFor();
    assert.deepEqual(app.offHost, [], 'requests to hosts other than 127.0.0.1');
  });

  test('the lead has a URL: after a reload the conversation and its live updates come back', { timeout: TEST_TIMEOUT }, async () => {
    const url = page.url();
    await page.reload();
    assert.equal(page.url(), url);
    await messages().getByText('Hi! A question about my order, please.').waitFor();
    await page.locator('.live-indicator[data-state="live"]').waitFor();
    assert.equal(await messages().locator('.message').count(), 2);

    await replyInDiscord('Still there?');
    await messages().getByText('Still there?').waitFor();
    assert.equal(await messages().locator('.message').count(), 3);
  });

  test('a reply to another lead: it moves to the top, unread, until opened', { timeout: TEST_TIMEOUT }, async () => {
    const adaUrl = page.url();
    const adaId = adaUrl.split('/leads/')[1];
    // A second lead, picked from the sandbox server's members.
    await page.getByRole('button', { name: 'New lead' }).click();
    const dialog = page.getByRole('dialog', { name: 'New lead' });
    await dialog.getByLabel('Name', { exact: true }).fill('Charles Babbage');
    await dialog.getByLabel('Add a member (username)').fill('charles.b');
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await page.waitForFunction(() => /^[0-9]+$/.test(document.querySelector('dialog input[inputmode="numeric"]')?.value ?? ''));
    await dialog.getByRole('button', { name: 'Add lead' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/leads/') && !url.pathname.endsWith(adaId));
    await page.getByRole('heading', { name: 'Charles Babbage', level: 2 }).first().waitFor();
    const rows = page.getByRole('list', { name: 'open leads' }).locator('.lead-row');
    await rows.first().filter({ hasText: 'Charles Babbage' }).waitFor();

    // Ada answers (the sandbox's "reply as the lead", through the simulated Discord client) while
    // Charles is open: her row moves to the top with the preview and one unread message.
    await page.evaluate(async (leadId) => {
      const response = await fetch(`/api/sandbox/leads/${leadId}/reply`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'Any news   about\nmy order?' }),
      });
      if (response.status !== 202) throw new Error(`reply: ${response.status} ${await response.text()}`);
    }, adaId);
    const ada = rows.filter({ hasText: 'Ada Lovelace' });
    await ada.locator('[data-field="unread"]').filter({ hasText: /^1$/ }).waitFor();
    assert.equal(await ada.locator('[data-field="preview"]').textContent(), 'Any news about my order?');
    await rows.first().filter({ hasText: 'Ada Lovelace' }).waitFor();

    // Opening her conversation reads it, for the whole team.
    await ada.getByRole('link').click();
    await messages().getByText('my order?').waitFor();
    await ada.locator('[data-field="unread"]').waitFor({ state: 'detached' });
    await page.waitForFunction(async (leadId) => {
      const lead = await (await fetch(`/api/leads/${leadId}`)).json();
      return lead.unreadCount === 0;
    }, adaId);
    assert.equal(page.url(), adaUrl);
  });

  test('status: resolve moves the lead to the Resolved tab', { timeout: TEST_TIMEOUT }, async () => {
    await side().getByRole('button', { name: 'Resolve' }).click();
    await side().locator('[data-field="lead-status"]').filter({ hasText: /^resolved$/ }).waitFor();
    await page.getByRole('list', { name: 'open leads' }).getByText('Ada Lovelace').waitFor({ state: 'detached' });
    await page.getByRole('group', { name: 'Status', exact: true }).getByRole('button', { name: 'Resolved' }).click();
    await page.getByRole('list', { name: 'resolved leads' }).getByText('Ada Lovelace').waitFor();
    await side().getByRole('button', { name: 'Reopen' }).click();
    await side().locator('[data-field="lead-status"]').filter({ hasText: /^open$/ }).waitFor();
  });

  test('at phone width one pane shows at a time, without sideways scrolling', { timeout: TEST_TIMEOUT }, async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await messages().getByText('my order?').waitFor();
    assert.equal(await page.getByRole('region', { name: 'Leads' }).isVisible(), false);
    const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.equal(await noSideways(), true, 'no horizontal scroll in the conversation');
    await page.getByRole('button', { name: 'Details' }).click();
    await side().getByRole('heading', { name: 'Discord channel' }).waitFor();
    assert.equal(await noSideways(), true, 'no horizontal scroll in the details');
    await side().getByRole('button', { name: '← Conversation' }).click();
    await page.getByRole('link', { name: 'Back to leads' }).click();
    await page.getByRole('group', { name: 'Status', exact: true }).getByRole('button', { name: 'Open' }).click();
    await page.getByRole('region', { name: 'Leads' }).getByText('Ada Lovelace').waitFor();
    assert.equal(await noSideways(), true, 'no horizontal scroll in the list');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('Operations shows the jobs and routing behind it', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('link', { name: 'Operations' }).click();
    await page.waitForURL(/\/operations\/jobs$/);
    await page.getByLabel('State').selectOption('done');
    await page.waitForURL(/\/operations\/jobs\?state=done$/);
    const jobs = page.getByRole('region', { name: 'done jobs' });
    await jobs.getByText('Make a lead’s Discord channel').first().waitFor();
    await page.getByRole('link', { name: 'Routing' }).click();
    await page.waitForURL(/\/operations\/routing$/);
    await page.locator('tr[data-decision="routed"]').first().waitFor();
  });
});
