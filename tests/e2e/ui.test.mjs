// The debugging UI in a real browser: Debian's headless chromium (driven by playwright-core)
// opens /.well-known/mercure/ui/ on a hub started with --ui --subscriptions, mints a token in
// the page, subscribes, publishes from the page and sees the events arrive, then lists the
// active subscriptions and finds its own. The page's CSP must not block anything of its own.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../lib/browser.mjs';
import { ARTIFACTS_DIR, startHub } from '../lib/hub.mjs';

const WAIT = { timeout: 10_000 };

describe('debugging UI in chromium', () => {
  let hub;
  let browser;

  before(async () => {
    hub = await startHub({ args: ['--ui', '--subscriptions'] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await hub?.stop();
  });

  test('mint a token, subscribe, publish from the page, see the events, list the subscription', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const problems = [];
    try {
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        // The refused subscription (401) and the refused publish (400) are provoked below.
        if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[01]/.test(m.text())) {
          problems.push(`console error: ${m.text()}`);
        }
      });
      page.on('requestfailed', (r) => {
        // Closing an EventSource aborts its request: expected.
        if (!r.url().includes('/.well-known/mercure?')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
      });

      await page.goto(`${hub.url}/.well-known/mercure/ui/`);
      await page.waitForSelector('body[data-ready="true"]', WAIT);
      assert.equal(await page.textContent('#hub-url'), hub.hubUrl);

      // Without a token (anonymous subscribers are off), the page says why it was refused.
      await page.fill('#subscribe-topics', 'https://example.com/ui-e2e/refused');
      await page.click('#subscribe');
      await page.waitForFunction(() => /refused: 401/.test(document.getElementById('subscribe-status').textContent), null, WAIT);

      // Mint a development token in the page (WebCrypto HS256, default key and claims).
      await page.fill('#claim-payload', '{"user": "https://example.com/users/ui-e2e"}');
      await page.click('#mint-token');
      await page.waitForSelector('#mint-status[data-kind="ok"]', WAIT);
      const claims = JSON.parse(await page.textContent('#token-claims'));
      assert.deepEqual(claims.header, { alg: 'HS256', typ: 'JWT' });
      assert.deepEqual(claims.payload.mercure, {
        publish: ['*'],
        subscribe: ['*'],
        payload: { user: 'https://example.com/users/ui-e2e' },
      });
      assert.match(await page.textContent('#token-status'), /signature matches/);

      // Subscribe to a URI template.
      const selector = `https://example.com/ui-e2e/${Date.now()}/{id}`;
      await page.fill('#subscribe-topics', selector);
      await page.click('#subscribe');
      await page.waitForSelector('#subscribe-status[data-kind="ok"]', WAIT);

      // Publish a public update with a type (the page listens for the types it publishes).
      const topic = selector.replace('{id}', '42');
      const data = `{"title": "The Left Hand of Darkness", "nonce": "${Math.random().toString(36).slice(2)}"}`;
      await page.fill('#publish-topics', topic);
      await page.fill('#publish-data', data);
      await page.fill('#publish-type', 'book-updated');
      await page.click('#publish');
      await page.waitForSelector('#publish-result[data-kind="ok"]', WAIT);
      const id = await page.getAttribute('#publish-result', 'data-id');
      assert.match(id, /^urn:uuid:[0-9a-f-]{36}$/);

      await page.waitForFunction(
        (d) => [...document.querySelectorAll('[data-testid="event-data"]')].some((e) => e.textContent === d),
        data,
        WAIT,
      );
      const first = page.locator('[data-testid="event"]').first();
      assert.equal(await first.getAttribute('data-id'), id);
      assert.equal(await first.getAttribute('data-type'), 'book-updated');

      // A private update with every field set.
      const privateData = 'line one\nline two (private)';
      await page.fill('#publish-data', privateData);
      await page.fill('#publish-type', '');
      await page.fill('#publish-id', `urn:example:ui-e2e:${Date.now()}`);
      await page.fill('#publish-retry', '2500');
      await page.check('#publish-private');
      const privateId = await page.inputValue('#publish-id');
      await page.click('#publish');
      await page.waitForFunction(
        (pid) => document.getElementById('publish-result').dataset.id === pid,
        privateId,
        WAIT,
      );
      await page.waitForFunction(
        (d) => [...document.querySelectorAll('[data-testid="event-data"]')].some((e) => e.textContent === d),
        privateData,
        WAIT,
      );
      assert.equal(await page.locator('[data-testid="event"]').first().getAttribute('data-id'), privateId);

      // A refused publish shows the hub's status and reason.
      await page.fill('#publish-id', '#not-allowed');
      await page.click('#publish');
      await page.waitForSelector('#publish-result[data-kind="error"]', WAIT);
      assert.match(await page.textContent('#publish-result'), /400/);

      // The active subscriptions list shows the page's own subscription.
      await page.click('#refresh-subscriptions');
      await page.waitForSelector('#subscriptions-status[data-kind="ok"]', WAIT);
      const own = page.locator('[data-testid="subscription"]', {
        has: page.locator('[data-testid="subscription-topic"]', { hasText: selector }),
      });
      await own.first().waitFor(WAIT);
      assert.equal(await own.count(), 1);
      assert.equal(await own.locator('[data-testid="subscription-topic"]').textContent(), selector);
      assert.match(await own.locator('[data-testid="subscription-subscriber"]').textContent(), /\S/);
      assert.equal(
        await own.locator('[data-testid="subscription-payload"]').textContent(),
        '{"user":"https://example.com/users/ui-e2e"}',
      );

      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'ui.png'), fullPage: true });

      // Kept live by the subscription events: closing the page's subscription removes its row.
      await page.check('#live-subscriptions');
      await page.waitForFunction(() => /· live ·/.test(document.getElementById('subscriptions-status').textContent), null, WAIT);
      await page.click('#unsubscribe');
      await own.first().waitFor({ state: 'detached', ...WAIT });

      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('under a Caddyfile\'s handle_path /hub/*: the page publishes, subscribes and follows the subscriptions there', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mercure-ui-prefix-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'Caddyfile'), ':0 {\n\thandle_path /hub/* {\n\t\tmercure {\n\t\t\tui\n\t\t\tsubscriptions\n\t\t}\n\t}\n}\n');
    const prefixed = await startHub({ args: ['--config', join(dir, 'Caddyfile')] });
    t.after(() => prefixed.stop());
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${prefixed.url}/hub/.well-known/mercure/ui/`);
    await page.waitForSelector('body[data-ready="true"]', WAIT);
    assert.equal(await page.textContent('#hub-url'), `${prefixed.url}/hub/.well-known/mercure`);
    await page.click('#mint-token');
    await page.waitForSelector('#mint-status[data-kind="ok"]', WAIT);

    const topic = `https://example.com/ui-prefix/${Date.now()}`;
    await page.fill('#subscribe-topics', topic);
    await page.click('#subscribe');
    await page.waitForSelector('#subscribe-status[data-kind="ok"]', WAIT);
    await page.fill('#publish-topics', topic);
    await page.fill('#publish-data', 'through /hub');
    await page.click('#publish');
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="event-data"]')].some((e) => e.textContent === 'through /hub'),
      null,
      WAIT,
    );
    // The live list follows subscription events, whose topics are the hub's own paths.
    await page.check('#live-subscriptions');
    await page.waitForFunction(() => /· live ·/.test(document.getElementById('subscriptions-status').textContent), null, WAIT);
    const own = page.locator('[data-testid="subscription"]', {
      has: page.locator('[data-testid="subscription-topic"]', { hasText: topic }),
    });
    await own.first().waitFor(WAIT);
    await page.click('#unsubscribe');
    await own.first().waitFor({ state: 'detached', ...WAIT });
  });
});
