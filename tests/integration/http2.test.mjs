// HTTP/2 (PROTOCOLS: h1, h2, h2c): the setting and its start-up errors; ALPN on a TLS listener;
// cleartext HTTP/2 with prior knowledge next to HTTP/1.1 on a plain one. Then, over both, what
// the hub serves over HTTP/1.1 served the same over HTTP/2 (publish, event streams, errors,
// HEAD, CORS preflight, history, private updates), many event streams multiplexed on one
// connection, a stream cancelled or stalled without touching the others, heartbeats, token
// expiry, shutdown and the body limit. Client: node:http2 (tests/lib/h2.mjs).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from '../lib/hub.mjs';
import { Closer, DEFAULT_TIMEOUT_MS, HUB_PATH, formEncode, publishOk, request, subscribeOk, withDeadline } from '../lib/http.mjs';
import { CONNECTION_SPECIFIC_HEADERS, H2Client, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } from '../lib/h2.mjs';
import { FRAME, RawH2 } from '../lib/h2_raw.mjs';
import { scrape, waitForMetrics } from '../lib/prometheus.mjs';
import { lmdbUrl, makeTempDir, runHubUntilExit, tempDir } from '../lib/store.mjs';
import { httpsRequest, makeCerts, tlsTunnel } from '../lib/tls.mjs';
import { nowSeconds, publisherToken, subscriberToken } from '../lib/tokens.mjs';

let certs;
before(() => {
  certs = makeCerts();
});
const closer = new Closer();
after(async () => {
  await closer.closeAll();
  certs?.remove();
});
const token = await publisherToken();
const ORIGIN = 'https://app.example';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** The two ways to speak HTTP/2 to the hub. */
const MODES = [
  { name: 'h2 over TLS (ALPN)', tls: true },
  { name: 'h2c (cleartext, prior knowledge)', tls: false },
];

/**
 * Starts a hub speaking HTTP/2 the `mode` way (TLS with the default PROTOCOLS, or plain with
 * PROTOCOLS='h1 h2c'), anonymous subscribers allowed. Returns {hub, h1, connect, closer, stop}:
 * `h1` is where http.mjs's HTTP/1.1 helpers go (a tlsTunnel, or the hub itself: same port);
 * `connect()` opens an H2Client, closed by `stop()`, which then stops the hub and asserts exit 0.
 */
async function startH2Hub(mode, { env = {}, ...rest } = {}) {
  const proto = mode.tls ? { CERT_FILE: certs.ec.cert, KEY_FILE: certs.ec.key } : { PROTOCOLS: 'h1 h2c' };
  const hub = await startHub({ ...rest, env: { ALLOW_ANONYMOUS: '1', ...proto, ...env } });
  closer.add(() => hub.kill());
  const clients = new Closer();
  const h1 = mode.tls ? clients.add(await tlsTunnel(hub, { ca: certs.ec.ca })) : hub;
  let stopped = null;
  return {
    hub,
    h1,
    closer: clients,
    connect: async (opts = {}) => clients.add(await H2Client.connect(hub, { ca: certs.ec.ca, ...opts })),
    stop() {
      stopped ??= (async () => {
        await clients.closeAll();
        const exit = await hub.stop();
        assert.equal(exit.code, 0, hub.output());
      })();
      return stopped;
    },
  };
}

/** A Closer whose items are closed after the test `t`. */
function perTest(t) {
  const c = new Closer();
  t.after(() => c.closeAll());
  return c;
}

function assertNoConnectionHeaders(res, what) {
  for (const h of CONNECTION_SPECIFIC_HEADERS) assert.equal(res.headers[h], undefined, `${what}: no ${h} header over HTTP/2`);
}

/** Resolves once `sub` has the event with this id; returns the events before it. */
async function eventsUntil(sub, id, opts = {}) {
  const marker = await sub.waitForEvent((e) => e.id === id, { what: `the event ${id}`, ...opts });
  return sub.events.slice(0, sub.events.indexOf(marker));
}

