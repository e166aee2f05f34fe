// A real third-party client in a real browser: event-source-polyfill (Yaffle's EventSource, which
// the reference's docs point to; applications use it to send an Authorization header, which a
// native EventSource cannot) in headless Chromium, against a durable hub.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../lib/browser.mjs';
import { publishOk } from '../lib/http.mjs';
import { scrape } from '../lib/prometheus.mjs';
import { makeTempDir, startStoreHub } from '../lib/store.mjs';
import { publisherToken, subscriberToken } from '../lib/tokens.mjs';

const POLYFILL = readFileSync(fileURLToPath(new URL('../node_modules/event-source-polyfill/src/eventsource.js', import.meta.url)));

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>event-source-polyfill</title>
<script src="/eventsource.js"></script></head><body>
<script>
window.received = [];
window.states = [];
window.subscribe = (url, token) => {
  const es = new EventSourcePolyfill(url, { headers: { Authorization: 'Bearer ' + token } });
  es.onopen = () => window.states.push('open');
  es.onerror = () => window.states.push('error');
  es.onmessage = (e) => window.received.push({ data: e.data, lastEventId: e.lastEventId });
};
</script></body></html>`;

describe('event-source-polyfill in chromium', () => {
  let pageServer;
  let pageOrigin;
  let hub;
  let browser;
  let store;

  before(async () => {
    pageServer = http.createServer((req, res) => {
      const script = req.url === '/eventsource.js';
      res.writeHead(200, { 'Content-Type': script ? 'text/javascript' : 'text/html; charset=utf-8' });
      res.end(script ? POLYFILL : PAGE);
    });
    await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
    store = makeTempDir('mercure-polyfill-');
    // write_timeout ends each event stream after 1.6-2 s: the polyfill reconnects by itself.
    hub = await startStoreHub(store.path, {
      env: { CORS_ALLOWED_ORIGINS: pageOrigin, WRITE_TIMEOUT: '2s', METRICS_ENABLED: '1' },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await hub?.stop();
    store?.remove();
    await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve()));
  });

  test('with an Authorization header it gets private updates, and after a reconnection the ones it missed', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${pageOrigin}/`);
      const topic = 'https://example.com/polyfill/books/1';
      await page.evaluate(([u, t]) => window.subscribe(u, t), [
        `${hub.hubUrl}?topic=${encodeURIComponent(topic)}`,
        await subscriberToken([topic]),
      ]);
      await page.waitForFunction(() => window.states.includes('open'), null, { timeout: 10_000 });
      const token = await publisherToken();
      // retry: 5 s between the end of a stream and the polyfill's next request.
      const first = await publishOk(hub, { topic, data: 'first', private: 'on', retry: '5000' }, { token });
      await page.waitForFunction(() => window.received.length >= 1, null, { timeout: 10_000 });

      // The hub ends the stream (write_timeout); these two are published while the page is away.
      await page.waitForFunction(() => window.states.includes('error'), null, { timeout: 10_000 });
      const missed = [];
      for (const data of ['second', 'third']) missed.push(await publishOk(hub, { topic, data, private: 'on' }, { token }));
      assert.equal((await scrape(hub)).value('mercure_subscribers_total'), 1, 'published before the page came back');

      await page.waitForFunction(() => window.received.length >= 3, null, { timeout: 10_000 });
      assert.deepEqual(await page.evaluate(() => window.received), [
        { data: 'first', lastEventId: first },
        { data: 'second', lastEventId: missed[0] },
        { data: 'third', lastEventId: missed[1] },
      ]);
      const metrics = await scrape(hub);
      assert.equal(metrics.value('mercure_deliveries_total', { source: 'history' }), 2, 'replayed from ?lastEventId=');
    } finally {
      await context.close();
    }
  });
});
