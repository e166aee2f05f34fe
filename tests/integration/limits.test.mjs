// Limits (issue 5): every limit with a small configured value, its status, its one-line reason,
// its log line and its counter (mercure_requests_rejected_total{reason}); connection and stream
// limits counted across workers, with Retry-After; and slow or silent clients (slowloris) that
// cannot hold the hub: they are closed at the header timeout while normal clients are served.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useHub } from '../lib/hub.mjs';
import {
  Closer,
  Connection,
  HUB_PATH,
  formEncode,
  publish,
  publishOk,
  request,
  subscribe,
  subscribeOk,
  withDeadline,
} from '../lib/http.mjs';
import { scrape } from '../lib/prometheus.mjs';
import { parseRaw, rawSocket as openRawSocket } from '../lib/raw_socket.mjs';
import { publisherToken, subscriberToken } from '../lib/tokens.mjs';

const closer = new Closer();
after(() => closer.closeAll());

/** Requests refused so far, by reason (mercure_requests_rejected_total). */
async function rejected(hub) {
  const e = await scrape(hub);
  const out = {};
  for (const s of e.family('mercure_requests_rejected_total').samples) out[s.labels.reason] = s.value;
  return out;
}

/** A raw socket to `hub`, closed at the end of the file. */
async function rawSocket(hub, opts) {
  return closer.add(await openRawSocket(hub, opts));
}

/** Asserts a refused connection: 429 with Retry-After and `reason`, then closed by the hub. */
async function assertRefused(s, reason) {
  await s.waitFor((st) => st.closed, 5_000, 'the hub to answer 429 and close');
  const res = parseRaw(s.text);
  assert.equal(res.status, 429, s.text);
  assert.match(res.headers['retry-after'] ?? '', /^[1-9]\d*$/, 'Retry-After: a positive number of seconds');
  assert.equal(res.headers['x-content-type-options'], 'nosniff', 'the security fields of every answer');
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.equal(res.body, `${reason}\n`);
}

/** Asserts the socket is admitted: it gets an answer to GET /healthz. */
async function assertAdmitted(s) {
  s.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await s.waitFor((st) => /^HTTP\/1\.1 200 /.test(st.text) || st.closed, 5_000, 'an answer to GET /healthz');
  assert.match(s.text, /^HTTP\/1\.1 200 /, s.text);
}

/**
 * Retries `attempt` (true = done) until it succeeds or `ms` pass: the hub frees a slot when it has
 * seen a close, a moment after the client closed. Resolves with the number of failed attempts.
 */