describe('the PROTOCOLS setting', () => {
  // h3 is left out: Caddy knows it (a hub may accept it with a warning and not serve it).
  test('an unknown protocol stops the hub: exit 2, one line naming the setting and the value', async (t) => {
    const dir = tempDir(t, 'mercure-h2-config-');
    const config = join(dir, 'Caddyfile');
    writeFileSync(config, 'mercure {\n\tprotocols h1 h4\n}\n');
    for (const [how, opts, named] of [
      ['PROTOCOLS', { env: { PROTOCOLS: 'h1 h4' } }, /PROTOCOLS/],
      ['PROTOCOLS, comma-separated', { env: { PROTOCOLS: 'h1,h4' } }, /PROTOCOLS/],
      ['PROTOCOLS=spdy alone', { env: { PROTOCOLS: 'spdy' } }, /PROTOCOLS/],
      ['--protocols', { args: ['--protocols', 'h1 h4'] }, /protocols/i],
      ['the protocols directive', { args: ['--config', config] }, /protocols/i],
    ]) {
      const res = await runHubUntilExit({ ...opts, env: { TRANSPORT_URL: 'local://', ...opts.env }, timeoutMs: 5_000 });
      const lines = res.stderr.trim().split('\n');
      assert.equal(res.ready, false, `${how}: the hub started:\n${res.stderr}`);
      assert.equal(res.code, 2, `${how}: ${res.stderr}`);
      assert.equal(lines.length, 1, `${how}: one line: ${res.stderr}`);
      assert.match(lines[0], named, how);
      assert.match(lines[0], how === 'PROTOCOLS=spdy alone' ? /spdy/ : /h4/, `${how}: the bad value is named`);
    }
  });

  test('PROTOCOLS (spaces or commas), --protocols and the protocols directive turn h2c on; HTTP/1.1 stays on the same port', async (t) => {
    const dir = tempDir(t, 'mercure-h2-config-');
    const config = join(dir, 'Caddyfile');
    writeFileSync(config, 'mercure {\n\tanonymous\n\tprotocols h1 h2c\n}\n');
    for (const [how, opts] of [
      ['PROTOCOLS=h1 h2c', { env: { PROTOCOLS: 'h1 h2c' } }],
      ['PROTOCOLS=h1,h2c', { env: { PROTOCOLS: 'h1,h2c' } }],
      ['PROTOCOLS=h2c,h1,h2', { env: { PROTOCOLS: 'h2c,h1,h2' } }],
      ['--protocols h1,h2c', { args: ['--protocols', 'h1,h2c'] }],
      ['protocols h1 h2c in the file', { args: ['--config', config] }],
    ]) {
      const hub = await startHub(opts);
      const client = new Closer();
      try {
        const h2 = client.add(await H2Client.connect(hub));
        const res = await h2.request({ path: '/healthz' });
        assert.equal(res.status, 200, how);
        assert.deepEqual(JSON.parse(res.text), { status: 'ok' }, how);
        const plain = await request(hub, { path: '/healthz' });
        assert.equal(plain.status, 200, `${how}: HTTP/1.1 on the same port`);
        assert.equal(plain.head.httpVersion, '1.1');
      } finally {
        await client.closeAll();
        await hub.stop();
      }
    }
  });

  test('by default (h1 h2) a plain listener does not answer HTTP/2 with prior knowledge; HTTP/1.1 is served', async (t) => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    t.after(() => hub.stop());
    await assert.rejects(H2Client.connect(hub, { timeoutMs: 3_000 }), 'no HTTP/2 session without h2c');
    assert.equal((await request(hub, { path: '/healthz' })).status, 200);
  });

  test('TLS, default protocols: ALPN gives h2 to an HTTP/2 client and http/1.1 to an HTTP/1.1 client, on one port', async (t) => {
    const h = await startH2Hub(MODES[0]);
    t.after(() => h.stop());
    const h2 = await h.connect();
    assert.equal(h2.alpnProtocol, 'h2');
    assert.equal((await h2.request({ path: '/healthz' })).status, 200);
    // node:https speaks HTTP/1.1: offering only http/1.1, or no ALPN at all, it is served.
    for (const [alpn, chosen] of [[['http/1.1'], 'http/1.1'], [undefined, false]]) {
      const res = await httpsRequest(h.hub, { ca: certs.ec.ca, path: '/healthz', ...(alpn ? { ALPNProtocols: alpn } : {}) });
      assert.deepEqual([res.status, res.alpn], [200, chosen], JSON.stringify(alpn));
    }
  });

  test('TLS with PROTOCOLS=h1: an HTTP/2-only client gets no HTTP/2, HTTP/1.1 clients are served', async (t) => {
    const h = await startH2Hub(MODES[0], { env: { PROTOCOLS: 'h1' } });
    t.after(() => h.stop());
    await assert.rejects(H2Client.connect(h.hub, { ca: certs.ec.ca, timeoutMs: 3_000 }));
    const res = await httpsRequest(h.hub, { ca: certs.ec.ca, path: '/healthz', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.deepEqual([res.status, res.alpn], [200, 'http/1.1']);
  });
});

for (const mode of MODES) {
  describe(`${mode.name}: one hub, served as over HTTP/1.1`, () => {
    const f = {};
    before(async () => {
      f.dir = makeTempDir('mercure-h2-');
      Object.assign(
        f,
        await startH2Hub(mode, {
          workers: 2,
          env: { TRANSPORT_URL: lmdbUrl(f.dir.path), CORS_ALLOWED_ORIGINS: ORIGIN, METRICS_ENABLED: '1', DISPATCH_TIMEOUT: '30s' },
        }),
      );
    });
    after(async () => {
      try {
        await f.stop?.();
      } finally {
        f.dir?.remove();
      }
    });

    test('the session is HTTP/2: SETTINGS from the hub, /healthz 200 with its JSON', async () => {
      const h2 = await f.connect();
      if (mode.tls) assert.equal(h2.alpnProtocol, 'h2');
      assert.ok(h2.remoteSettings, 'the hub sent its SETTINGS');
      const res = await h2.request({ path: '/healthz' });
      assert.equal(res.status, 200);
      assert.equal(res.ended, true);
      assert.deepEqual(JSON.parse(res.text), { status: 'ok' });
      assertNoConnectionHeaders(res, '/healthz');
    });

    test('publish over h2: 200 text/plain with the id; an HTTP/1.1 subscriber receives it', async (t) => {
      const c = perTest(t);
      const topic = `https://example.com/h2/pub/${randomUUID()}`;
      const sub = c.add(await subscribeOk(f.h1, [topic]));
      const h2 = await f.connect();
      const res = await h2.publish({ topic, type: 'greeting', data: 'over h2\nsecond line' }, { token });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.ended, true);
      assert.match(res.headers['content-type'], /^text\/plain\b/);
      assert.match(res.text, /^urn:uuid:[0-9a-f-]{36}$/);
      assertNoConnectionHeaders(res, 'publish');
      const [ev] = await sub.waitForEvents(1);
      assert.deepEqual([ev.id, ev.type, ev.data], [res.text, 'greeting', 'over h2\nsecond line']);
    });

    test('subscribe over h2: 200 text/event-stream, a ":" comment first; updates published over HTTP/1.1 arrive as id/data events', async (t) => {
      const c = perTest(t);
      const topic = `https://example.com/h2/sub/${randomUUID()}`;
      const h2 = await f.connect();
      const sub = c.add(await h2.subscribeOk([topic]));
      assert.equal(sub.status, 200);
      assert.match(sub.headers['content-type'], /^text\/event-stream\b/);
      assertNoConnectionHeaders(sub, 'event stream');
      await sub.waitFor((r) => r.text.includes('\n'), { what: 'the first line of the stream' });
      assert.ok(sub.text.startsWith(':'), `the stream starts with a comment: ${JSON.stringify(sub.text.slice(0, 80))}`);
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await publishOk(f.h1, { topic, id: `urn:h2:${randomUUID()}`, data: `n${i}` }, { token }));
      const events = await sub.waitForEvents(3);
      assert.deepEqual(events.map((e) => [e.id, e.data]), ids.map((id, i) => [id, `n${i}`]));
      assert.equal(sub.ended, false);
      const ev = events[0];
      assert.equal(ev.raw, `id: ${ids[0]}\ndata: n0\n\n`);
    });

    test('each request answers over h2 the status (and content type) it gets over HTTP/1.1', async () => {
      const narrow = await publisherToken(['https://example.com/allowed/{id}']);
      const body = (fields) => formEncode(fields);
      const cases = [
        ['GET /healthz', { path: '/healthz' }, 200],
        ['POST without a token', { method: 'POST', path: HUB_PATH, headers: FORM, body: body({ topic: 'https://example.com/h2/e', data: 'x' }) }, 401],
        ['POST with an invalid token', { method: 'POST', path: HUB_PATH, headers: { ...FORM, authorization: 'Bearer garbage' }, body: body({ topic: 'https://example.com/h2/e', data: 'x' }) }, 401],
        ['POST outside the publish claim', { method: 'POST', path: HUB_PATH, headers: { ...FORM, authorization: `Bearer ${narrow}` }, body: body({ topic: 'https://example.com/denied', data: 'x' }) }, 403],
        ['POST without a topic', { method: 'POST', path: HUB_PATH, headers: { ...FORM, authorization: `Bearer ${token}` }, body: body({ data: 'x' }) }, 400],
        ['GET the hub without a topic', { path: HUB_PATH }, 400],
        ['GET with an invalid subscriber token', { path: `${HUB_PATH}?topic=x`, headers: { authorization: 'Bearer not-a-token' } }, 401],
        ['GET an unknown path', { path: '/nope' }, 404],
        ['HEAD without a topic', { method: 'HEAD', path: HUB_PATH }, 400],
        ['PUT on the hub', { method: 'PUT', path: HUB_PATH, headers: FORM, body: 'topic=x' }, undefined],
        ['a plain OPTIONS', { method: 'OPTIONS', path: HUB_PATH }, undefined],
      ];
      const h2 = await f.connect();
      const problems = [];
      for (const [name, req, expected] of cases) {
        const one = await request(f.h1, req);
        const two = await h2.request(req);
        const bad = [
          expected !== undefined && one.status !== expected && `HTTP/1.1 gave ${one.status}, not ${expected} (test setup)`,
          two.status !== one.status && `h2 gave ${two.status}, HTTP/1.1 ${one.status}`,
          two.headers['content-type'] !== one.headers['content-type'] && `content-type ${two.headers['content-type']} vs ${one.headers['content-type']}`,
          !two.ended && `the h2 response did not end with END_STREAM (rstCode ${two.rstCode})`,
          ...CONNECTION_SPECIFIC_HEADERS.filter((h) => two.headers[h] !== undefined).map((h) => `${h} header over h2`),
        ].filter(Boolean);
        if (bad.length) problems.push(`${name}: ${bad.join('; ')}`);
      }
      assert.deepEqual(problems, []);
      assert.equal(h2.closed, false, 'error responses do not close the HTTP/2 connection');
      assert.equal((await h2.request({ path: '/healthz' })).status, 200);
    });

    test('HEAD on the hub: the stream head, no body, END_STREAM; a CORS preflight and a cross-origin stream get the CORS headers', async (t) => {
      const c = perTest(t);
      const h2 = await f.connect();
      const topic = `https://example.com/h2/head/${randomUUID()}`;
      const head = await h2.request({ method: 'HEAD', path: `${HUB_PATH}?topic=${encodeURIComponent(topic)}` });
      assert.equal(head.status, 200);
      assert.match(head.headers['content-type'], /^text\/event-stream\b/);
      assert.equal(head.body.length, 0);
      assert.equal(head.ended, true, 'the HEAD response ends');
      const pre = await h2.request({
        method: 'OPTIONS',
        path: `${HUB_PATH}?topic=${encodeURIComponent(topic)}`,
        headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, last-event-id' },
      });
      assert.ok(pre.status === 200 || pre.status === 204, `preflight ${pre.status}`);
      assert.equal(pre.headers['access-control-allow-origin'], ORIGIN);
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      const allowed = (pre.headers['access-control-allow-headers'] || '').toLowerCase();
      for (const h of ['authorization', 'last-event-id']) assert.ok(allowed.includes(h), `allow-headers has ${h}: ${allowed}`);
      const sub = c.add(await h2.subscribeOk([topic], { headers: { origin: ORIGIN } }));
      assert.equal(sub.headers['access-control-allow-origin'], ORIGIN);
      assert.equal(sub.headers['access-control-allow-credentials'], 'true');
    });

    test('private updates over h2: only the stream whose token claims the topic gets them (three tokens, one connection)', async (t) => {
      const c = perTest(t);
      const topic = `https://example.com/h2/private/${randomUUID()}`;
      const h2 = await f.connect();
      const allowed = c.add(await h2.subscribeOk([topic], { token: await subscriberToken([topic]) }));
      const other = c.add(await h2.subscribeOk([topic], { token: await subscriberToken(['https://example.com/h2/other']) }));
      const anonymous = c.add(await h2.subscribeOk([topic]));
      const secret = await h2.publishOk({ topic, data: 'secret', private: 'on' }, { token });
      const open = await h2.publishOk({ topic, data: 'public' }, { token });
      assert.deepEqual((await allowed.waitForEvents(2)).map((e) => [e.id, e.data]), [[secret, 'secret'], [open, 'public']]);
      assert.deepEqual((await eventsUntil(other, open)).map((e) => e.data), [], 'a claim for another topic sees no private update');
      assert.deepEqual((await eventsUntil(anonymous, open)).map((e) => e.data), [], 'an anonymous stream sees no private update');
    });

    test('Last-Event-ID over h2: the last-event-id response header, the events that followed, then live ones', async (t) => {
      const c = perTest(t);
      const topic = `https://example.com/h2/history/${randomUUID()}`;
      const h2 = await f.connect();
      const ids = [];
      for (let i = 1; i <= 3; i++) ids.push(await h2.publishOk({ topic, id: `urn:h2:${randomUUID()}`, data: `h${i}` }, { token }));
      const sub = c.add(await h2.subscribeOk([topic], { headers: { 'last-event-id': ids[0] } }));
      assert.equal(sub.headers['last-event-id'], ids[0]);
      ids.push(await publishOk(f.h1, { topic, data: 'live' }, { token }));
      const events = await sub.waitForEvents(3);
      assert.deepEqual(events.map((e) => [e.id, e.data]), [[ids[1], 'h2'], [ids[2], 'h3'], [ids[3], 'live']]);
      const unknown = c.add(await h2.subscribeOk([topic], { headers: { 'last-event-id': `urn:h2:unknown:${randomUUID()}` } }));
      assert.equal(unknown.headers['last-event-id'], 'earliest');
    });

    test('24 event streams on one h2 connection, one topic each, each gets its own updates only (published on the same connection)', async (t) => {
      const c = perTest(t);
      const N = 24;
      const run = randomUUID();
      const marker = `https://example.com/h2/many/${run}/marker`;
      const topics = Array.from({ length: N }, (_, i) => `https://example.com/h2/many/${run}/${i}`);
      const h2 = await f.connect();
      const subs = await Promise.all(topics.map((topic) => h2.subscribeOk([topic, marker]).then((s) => c.add(s))));
      assert.ok(subs.every((s) => s.status === 200));
      const ids = await Promise.all(topics.map((topic, i) => h2.publishOk({ topic, data: `for ${i}` }, { token })));
      // Two rounds, so each stream carries updates after others were delivered on the connection.
      const ids2 = await Promise.all(topics.map((topic, i) => h2.publishOk({ topic, data: `again ${i}` }, { token })));
      const end = await h2.publishOk({ topic: marker, data: 'end' }, { token });
      const problems = [];
      for (const [i, s] of subs.entries()) {
        const got = (await eventsUntil(s, end, { timeoutMs: 10_000 })).map((e) => `${e.id} ${e.data}`);
        const want = [`${ids[i]} for ${i}`, `${ids2[i]} again ${i}`];
        if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`stream ${i}: ${JSON.stringify(got)}`);
      }
      assert.deepEqual(problems, []);
      assert.equal(h2.closed, false);
      assert.equal(h2.goaway, null);
    });

    test('updates many times the 64 KiB flow-control window, published over h2, arrive intact over h2', async (t) => {
      const c = perTest(t);
      const topic = `https://example.com/h2/big/${randomUUID()}`;
      const h2 = await f.connect();
      const sub = c.add(await h2.subscribeOk([topic]));
      const sent = [];
      for (const kib of [100, 300, 700]) {
        const data = randomBytes((kib * 1024 * 3) / 4).toString('base64url');
        sent.push({ id: await h2.publishOk({ topic, data }, { token, timeoutMs: 10_000 }), data });
      }
      const events = await sub.waitForEvents(sent.length, { timeoutMs: 10_000 });
      assert.deepEqual(events.map((e) => e.id), sent.map((s) => s.id));
      for (const [i, s] of sent.entries()) assert.ok(events[i].data === s.data, `update ${i} (${s.data.length} bytes) intact`);
    });

    test('a stream that stops reading (its window full) does not hold up the other streams of its connection; it gets everything once it reads again', async (t) => {
      const c = perTest(t);
      const topic = `https://example.com/h2/stall/${randomUUID()}`;
      const h2 = await f.connect();
      const stalled = c.add(await h2.subscribeOk([topic]));
      const healthy = c.add(await h2.subscribeOk([topic]));
      stalled.stream.pause(); // node:http2 stops sending WINDOW_UPDATE for it: the hub must stop sending on it
      const sent = [];
      for (let i = 0; i < 32; i++) {
        const data = randomBytes(48 * 1024).toString('base64url'); // 64 KiB: 2 MiB in all, 32 windows
        sent.push({ id: await publishOk(f.h1, { topic, data }, { token }), data });
      }
      const got = await healthy.waitForEvents(sent.length, { timeoutMs: 10_000 });
      assert.deepEqual(got.map((e) => e.id), sent.map((s) => s.id));
      assert.equal(stalled.ended, false);
      stalled.stream.resume();
      const late = await stalled.waitForEvents(sent.length, { timeoutMs: 10_000 });
      assert.deepEqual(late.map((e) => e.id), sent.map((s) => s.id));
      assert.ok(sent.every((s, i) => late[i].data === s.data), 'intact');
    });
  });

  describe(`${mode.name}: stream life`, () => {
    test('heartbeats arrive as ":" comments on an idle h2 stream', async (t) => {
      const h = await startH2Hub(mode, { env: { HEARTBEAT_INTERVAL: '200ms' } });
      t.after(() => h.stop());
      const h2 = await h.connect();
      const sub = await h2.subscribeOk([`https://example.com/h2/heartbeat/${randomUUID()}`]);
      const later = () => sub.comments.filter((x) => x.t - sub.firstBodyAt >= 100);
      await sub.waitFor(() => later().length >= 2, { what: 'two heartbeats after the initial flush', timeoutMs: 3_000 });
      const [hb1, hb2] = later();
      assert.ok(hb2.t - hb1.t >= 120, `heartbeats are spaced by the interval: ${hb2.t - hb1.t} ms`);
      assert.deepEqual(sub.events, []);
      assert.equal(sub.ended, false);
      assert.match(sub.text, /^(:[^\n]*\n+)+$/, 'only comment lines');
    });

    test('a token with exp ends its h2 stream with END_STREAM; the connection and its other streams go on', async (t) => {
      const h = await startH2Hub(mode);
      t.after(() => h.stop());
      const topic = `https://example.com/h2/exp/${randomUUID()}`;
      const h2 = await h.connect();
      const expiring = await h2.subscribeOk([topic], { token: await subscriberToken([topic], {}, { exp: nowSeconds() + 2 }) });
      const lasting = await h2.subscribeOk([topic]);
      const id = await h2.publishOk({ topic, data: 'before exp' }, { token });
      await expiring.waitForEvent((e) => e.id === id);
      await expiring.waitForEnd({ timeoutMs: 5_000, what: 'the stream to end at the token expiry' });
      assert.equal(expiring.endReason, 'complete', `ended with END_STREAM, not a reset: ${expiring.describe()}`);
      const after = await h2.publishOk({ topic, data: 'after exp' }, { token });
      await lasting.waitForEvent((e) => e.id === after);
      assert.equal(lasting.ended, false);
      assert.equal(h2.closed, false);
      assert.equal((await h2.request({ path: '/healthz' })).status, 200);
    });

    test('cancelling one stream (RST_STREAM) ends that subscriber only: the gauge drops by one, the others keep receiving', async (t) => {
      // A hub of its own: no stream of another test may move the gauge meanwhile.
      const f = await startH2Hub(mode, { env: { METRICS_ENABLED: '1' } });
      t.after(() => f.stop());
      const c = perTest(t);
      const topic = `https://example.com/h2/cancel/${randomUUID()}`;
      const connected = (e) => e.value('mercure_subscribers_connected');
      const base = connected(await scrape(f.h1));
      assert.equal(base, 0);
      const h2 = await f.connect();
      const [a, b, d] = [
        c.add(await h2.subscribeOk([topic])),
        c.add(await h2.subscribeOk([topic])),
        c.add(await h2.subscribeOk([topic])),
      ];
      await waitForMetrics(f.h1, (e) => connected(e) === base + 3, { what: 'three more subscribers', timeoutMs: 5_000 });
      const first = await publishOk(f.h1, { topic, data: 'before' }, { token });
      for (const s of [a, b, d]) await s.waitForEvent((e) => e.id === first);
      a.close();
      await waitForMetrics(f.h1, (e) => connected(e) === base + 2, { what: 'the cancelled stream gone from the gauge', timeoutMs: 5_000 });
      const second = await publishOk(f.h1, { topic, data: 'after' }, { token });
      for (const s of [b, d]) {
        await s.waitForEvent((e) => e.id === second);
        assert.equal(s.ended, false);
      }
      assert.equal(h2.closed, false, 'the connection stays open');
      assert.equal(h2.goaway, null);
      // A new stream on the same connection is counted again.
      c.add(await h2.subscribeOk([topic]));
      await waitForMetrics(f.h1, (e) => connected(e) === base + 3, { what: 'the new stream counted', timeoutMs: 5_000 });
    });

    test('SIGTERM with h2 streams open: every stream ends with END_STREAM, the hub exits 0', async (t) => {
      const h = await startH2Hub(mode, { workers: 2 });
      t.after(() => h.stop());
      const streams = [];
      for (const client of [await h.connect(), await h.connect()]) {
        for (let i = 0; i < 3; i++) streams.push(await client.subscribeOk(['*']));
      }
      const exit = await h.hub.stop({ timeoutMs: 8_000 });
      assert.equal(exit.timedOut, false, h.hub.output());
      assert.equal(exit.code, 0);
      for (const s of streams) {
        await s.waitForEnd({ timeoutMs: 2_000, what: 'the stream ended by the stopping hub' });
        assert.equal(s.endReason, 'complete', s.describe());
      }
    });

    test('a POST body over MAX_BODY_SIZE gets 413 (with or without content-length), one under it 200; the connection goes on', async (t) => {
      const h = await startH2Hub(mode, { env: { MAX_BODY_SIZE: '4KiB' } });
      t.after(() => h.stop());
      const topic = `https://example.com/h2/body/${randomUUID()}`;
      const h2 = await h.connect();
      const sub = await h2.subscribeOk([topic]);
      const big = formEncode({ topic, data: 'x'.repeat(8 * 1024) });
      const headers = { ...FORM, authorization: `Bearer ${token}` };
      const sized = await h2.request({ method: 'POST', path: HUB_PATH, headers: { ...headers, 'content-length': String(big.length) }, body: big });
      assert.equal(sized.status, 413, sized.text);
      const unsized = await h2.request({ method: 'POST', path: HUB_PATH, headers, body: big });
      assert.equal(unsized.status, 413, unsized.text);
      assert.equal((await request(h.h1, { method: 'POST', path: HUB_PATH, headers, body: big })).status, 413, 'as over HTTP/1.1');
      const id = await h2.publishOk({ topic, data: 'y'.repeat(1024) }, { token });
      const ev = await sub.waitForEvent(() => true);
      assert.equal(ev.id, id, 'the refused bodies were not published');
      assert.equal(sub.ended, false);
      assert.equal(h2.closed, false);
    });
  });
}

