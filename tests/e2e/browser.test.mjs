// A real browser: Debian's headless chromium (driven by playwright-core) opens a native
// EventSource from a page served by another origin, anonymously and with the auth cookie.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../lib/browser.mjs';
import { ARTIFACTS_DIR, startHub } from '../lib/hub.mjs';
import { HUB_PATH, formEncode, publishOk, withDeadline } from '../lib/http.mjs';
import { httpsRequest, makeCerts } from '../lib/tls.mjs';
import { publisherToken, subscriberToken } from '../lib/tokens.mjs';


const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Mercure e2e</title>
<style>body{font:14px sans-serif;margin:20px} li{margin:4px 0} .private{color:#a00}</style></head>
<body><h1>Mercure hub e2e</h1><p id="status">idle</p><ul id="log"></ul>
<script>
window.received = [];
window.states = [];
window.subscribe = (url, withCredentials) => {
  const es = new EventSource(url, { withCredentials });
  window.es = es;
  es.onopen = () => { window.states.push('open'); document.getElementById('status').textContent = 'open: ' + url; };
  es.onerror = () => { window.states.push('error:' + es.readyState); };
  const show = (e) => {
    window.received.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
    const li = document.createElement('li');
    li.textContent = e.type + ' [' + e.lastEventId + '] ' + e.data;
    if (e.data.includes('private')) li.className = 'private';
    document.getElementById('log').appendChild(li);
  };
  es.onmessage = show;
  es.addEventListener('book-updated', show);
};
// Many EventSources at once: window.streams[i] follows urls[i] (opens, errors, messages).
window.streams = [];
window.subscribeMany = (urls) => {
  window.streams = urls.map((url) => {
    const s = { url, opened: 0, errors: 0, received: [] };
    const es = new EventSource(url);
    s.es = es;
    es.onopen = () => { s.opened++; };
    es.onerror = () => { s.errors++; };
    es.onmessage = (e) => { s.received.push({ data: e.data, lastEventId: e.lastEventId }); };
    return s;
  });
};
</script></body></html>`;

/** Serves PAGE on a loopback port: the page's origin differs from the hub's. */
async function servePage() {
  const pageServer = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  return { pageServer, pageOrigin: `http://127.0.0.1:${pageServer.address().port}` };
}

describe('chromium native EventSource', () => {
  let pageServer;
  let pageOrigin;
  let hub;
  let browser;

  before(async () => {
    ({ pageServer, pageOrigin } = await servePage());
    hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', CORS_ALLOWED_ORIGINS: pageOrigin } });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await hub?.stop();
    await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve()));
  });

  async function openPage(context) {
    const page = await context.newPage();
    await page.goto(`${pageOrigin}/`);
    return page;
  }

  test('anonymous cross-origin subscription receives a published update', async () => {
    const context = await browser.newContext();
    try {
      const page = await openPage(context);
      const topic = 'https://example.com/browser/books/1';
      const url = `${hub.hubUrl}?topic=${encodeURIComponent('https://example.com/browser/books/{id}')}`;
      await page.evaluate(([u]) => window.subscribe(u, false), [url]);
      await page.waitForFunction(() => window.states.includes('open'), null, { timeout: 10_000 });
      const id = await publishOk(hub, { topic, type: 'book-updated', data: '{"title":"Dune"}' }, { token: await publisherToken() });
      await page.waitForFunction(() => window.received.length >= 1, null, { timeout: 10_000 });
      const received = await page.evaluate(() => window.received);
      assert.deepEqual(received, [{ type: 'book-updated', data: '{"title":"Dune"}', lastEventId: id }]);
    } finally {
      await context.close();
    }
  });

  test('with the auth cookie and withCredentials, a private update arrives (and not without)', async () => {
    const context = await browser.newContext();
    try {
      const topic = 'https://example.com/browser/private';
      const token = await subscriberToken([topic]);
      await context.addCookies([{ name: 'mercureAuthorization', value: token, url: hub.url, httpOnly: true, sameSite: 'Lax' }]);
      const page = await openPage(context);
      const url = `${hub.hubUrl}?topic=${encodeURIComponent(topic)}`;
      await page.evaluate(([u]) => window.subscribe(u, true), [url]);
      await page.waitForFunction(() => window.states.includes('open'), null, { timeout: 10_000 });

      // A second page of another context (no cookie) subscribes anonymously to the same topic.
      const anonContext = await browser.newContext();
      try {
        const anonPage = await openPage(anonContext);
        await anonPage.evaluate(([u]) => window.subscribe(u, false), [url]);
        await anonPage.waitForFunction(() => window.states.includes('open'), null, { timeout: 10_000 });

        const pub = await publisherToken();
        const privateId = await publishOk(hub, { topic, data: 'private: for cookie holders', private: 'on' }, { token: pub });
        await publishOk(hub, { topic, data: 'public: for everyone' }, { token: pub });
        await page.waitForFunction(() => window.received.length >= 2, null, { timeout: 10_000 });
        await anonPage.waitForFunction(() => window.received.length >= 1, null, { timeout: 10_000 });
        const got = await page.evaluate(() => window.received);
        assert.deepEqual(got.map((e) => e.data), ['private: for cookie holders', 'public: for everyone']);
        assert.equal(got[0].lastEventId, privateId);
        const anonGot = await anonPage.evaluate(() => window.received);
        assert.deepEqual(anonGot.map((e) => e.data), ['public: for everyone']);
      } finally {
        await anonContext.close();
      }

      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'e2e-chromium-eventsource.png') });
    } finally {
      await context.close();
    }
  });
});