async function eventually(attempt, ms, what) {
  const deadline = Date.now() + ms;
  for (let failed = 0; ; failed++) {
    if (await attempt()) return failed;
    assert.ok(Date.now() < deadline, `not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Scrapes the refusals of a hub whose connections may all be taken: retries until a scrape is
 * admitted. Resolves with the counts and how many scrapes were refused (each one is counted too).
 */
async function rejectedWhenAdmitted(hub) {
  let counts;
  const refused = await eventually(async () => {
    counts = await rejected(hub).catch((e) => {
      assert.match(e.message, /429|closed/, e.message);
      return null;
    });
    return counts !== null;
  }, 5_000, 'a metrics scrape admitted');
  return { counts, refused };
}

describe('request size limits: 413, 431, 400', () => {
  // One setting per layer: flags, environment and mercure directives all reach the limits.
  const hub = useHub({
    args: ['--max-topics', '3'],
    env: {
      ALLOW_ANONYMOUS: '1',
      METRICS_ENABLED: '1',
      MAX_BODY_SIZE: '4KiB',
      MAX_HEADER_SIZE: '2KiB',
      MERCURE_EXTRA_DIRECTIVES: 'max_selectors 3\nmax_topic_length 64',
    },
  });

  test('a body of max_body_size bytes is accepted, one byte more is 413', async () => {
    const token = await publisherToken();
    const base = formEncode({ topic: 'https://example.com/body', data: '' });
    const ok = await publish(hub, null, { token, rawBody: base + 'x'.repeat(4096 - base.length) });
    assert.equal(ok.status, 200, ok.text);
    const before = await rejected(hub);
    const big = await publish(hub, null, { token, rawBody: base + 'x'.repeat(4097 - base.length) });
    assert.equal(big.status, 413);
    assert.equal(big.text, 'request body exceeds 4096 bytes\n');
    assert.equal((await rejected(hub)).payload_too_large, before.payload_too_large + 1);
    await hub.waitForLog(/request rejected: 413 request body exceeds 4096 bytes \(from 127\.0\.0\.1:\d+\)/);
  });

  test('headers within max_header_size are accepted, larger ones are 431', async () => {
    const ok = await request(hub, { path: '/healthz', headers: { 'X-Pad': 'p'.repeat(1500) } });
    assert.equal(ok.status, 200);
    const before = await rejected(hub);
    const big = await request(hub, { path: '/healthz', headers: { 'X-Pad': 'p'.repeat(2100) } });
    assert.equal(big.status, 431);
    assert.equal(big.text, 'request headers exceed 2048 bytes\n');
    assert.equal((await rejected(hub)).headers_too_large, before.headers_too_large + 1);
    await hub.waitForLog(/request rejected: 431 request headers exceed 2048 bytes/);
  });

  test('more topics than max_topics is 413, and nothing is published', async () => {
    const token = await publisherToken();
    const sub = closer.add(await subscribeOk(hub, ['*'], { token: await subscriberToken() }));
    const topics = (n) => Array.from({ length: n }, (_, i) => `https://example.com/t/${i}`);
    await publishOk(hub, { topic: topics(3), data: 'three' }, { token });
    const before = await rejected(hub);
    const res = await publish(hub, { topic: topics(4), data: 'four' }, { token });
    assert.equal(res.status, 413);
    assert.equal(res.text, 'too many topics: 4 (at most 3 per update)\n');
    assert.equal((await rejected(hub)).payload_too_large, before.payload_too_large + 1);
    await hub.waitForLog(/publish rejected: 413 too many topics: 4 \(at most 3 per update\) \(from 127\.0\.0\.1:\d+\)/);
    // The refused update was never dispatched: the next one follows "three" directly.
    await publishOk(hub, { topic: topics(1), data: 'sentinel' }, { token });
    await sub.waitForEvent((e) => e.data === 'sentinel');
    assert.deepEqual(sub.events.map((e) => e.data), ['three', 'sentinel']);
  });

  test('a topic longer than max_topic_length is 413', async () => {
    const token = await publisherToken();
    const prefix = 'https://example.com/';
    await publishOk(hub, { topic: prefix + 'a'.repeat(64 - prefix.length) }, { token });
    const res = await publish(hub, { topic: ['https://example.com/ok', prefix + 'a'.repeat(65 - prefix.length)] }, { token });
    assert.equal(res.status, 413);
    assert.equal(res.text, 'topic #2 is too long: 65 bytes (at most 64)\n');
  });

  test('a topic with invalid UTF-8 or a control character is 400 (bad_form); other Unicode is fine', async () => {
    const token = await publisherToken();
    await publishOk(hub, { topic: 'https://example.com/café/日本' }, { token });
    const before = await rejected(hub);
    const bad = ['%00', '%01', '%09', '%0A', '%7F', '%C2%80', '%C2%9F', '%FF', '%C3', '%C0%AF', '%ED%A0%80', '%F4%90%80%80'];
    for (const b of bad) {
      const res = await publish(hub, null, { token, rawBody: `topic=https%3A%2F%2Fexample.com%2Fa${b}b&data=x` });
      assert.equal(res.status, 400, `topic with ${b}: ${res.status} ${res.text}`);
      assert.equal(res.text, 'topic #1 is not valid UTF-8 or contains a control character\n');
    }
    assert.equal((await rejected(hub)).bad_form, before.bad_form + bad.length);
  });

  test('more selectors than max_selectors, a long one, or a control character is 400', async () => {
    const sels = (n) => Array.from({ length: n }, (_, i) => `https://example.com/s/${i}`);
    const ok = closer.add(await subscribeOk(hub, sels(3)));
    ok.close();
    const before = await rejected(hub);
    const cases = [
      [sels(4), 'too many topic selectors: 4 (at most 3 per subscription)'],
      [['https://example.com/' + 'b'.repeat(45)], 'topic selector #1 is too long: 65 bytes (at most 64)'],
      [['*', 'https://example.com/\u0001'], 'topic selector #2 is not valid UTF-8 or contains a control character'],
      [['https://example.com/\u0085'], 'topic selector #1 is not valid UTF-8 or contains a control character'],
    ];
    for (const [topics, reason] of cases) {
      const res = await subscribe(hub, topics);
      await res.waitForEnd();
      res.close();
      assert.equal(res.status, 400, JSON.stringify(topics));
      assert.equal(res.text, `${reason}\n`);
    }
    // Invalid UTF-8 can only be sent percent-encoded.
    const raw = await request(hub, { path: `${HUB_PATH}?topic=https%3A%2F%2Fexample.com%2F%FF` });
    assert.equal(raw.status, 400);
    assert.equal(raw.text, 'topic selector #1 is not valid UTF-8 or contains a control character\n');
    assert.equal((await rejected(hub)).bad_request, before.bad_request + cases.length + 1);
    await hub.waitForLog(/subscribe rejected: 400 too many topic selectors: 4 \(at most 3 per subscription\) \(from 127\.0\.0\.1:\d+\)/);
  });
});

