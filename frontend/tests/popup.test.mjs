// End-to-end test of the OAuth popup flows (Settings → Integrations), in a real browser against
// the real API server in sandbox mode (its built-in Discord and GitHub simulators), which serves
// the app on its own origin; see harness.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ACTION_TIMEOUT, TEST_TIMEOUT, signUp, startApp } from './harness.mjs';

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
  /** The latest toast that says `text`. */
  const toast = (text) => page.getByRole('status', { name: 'Notifications' }).locator('.toast').filter({ hasText: text }).last();
  const waitForToast = (text) => toast(text).waitFor();

  test('sign up, then connect Discord through the popup', { timeout: TEST_TIMEOUT }, async () => {
    // Without a session the app sends us to log in; signing up is one link away.
    await page.waitForURL(/\/login$/);
    assert.equal(await page.getByRole('button', { name: 'Log out' }).isVisible(), false);
    await page.getByRole('link', { name: 'Create a company' }).click();
    await page.waitForURL(/\/signup$/);
    await signUp(page, { email: 'ada@example.com', company: 'Analytical Engines' });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/settings\/integrations$/);
    await waitForStatus('Discord', 'not connected');

    const popupOpened = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Connect Discord' }).click();
    const popup = await popupOpened;
    const popupClosed = popup.waitForEvent('close', { timeout: ACTION_TIMEOUT });
    await popup.getByLabel('Add to server').selectOption({ label: 'Acme Support' });
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await popupClosed; // The callback page posted its message and closed itself.

    await waitForToast('Discord connected');
    await waitForStatus('Discord', 'active');
    assert.match(await fieldText('Discord', 'detail'), /Acme Support/);
    assert.match(await toast('Discord connected').textContent(), /Acme Support/);
    assert.equal(await toast('Discord connected').getAttribute('data-via'), 'message');
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
    await waitForToast('access_denied');
    assert.match(await toast('access_denied').textContent(), /GitHub was not connected/);
    assert.equal(await toast('access_denied').getAttribute('data-kind'), 'error');
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

    await waitForToast('GitHub connected');
    await waitForStatus('GitHub', 'active');
    assert.match(await fieldText('GitHub', 'detail'), /Account: \S+/);
    assert.equal(await page.evaluate(() => window.droppedMessages), 1, 'the message was dropped');
    assert.equal(await toast('GitHub connected').getAttribute('data-via'), 'poll');
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

    await waitForToast('Beta Testers');
    assert.match(await toast('Beta Testers').textContent(), /Discord connected/);
    assert.equal(await toast('Beta Testers').getAttribute('data-via'), 'poll');
    await waitForStatus('Discord', 'active');
    assert.match(await fieldText('Discord', 'detail'), /Beta Testers/);
    // The app closes the popup it can no longer hear from.
    if (!popup.isClosed()) await popup.waitForEvent('close');
  });

  test('a blocked popup is explained; the session survives a reload', { timeout: TEST_TIMEOUT }, async () => {
    await page.evaluate(() => {
      window.open = () => null; // What a popup blocker does.
    });
    await page.getByRole('button', { name: 'Reconnect Discord' }).click();
    await waitForToast('blocked by your browser');
    assert.match(await toast('blocked by your browser').textContent(), /popup_blocked/);

    // The reload drops the in-memory bearer token: the HttpOnly session cookie signs us in again,
    // on the same page (every page has its URL).
    await page.reload();
    await page.getByText('Analytical Engines', { exact: true }).waitFor();
    assert.match(page.url(), /\/settings\/integrations$/);
    await waitForStatus('Discord', 'active');
    await waitForStatus('GitHub', 'active');
  });

  test('disconnect Discord', { timeout: TEST_TIMEOUT }, async () => {
    // The app says what disconnecting does and asks first (a modal dialog).
    await page.getByRole('button', { name: 'Disconnect Discord' }).click();
    const dialog = page.getByRole('dialog', { name: 'Disconnect Discord?' });
    assert.match(await dialog.textContent(), /bot leaves the server.*channels and their history stay in Discord/s);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await waitForStatus('Discord', 'active');
    await page.getByRole('button', { name: 'Disconnect Discord' }).click();
    await dialog.getByRole('button', { name: 'Disconnect Discord' }).click();
    await waitForToast('Discord disconnected');
    await waitForStatus('Discord', 'revoked');
    await page.getByRole('button', { name: 'Connect Discord' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Disconnect Discord' }).count(), 0);
  });

  test('log out, then log in again', { timeout: TEST_TIMEOUT }, async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    assert.equal(await integration('Discord').count(), 0);

    // Back to the settings page: after logging in the app returns there.
    await page.goto(`${app.appOrigin}/settings`);
    await page.waitForURL(/\/login\?next=%2Fsettings$/);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // The error is shown in the form, beside what caused it.
    await page.getByRole('alert').filter({ hasText: 'invalid_credentials' }).waitFor();

    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/settings\/integrations$/);
    await waitForStatus('Discord', 'revoked');
    await waitForStatus('GitHub', 'active');
    assert.deepEqual(app.offHost, [], 'requests to hosts other than 127.0.0.1');
  });
});