describe('HTTP/1.1 and HTTP/2 clients of one hub at once', () => {
  test('h2c: an update published over HTTP/1.1 reaches h2 and HTTP/1.1 streams; one published over h2 too', async (t) => {
    const h = await startH2Hub(MODES[1]);
    t.after(() => h.stop());
    const c = perTest(t);
    const topic = `https://example.com/h2/mixed/${randomUUID()}`;
    const h2 = await h.connect();
    const overH2 = c.add(await h2.subscribeOk([topic]));
    const overH1 = c.add(await subscribeOk(h.h1, [topic]));
    const a = await publishOk(h.h1, { topic, data: 'from HTTP/1.1' }, { token });
    const b = await h2.publishOk({ topic, data: 'from h2' }, { token });
    for (const s of [overH2, overH1]) {
      const events = await s.waitForEvents(2);
      assert.deepEqual(events.map((e) => [e.id, e.data]), [[a, 'from HTTP/1.1'], [b, 'from h2']]);
    }
    assert.equal(overH2.events[0].raw, overH1.events[0].raw, 'the same bytes over both');
  });

  test('TLS: an update published with node:https (HTTP/1.1) reaches an h2 stream', async (t) => {
    const h = await startH2Hub(MODES[0]);
    t.after(() => h.stop());
    const c = perTest(t);
    const topic = `https://example.com/h2/mixed-tls/${randomUUID()}`;
    const h2 = await h.connect();
    const sub = c.add(await h2.subscribeOk([topic]));
    const res = await httpsRequest(h.hub, {
      ca: certs.ec.ca,
      method: 'POST',
      path: HUB_PATH,
      headers: { authorization: `Bearer ${token}`, ...FORM },
      body: formEncode({ topic, data: 'via https' }),
    });
    assert.equal(res.status, 200, res.text);
    const [ev] = await sub.waitForEvents(1);
    assert.deepEqual([ev.id, ev.data], [res.text, 'via https']);
  });
});