describe('connection limits: 429 with Retry-After, counted across workers', () => {
  // Four workers: SO_REUSEPORT spreads connections over them, so a per-worker count would let
  // most of the extra connections in. Idle connections must outlive the test: long header timeout.
  const limited = useHub({
    workers: 4,
    env: { MAX_CONNECTIONS: '6', READ_HEADER_TIMEOUT: '60s', READ_TIMEOUT: '60s', METRICS_ENABLED: '1' },
  });
  const perIp = useHub({
    workers: 4,
    env: { MAX_CONNECTIONS_PER_IP: '3', READ_HEADER_TIMEOUT: '60s', READ_TIMEOUT: '60s', ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1' },
  });

  test('max_connections: the connections over the limit are refused, whatever the worker', async () => {
    // A fresh hub used by this test only: nothing else holds or held a connection. Each one is
    // confirmed admitted before the next is opened: the workers accept in parallel, so a later
    // connection could otherwise take the last slot first.
    const held = [];
    for (let i = 0; i < 6; i++) {
      held.push(await rawSocket(limited));
      await assertAdmitted(held[i]);
    }
    for (let i = 0; i < 8; i++) await assertRefused(await rawSocket(limited), 'too many connections to the hub (at most 6)');
    await limited.waitForLog(/connection refused: 429 too many connections to the hub \(at most 6\) \(from 127\.0\.0\.1:\d+/);
    // A slot is free again once the hub has seen a close.
    held.pop().close();
    let next;
    const retried = await eventually(async () => {
      next = await rawSocket(limited);
      next.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await next.waitFor((st) => st.closed || /\r\n\r\n/.test(st.text), 5_000, 'an answer');
      if (/^HTTP\/1\.1 200 /.test(next.text)) return true;
      assert.match(next.text, /^HTTP\/1\.1 429 /);
      return false;
    }, 5_000, 'a connection admitted after one was closed');
    for (const s of [...held, next]) s.close();
    const { counts, refused } = await rejectedWhenAdmitted(limited);
    assert.equal(counts.too_many_connections, 8 + retried + refused);
  });

  test('max_connections_per_ip: keyed by address (not port), streams included, other addresses unaffected', async () => {
    // A fresh hub used by this test only: nothing else holds or held a connection.
    const sub = closer.add(await subscribeOk(perIp, ['https://example.com/held'])); // a stream is a connection
    const held = [await rawSocket(perIp), await rawSocket(perIp)];
    for (const s of held) await assertAdmitted(s); // one at a time: the workers accept in parallel
    for (let i = 0; i < 6; i++) {
      await assertRefused(await rawSocket(perIp), 'too many connections from this address (at most 3)');
    }
    // 127.0.0.2 is another client on the loopback interface: not limited by 127.0.0.1's count.
    const other = [];
    for (let i = 0; i < 3; i++) {
      other.push(await rawSocket(perIp, { localAddress: '127.0.0.2' }));
      await assertAdmitted(other[i]);
    }
    await assertRefused(await rawSocket(perIp, { localAddress: '127.0.0.2' }), 'too many connections from this address (at most 3)');
    await perIp.waitForLog(/connection refused: 429 too many connections from this address \(at most 3\) \(from 127\.0\.0\.1:\d+/);
    sub.close();
    for (const s of [...held, ...other]) s.close();
    const { counts, refused } = await rejectedWhenAdmitted(perIp);
    assert.equal(counts.too_many_connections, 7 + refused);
  });
});

describe('event streams per token: 429 with Retry-After', () => {
  const hub = useHub({ workers: 4, env: { MAX_STREAMS_PER_TOKEN: '2', ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1' } });

  test('a token holds at most max_streams_per_token streams, however it is sent; others are not affected', async () => {
    const topic = `https://example.com/streams/${randomUUID()}`;
    const tokenA = await subscriberToken([topic]);
    const tokenB = await subscriberToken([topic], {}, { sub: 'b' });
    const before = await rejected(hub);
    const a1 = closer.add(await subscribeOk(hub, [topic], { token: tokenA }));
    const a2 = closer.add(await subscribeOk(hub, [topic], { extra: [['authorization', tokenA]] })); // query parameter
    for (const opts of [{ token: tokenA }, { extra: [['authorization', tokenA]] }, { headers: { Cookie: `mercureAuthorization=${tokenA}` } }]) {
      const res = closer.add(await subscribe(hub, [topic], opts));
      await res.waitForEnd();
      assert.equal(res.status, 429, res.text);
      assert.equal(res.headers['retry-after'], '5');
      assert.equal(res.text, 'too many event streams open with this token (at most 2)\n');
    }
    await hub.waitForLog(/subscribe rejected: 429 too many event streams open with this token \(at most 2\) \(from 127\.0\.0\.1:\d+\)/);
    // Another token and anonymous subscribers are not counted against tokenA.
    const b = [];
    for (let i = 0; i < 2; i++) b.push(closer.add(await subscribeOk(hub, [topic], { token: tokenB })));
    for (let i = 0; i < 3; i++) closer.add(await subscribeOk(hub, [topic]));
    // The held streams work; closing one frees a slot for the token.
    const token = await publisherToken();
    await publishOk(hub, { topic, data: 'to all' }, { token });
    await a1.waitForEvent((e) => e.data === 'to all');
    await b[1].waitForEvent((e) => e.data === 'to all');
    a2.close();
    const retried = await eventually(async () => {
      const res = closer.add(await subscribe(hub, [topic], { token: tokenA }));
      if (res.status !== 200) assert.equal(res.status, 429);
      return res.status === 200;
    }, 5_000, 'a stream admitted for tokenA after one of its streams closed');
    assert.equal((await rejected(hub)).too_many_streams, before.too_many_streams + 3 + retried);
  });
});

describe('slow and silent clients (slowloris)', () => {
  const hub = useHub({
    env: { READ_HEADER_TIMEOUT: '2s', READ_TIMEOUT: '3s', IDLE_TIMEOUT: '2500ms', ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1' },
  });

  test('100 silent and 20 trickling connections do not stop a client from subscribing and publishing; they are closed at the header timeout', async () => {
    const before = await rejected(hub);
    const silent = await Promise.all(Array.from({ length: 100 }, () => rawSocket(hub)));
    const trickling = [];
    const timers = [];
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(hub);
      const head = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'z'.repeat(200)}\r\n\r\n`;
      let at = 0;
      timers.push(setInterval(() => !s.closed && at < head.length && s.socket.write(head[at++]), 50));
      trickling.push(s);
    }
    try {
      const t0 = Date.now();
      const topic = `https://example.com/slowloris/${randomUUID()}`;
      const sub = closer.add(await subscribeOk(hub, [topic]));
      await publishOk(hub, { topic, data: 'served' }, { token: await publisherToken() });
      await sub.waitForEvent((e) => e.data === 'served');
      // Served while every slow connection was still held (header timeout 2 s).
      assert.ok([...silent, ...trickling].every((s) => !s.closed), `a slow client was dropped before ${Date.now() - t0} ms`);

      const all = [...silent, ...trickling];
      await withDeadline(Promise.all(all.map((s) => s.waitFor((st) => st.closed, 6_000, 'close'))), 6_000, 'every slow client closed');
      for (const s of all) {
        const heldFor = s.closedAt - s.openedAt;
        assert.ok(heldFor >= 1_800 && heldFor < 4_500, `closed after ${heldFor} ms with READ_HEADER_TIMEOUT=2s`);
        assert.equal(s.text, '', 'closed without an answer');
      }
      assert.equal((await rejected(hub)).request_timeout, before.request_timeout + all.length);
      await hub.waitForLog(/request rejected: 408 request head not received within 2s \(from 127\.0\.0\.1:\d+\)/);
      // The stream is not a request: the header timeout does not apply to it.
      assert.equal(sub.ended, false);
    } finally {
      timers.forEach(clearInterval);
    }
  });

  test('a head trickled one byte at a time is cut at the header timeout, not when it completes', async () => {
    const s = await rawSocket(hub);
    const head = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-A: b\r\n'.repeat(30)}\r\n`;
    let at = 0;
    const timer = setInterval(() => !s.closed && at < head.length && s.socket.write(head[at++]), 100); // 26 s in all
    try {
      await s.waitFor((st) => st.closed, 5_000, 'the hub to drop the trickling client');
      const heldFor = s.closedAt - s.openedAt;
      assert.ok(heldFor >= 1_800 && heldFor < 3_500, `closed after ${heldFor} ms, ${at} of ${head.length} bytes sent`);
      assert.ok(at < head.length);
    } finally {
      clearInterval(timer);
    }
  });

  test('a kept-alive connection: the next request may start within the idle timeout, then its head has the header timeout', async () => {
    const conn = closer.add(await Connection.open(hub, { parseSse: false }));
    assert.equal((await conn.request({ path: '/healthz' })).status, 200);
    // Longer than READ_HEADER_TIMEOUT (2 s), shorter than IDLE_TIMEOUT (2.5 s): a bounded wait that
    // must observe that nothing happens (the connection stays open).
    await new Promise((r) => setTimeout(r, 2_200));
    assert.equal(conn.closed, false, 'closed during the idle timeout');
    assert.equal((await conn.request({ path: '/healthz' })).status, 200);
    // Then the next request head, trickled, is cut 2 s after its first byte.
    const t0 = Date.now();
    const head = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n' + 'X-B: c\r\n'.repeat(30) + '\r\n';
    let at = 0;
    const timer = setInterval(() => !conn.closed && at < head.length && conn.writeRaw(head[at++]), 100);
    try {
      await conn.waitForClose({ timeoutMs: 5_000 });
      const heldFor = conn.closedAt - t0;
      assert.ok(heldFor >= 1_800 && heldFor < 3_500, `closed ${heldFor} ms after the first byte`);
    } finally {
      clearInterval(timer);
    }
  });

  test('a silent kept-alive connection is closed at the idle timeout, quietly', async () => {
    const before = await rejected(hub);
    const conn = closer.add(await Connection.open(hub, { parseSse: false }));
    assert.equal((await conn.request({ path: '/healthz' })).status, 200);
    const t0 = Date.now();
    await conn.waitForClose({ timeoutMs: 5_000 });
    const idle = conn.closedAt - t0;
    assert.ok(idle >= 2_300 && idle < 4_000, `closed after ${idle} ms idle with IDLE_TIMEOUT=2500ms`);
    assert.equal((await rejected(hub)).request_timeout, before.request_timeout, 'an idle close is not a refusal');
  });

  test('a body trickled after its head is cut at read_timeout', async () => {
    const s = await rawSocket(hub);
    s.socket.write(`POST ${HUB_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await publisherToken()}\r\n` +
      'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntopic=');
    const timer = setInterval(() => !s.closed && s.socket.write('a'), 100);
    try {
      await s.waitFor((st) => st.closed, 6_000, 'the hub to drop the slow body');
      const heldFor = s.closedAt - s.openedAt;
      assert.ok(heldFor >= 2_800 && heldFor < 4_500, `closed after ${heldFor} ms with READ_TIMEOUT=3s`);
      await hub.waitForLog(/request rejected: 408 request body not received within 3s/);
    } finally {
      clearInterval(timer);
    }
  });
});

describe('read_timeout 0 leaves the request head bounded by read_header_timeout', () => {
  const hub = useHub({ env: { READ_TIMEOUT: '0', READ_HEADER_TIMEOUT: '1s' } });

  test('a silent connection is still closed after READ_HEADER_TIMEOUT', async () => {
    const s = await rawSocket(hub);
    await s.waitFor((st) => st.closed, 4_000, 'the hub to drop the silent client');
    const heldFor = s.closedAt - s.openedAt;
    assert.ok(heldFor >= 800 && heldFor < 2_500, `closed after ${heldFor} ms`);
  });
});
