// End-to-end test of the OAuth popup flows, in a real browser against the real API server in
// sandbox mode (its built-in Discord and GitHub simulators); see harness.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ACTION_TIMEOUT, TEST_TIMEOUT, startApp } from './harness.mjs';

describe('OAuth popup flows in the browser', { timeout: 5 * TEST_TIMEOUT }, () => {
  let app;
  let context;
  let page;

  before(
    async () => {
      app = await startApp('popup');
      ({ context, page } = app);
    },
    { timeout: TEST_TIMEOUT },
  );

  after(() => app?.close(), { timeout: TEST_TIMEOUT });

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
    // The app says what disconnecting does and asks first.
    const asked = new Promise((resolve) =>
      page.once('dialog', async (dialog) => {
        resolve(dialog.message());
        await dialog.accept();
      }),
    );
    await page.getByRole('button', { name: 'Disconnect Discord' }).click();
    assert.match(await asked, /bot leaves the server.*channels and their history stay in Discord/s);
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
    assert.deepEqual(app.offHost, [], 'requests to hosts other than 127.0.0.1');
  });
});