describe('chromium native EventSource over HTTPS (CERT_FILE/KEY_FILE)', () => {
  let pageServer;
  let pageOrigin;
  let certs;
  let hub;
  let browser;

  before(async () => {
    ({ pageServer, pageOrigin } = await servePage());
    certs = makeCerts();
    hub = await startHub({
      env: { ALLOW_ANONYMOUS: '1', CORS_ALLOWED_ORIGINS: pageOrigin, CERT_FILE: certs.ec.cert, KEY_FILE: certs.ec.key, WRITE_TIMEOUT: '2s' },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await hub?.stop();
    certs?.remove();
    await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve()));
  });

  test("Chromium's TLS stack streams updates, and reconnects over TLS when the hub ends the stream", async () => {
    assert.equal(hub.tls, true);
    // The certificate is self-signed: the context accepts it (what a trusted one gives by default).
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      await page.goto(`${pageOrigin}/`);
      const topic = 'https://example.com/browser/tls';
      await page.evaluate(([u]) => window.subscribe(u, false), [`${hub.hubUrl}?topic=${encodeURIComponent(topic)}`]);
      await page.waitForFunction(() => window.states.includes('open'), null, { timeout: 10_000 });
      const token = await publisherToken();
      const publish = async (data) => {
        const res = await httpsRequest(hub, {
          ca: certs.ec.ca,
          method: 'POST',
          path: HUB_PATH,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: formEncode({ topic, data }),
        });
        assert.equal(res.status, 200, res.text);
        return res.text;
      };
      const first = await publish('over TLS, 1');
      await page.waitForFunction(() => window.received.length >= 1, null, { timeout: 10_000 });
      // WRITE_TIMEOUT=2s ends the stream (jittered 80-100%): the browser requests the stream
      // again (a new HTTP/2 stream, or a new TLS connection over HTTP/1.1) and goes on receiving.
      await page.waitForFunction(() => window.states.filter((s) => s === 'open').length >= 2, null, { timeout: 10_000 });
      const second = await publish('over TLS, 2');
      await page.waitForFunction(() => window.received.length >= 2, null, { timeout: 10_000 });
      const got = await page.evaluate(() => window.received);
      assert.deepEqual(
        got.map((e) => [e.lastEventId, e.data]),
        [
          [first, 'over TLS, 1'],
          [second, 'over TLS, 2'],
        ],
      );
    } finally {
      await context.close();
    }
  });

  test('ten EventSources of one page all open at once over HTTP/2 (no 6-per-origin limit), each gets its own topic\'s update', async (t) => {
    // A hub of its own, without WRITE_TIMEOUT: over HTTP/1.1 the streams the hub ends would free
    // connections for the EventSources queued behind Chromium's 6 per origin, hiding the limit.
    const own = await startHub({
      env: { ALLOW_ANONYMOUS: '1', CORS_ALLOWED_ORIGINS: pageOrigin, CERT_FILE: certs.ec.cert, KEY_FILE: certs.ec.key },
    });
    let context;
    t.after(async () => {
      await context?.close();
      await own.stop();
    });
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    // The protocol of every response from the hub, as Chromium's network stack saw it.
    const N = 10;
    const protocols = [];
    let allResponded;
    const responded = new Promise((resolve) => {
      allResponded = resolve;
    });
    const cdp = await context.newCDPSession(page);
    cdp.on('Network.responseReceived', (e) => {
      if (!e.response.url.startsWith(own.hubUrl)) return;
      protocols.push(e.response.protocol);
      if (protocols.length >= N) allResponded();
    });
    await cdp.send('Network.enable');
    await page.goto(`${pageOrigin}/`);

    const topics = Array.from({ length: N }, (_, i) => `https://example.com/browser/h2/${i}`);
    const urls = topics.map((topic) => `${own.hubUrl}?topic=${encodeURIComponent(topic)}`);
    await page.evaluate(([u]) => window.subscribeMany(u), [urls]);
    // EventSource.OPEN is 1; over HTTP/1.1 the last 4 would stay CONNECTING (0).
    await page
      .waitForFunction((n) => window.streams.length === n && window.streams.every((s) => s.es.readyState === 1), N, { timeout: 10_000 })
      .catch(async (e) => {
        const states = await page.evaluate(() => window.streams.map((s) => s.es.readyState));
        throw new Error(`not every EventSource opened: readyStates ${JSON.stringify(states)}, protocols ${JSON.stringify(protocols)}\n${e.message}`);
      });
    await withDeadline(responded, 5_000, 'a response event per EventSource', () => JSON.stringify(protocols));
    assert.ok(protocols.every((p) => p === 'h2'), `served over HTTP/2: ${JSON.stringify(protocols)}`);

    const token = await publisherToken();
    const ids = await Promise.all(
      topics.map(async (topic, i) => {
        const res = await httpsRequest(own, {
          ca: certs.ec.ca,
          method: 'POST',
          path: HUB_PATH,
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: formEncode({ topic, data: `for ${i}` }),
        });
        assert.equal(res.status, 200, res.text);
        return res.text;
      }),
    );
    await page.waitForFunction(() => window.streams.every((s) => s.received.length >= 1), null, { timeout: 10_000 });
    const got = await page.evaluate(() => window.streams.map((s) => ({ opened: s.opened, errors: s.errors, received: s.received })));
    assert.deepEqual(
      got,
      ids.map((id, i) => ({ opened: 1, errors: 0, received: [{ data: `for ${i}`, lastEventId: id }] })),
    );
  });
});