/** CPU seconds (user + system) the process `pid` used so far (Linux /proc; clock ticks of 100 Hz). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * An event stream of a client that stops reading after the initial flush: its window (2 bytes,
 * exactly the initial ":\n") is never opened again.
 */
async function stalledStream(h, topics) {
  const client = await h.connect({ settings: { initialWindowSize: 2 } });
  const res = await client.subscribeOk(topics);
  res.stream.pause();
  return res;
}

describe('h2c clients that give no flow-control window, or never finish a request', () => {
  const mode = MODES[1];

  test('an event stream whose window stays shut is reset after DISPATCH_TIMEOUT; other streams go on, the gauge drops', async (t) => {
    const h = await startH2Hub(mode, { env: { METRICS_ENABLED: '1', DISPATCH_TIMEOUT: '1s', HEARTBEAT_INTERVAL: '200ms' } });
    t.after(() => h.stop());
    const topic = `https://example.com/h2/stalled/${randomUUID()}`;
    // A window of 2 bytes: exactly the initial ":\n", then nothing more is ever allowed.
    const stalled = await stalledStream(h, [topic]);
    const reading = await (await h.connect()).subscribeOk([topic]);
    await waitForMetrics(h.h1, (e) => e.value('mercure_subscribers_connected') === 2, { what: 'two subscribers' });
    const id = await publishOk(h.h1, { topic, data: 'for both' }, { token });
    await reading.waitForEvent((e) => e.id === id);
    await stalled.waitForEnd({ timeoutMs: 4_000, what: 'the stalled stream reset' });
    assert.equal(stalled.endReason, `reset (rstCode ${NGHTTP2_CANCEL})`);
    await waitForMetrics(h.h1, (e) => e.value('mercure_subscribers_connected') === 1, { what: 'the stalled subscriber gone' });
    const next = await publishOk(h.h1, { topic, data: 'after' }, { token });
    await reading.waitForEvent((e) => e.id === next);
    assert.equal(reading.ended, false);
  });

  test('a stalled stream with heartbeats due and DISPATCH_TIMEOUT=0 costs no CPU (no deadline loop)', async (t) => {
    const h = await startH2Hub(mode, { env: { DISPATCH_TIMEOUT: '0', HEARTBEAT_INTERVAL: '100ms' } });
    t.after(() => h.stop());
    const topic = `https://example.com/h2/stalled-cpu/${randomUUID()}`;
    const stalled = await stalledStream(h, [topic]);
    await publishOk(h.h1, { topic, data: 'never read' }, { token });
    // Ten heartbeats on another stream measure about a second of the hub's life.
    const watch = await (await h.connect()).subscribeOk([`${topic}/other`]);
    const before = cpuSeconds(h.hub.pid);
    const t0 = Date.now();
    const seen = watch.comments.length;
    await watch.waitFor((r) => r.comments.length >= seen + 10, { timeoutMs: 5_000, what: 'ten heartbeats' });
    const used = cpuSeconds(h.hub.pid) - before;
    const elapsed = (Date.now() - t0) / 1000;
    assert.ok(used < 0.3 * elapsed, `the hub used ${used.toFixed(2)} s of CPU in ${elapsed.toFixed(2)} s`);
    assert.equal(stalled.ended, false, 'no dispatch timeout: the stream stays');
  });

  test('a stalled stream whose outbox overflows is reset at once (DISPATCH_TIMEOUT=0), the others go on', async (t) => {
    const h = await startH2Hub(mode, { env: { METRICS_ENABLED: '1', DISPATCH_TIMEOUT: '0' } });
    t.after(() => h.stop());
    const topic = `https://example.com/h2/overflow/${randomUUID()}`;
    const stalled = await stalledStream(h, [topic]);
    const reading = await (await h.connect()).subscribeOk([topic]);
    // Over the outbox's 4,096 updates, published over HTTP/2 on a connection of their own.
    const publisher = await h.connect();
    let last = null;
    for (let i = 0; i < 4_200; i += 100) {
      const ids = await Promise.all(Array.from({ length: 100 }, (_, j) => publisher.publishOk({ topic, data: `${i + j}` }, { token })));
      last = ids.at(-1);
    }
    await stalled.waitForEnd({ timeoutMs: DEFAULT_TIMEOUT_MS, what: 'the overflowing stream reset' });
    assert.equal(stalled.endReason, `reset (rstCode ${NGHTTP2_CANCEL})`);
    await reading.waitForEvent((e) => e.id === last, { timeoutMs: 10_000 });
    await waitForMetrics(h.h1, (e) => e.value('mercure_subscribers_connected') === 1, { what: 'the slow subscriber gone' });
    const slow = (await scrape(h.h1)).value('mercure_subscriber_disconnects_total', { reason: 'slow' });
    assert.equal(slow, 1);
  });

  test('a stream whose window was used up exactly, then idle past DISPATCH_TIMEOUT, gets its next event once the window opens', async (t) => {
    const h = await startH2Hub(mode, { env: { DISPATCH_TIMEOUT: '1s', HEARTBEAT_INTERVAL: '0' } });
    t.after(() => h.stop());
    const topic = `https://example.com/h2/exact-window/${randomUUID()}`;
    const first = `urn:uuid:${randomUUID()}`;
    const frame = `id: ${first}\ndata: hello\n\n`;
    // The stream's window: the initial ":\n" and the first event, to the byte; never opened by itself.
    const raw = await RawH2.connect(h.hub.port, { initialWindow: 2 + Buffer.byteLength(frame) });
    t.after(() => raw.close());
    const stream = raw.get(`${HUB_PATH}?topic=${encodeURIComponent(topic)}`);
    await raw.waitForBody(stream, ':\n');
    await publishOk(h.h1, { topic, id: first, data: 'hello' }, { token });
    await raw.waitForBody(stream, frame);
    // Time passes, measured by events on another stream: more than DISPATCH_TIMEOUT with nothing to send.
    const clock = await (await h.connect()).subscribeOk([`${topic}/clock`]);
    const passTime = async (ms) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const id = await publishOk(h.h1, { topic: `${topic}/clock`, data: 'tick' }, { token });
        await clock.waitForEvent((e) => e.id === id);
      }
    };
    await passTime(1_500);
    const second = await publishOk(h.h1, { topic, data: 'again' }, { token });
    await passTime(300);  // the second event waits for the window, well within DISPATCH_TIMEOUT
    raw.windowUpdate(stream, 65_536);
    await raw.waitForBody(stream, `id: ${second}\n`, { timeoutMs: 3_000 });
    assert.equal(raw.frames.find((f) => f.type === FRAME.RST_STREAM && f.stream === stream), undefined, 'not reset');
  });

  test('an answer its client takes slowly but steadily, longer than DISPATCH_TIMEOUT in all, is not reset', async (t) => {
    const h = await startH2Hub(mode, { env: { DISPATCH_TIMEOUT: '1s', METRICS_ENABLED: '1' } });
    t.after(() => h.stop());
    const raw = await RawH2.connect(h.hub.port, { initialWindow: 256 });
    t.after(() => raw.close());
    const stream = raw.get('/metrics');
    await raw.waitFor((f) => f.type === FRAME.HEADERS && f.stream === stream, { what: 'the head of /metrics' });
    const clock = await (await h.connect()).subscribeOk(['https://example.com/h2/slow-answer/clock']);
    const started = Date.now();
    // 256 more bytes every tick (a publish and its delivery, a few ms) until the answer ended.
    let ended = null;
    while (!ended) {
      const id = await publishOk(h.h1, { topic: 'https://example.com/h2/slow-answer/clock', data: 'tick' }, { token });
      await clock.waitForEvent((e) => e.id === id);
      if (Date.now() - started > 150 * (raw.body(stream).length / 256)) raw.windowUpdate(stream, 256);
      ended = raw.frames.find((f) => f.stream === stream && (f.type === FRAME.RST_STREAM || (f.type === FRAME.DATA && f.flags & 1)));
      assert.ok(Date.now() - started < 30_000, 'the answer ends within 30 s');
    }
    assert.equal(ended.type, FRAME.DATA, 'ended by END_STREAM, not reset');
    assert.ok(Date.now() - started > 1_000, `took ${Date.now() - started} ms: longer than DISPATCH_TIMEOUT`);
    assert.match(raw.body(stream), /mercure_subscribers_connected/);
  });

  test('a request answered before its body ended (413) is reset with NO_ERROR, and the idle connection then closes', async (t) => {
    const h = await startH2Hub(mode, { env: { MAX_BODY_SIZE: '4KiB', IDLE_TIMEOUT: '1s' } });
    t.after(() => h.stop());
    const h2 = await h.connect();
    const req = h2.session.request({ ':method': 'POST', ':path': HUB_PATH, ...FORM, authorization: `Bearer ${token}` }, { endStream: false });
    const status = new Promise((resolve) => req.once('response', (hd) => resolve(hd[':status'])));
    const closed = new Promise((resolve) => req.once('close', () => resolve(req.rstCode)));
    req.on('error', () => {});
    req.resume();  // the answer's body is read (a stream ends only once read)
    req.write(Buffer.alloc(8 * 1024, 'x'));  // over the limit, and never ended
    assert.equal(await withDeadline(status, DEFAULT_TIMEOUT_MS, 'the 413'), 413);
    assert.equal(await withDeadline(closed, DEFAULT_TIMEOUT_MS, 'the stream reset after the 413'), NGHTTP2_NO_ERROR);
    await h2.waitForClose({ timeoutMs: 5_000, what: 'the connection closed after IDLE_TIMEOUT without a stream' });
    assert.equal(h2.goaway?.errorCode, NGHTTP2_NO_ERROR, h2.describe());
  });

  test('a response whose client never gives a window is reset after DISPATCH_TIMEOUT', async (t) => {
    const h = await startH2Hub(mode, { env: { DISPATCH_TIMEOUT: '1s' } });
    t.after(() => h.stop());
    const h2 = await h.connect({ settings: { initialWindowSize: 0 } });
    const res = await h2.request({ path: '/healthz', timeoutMs: 4_000 });
    assert.equal(res.status, 200);
    assert.equal(res.rstCode, NGHTTP2_CANCEL);
    assert.equal(res.ended, false);
  });

  test('SIGTERM with a stalled event stream: the hub stops within DISPATCH_TIMEOUT, not at the shutdown grace', async () => {
    const h = await startH2Hub(mode, { env: { DISPATCH_TIMEOUT: '1s' } });
    const stalled = await stalledStream(h, ['*']);
    await publishOk(h.h1, { topic: 'https://example.com/h2/stalled-stop', data: 'never read' }, { token });
    const exit = await h.hub.stop({ timeoutMs: 8_000 });
    assert.equal(exit.timedOut, false, h.hub.output());
    assert.equal(exit.code, 0);
    assert.doesNotMatch(h.hub.output(), /did not drain/);
    await stalled.waitForEnd({ timeoutMs: 2_000 });
    await h.stop();
  });
});
