// Subscribe endpoint: request validation, response headers, topic selectors, alternate topics.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useHub } from '../lib/hub.mjs';
import {
  Closer,
  Connection,
  HUB_PATH,
  publishOk,
  request,
  subscribe,
  subscribeOk,
  withDeadline,
} from '../lib/http.mjs';
import { publisherToken } from '../lib/tokens.mjs';
import { deliveredIndices, templateMatches } from '../lib/oracle.mjs';

const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });
const closer = new Closer();
after(() => closer.closeAll());
let pub;
const pubToken = async () => (pub ??= await publisherToken(['*']));

describe('subscription request', () => {
  test('no topic parameter -> 400', async () => {
    for (const path of [HUB_PATH, `${HUB_PATH}?`, `${HUB_PATH}?foo=bar`, `${HUB_PATH}?topics=a`]) {
      const res = await request(hub, { path });
      assert.equal(res.status, 400, `GET ${path}: ${res.text}`);
    }
  });

  test('a bad token is a 401 whatever the query: checked before the topics, as the reference does', async () => {
    for (const path of [HUB_PATH, `${HUB_PATH}?topic=${'x'.repeat(10)}`]) {
      const res = await request(hub, { path, headers: { Authorization: 'Bearer not-a-token' } });
      assert.equal(res.status, 401, `GET ${path}: ${res.text}`);
    }
  });

  test('HEAD without topic -> 400', async () => {
    const res = await request(hub, { method: 'HEAD', path: HUB_PATH });
    assert.equal(res.status, 400);
  });

  test('HEAD answers the stream headers with no body and ends the response', async () => {
    const conn = await Connection.open(hub);
    try {
      const head = conn.send({ method: 'HEAD', path: `${HUB_PATH}?topic=${encodeURIComponent('https://example.com/head')}` });
      const next = conn.send({ path: '/healthz' });
      await withDeadline(head.headPromise, 3000, 'HEAD response');
      assert.equal(head.status, 200);
      assert.match(head.headers['content-type'] || '', /^text\/event-stream\b/);
      // The HEAD response is complete once its head is sent: the next request on the connection
      // must be answered (or the hub closes the connection), not left behind an endless stream.
      await withDeadline(Promise.race([next.endPromise, conn.closedPromise]), 3000, 'the HEAD response to end');
      if (next.head) assert.equal(next.status, 200);
    } finally {
      conn.close();
    }
  });

  test('200 with the exact stream headers, flushed at once with a comment line', async () => {
    const t0 = Date.now();
    const sub = closer.add(await subscribe(hub, ['https://example.com/headers']));
    assert.equal(sub.status, 200);
    const h = sub.headers;
    assert.equal(h['content-type'].split(';')[0].trim(), 'text/event-stream');
    assert.equal(h['cache-control'], 'private, no-cache, no-store, must-revalidate, max-age=0');
    assert.equal(h['x-accel-buffering'], 'no');
    assert.equal(h.pragma, 'no-cache', 'for HTTP/1.0 caches');
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal((h.connection || '').toLowerCase(), 'keep-alive');
    assert.equal(h['content-length'], undefined, 'a stream has no Content-Length');
    // Nothing was published: the first body bytes must be the hub's own comment line.
    await sub.waitFor((r) => r.comments.length >= 1, { timeoutMs: 1000, what: 'the initial comment line' });
    assert.ok(sub.text.startsWith(':'), `body starts with a comment: ${JSON.stringify(sub.text)}`);
    assert.equal(sub.events.length, 0);
    assert.ok(sub.firstBodyAt - t0 < 1000);
  });

  test('a Last-Event-ID header is not an error (no history yet: live updates follow)', async () => {
    const topic = 'https://example.com/last-event-id';
    const sub = closer.add(await subscribeOk(hub, [topic], { headers: { 'Last-Event-ID': 'urn:uuid:0190e7a0-0000-7000-8000-000000000000' } }));
    assert.equal(sub.status, 200);
    const id = await publishOk(hub, { topic, data: 'after' }, { token: await pubToken() });
    const ev = await sub.waitForEvent((e) => e.data === 'after');
    assert.equal(ev.id, id);
  });

  test('a lastEventID query parameter (and `earliest`) is not an error', async () => {
    const topic = 'https://example.com/last-event-id-query';
    const a = closer.add(await subscribeOk(hub, [topic], { extra: [['lastEventID', 'urn:uuid:unknown']] }));
    const b = closer.add(await subscribeOk(hub, [topic], { extra: [['lastEventID', 'earliest']] }));
    await publishOk(hub, { topic, data: 'live' }, { token: await pubToken() });
    await a.waitForEvent((e) => e.data === 'live');
    await b.waitForEvent((e) => e.data === 'live');
  });

  test('a resume request gets a Last-Event-ID response header (`earliest` with no history)', async () => {
    const sub = closer.add(await subscribeOk(hub, ['https://example.com/leid-header'], { headers: { 'Last-Event-ID': 'urn:uuid:unknown' } }));
    assert.equal(sub.headers['last-event-id'], 'earliest');
  });
});

describe('topic selectors', () => {
  test('an exact selector matches only the identical topic', async () => {
    const sel = 'https://example.com/books/1';
    const got = await deliveredIndices(hub, [sel], [
      'https://example.com/books/1',
      'https://example.com/books/12',
      'https://example.com/books/1/',
      'https://example.com/Books/1',
      'https://example.com/books/1?x=y',
      'https://example.com/books/1',
    ], { pubToken: await pubToken() });
    assert.deepEqual(got, [0, 5]);
  });

  test('`*` matches every topic', async () => {
    const got = await deliveredIndices(hub, ['*'], ['a', 'https://example.com/x', 'urn:isbn:123', '*'], {
      pubToken: await pubToken(),
    });
    assert.deepEqual(got, [0, 1, 2, 3]);
  });

  // [selector, matching topics, non-matching topics]; every expectation is also checked
  // against the independent uri-templates oracle below.
  const TEMPLATE_CASES = [
    ['https://example.com/books/{id}', ['https://example.com/books/1', 'https://example.com/books/abc-9'], ['https://example.com/books/1/2', 'https://example.com/authors/1']],
    ['https://example.com/users/{user}/books/{book}', ['https://example.com/users/u1/books/b2'], ['https://example.com/users/u1/books']],
    ['https://example.com/files{+path}', ['https://example.com/files/a/b/c.txt', 'https://example.com/files/x'], ['https://example.com/other/a']],
    ['https://example.com/search{?q}', ['https://example.com/search?q=foo'], ['https://example.com/search?z=foo', 'https://example.com/searchx?q=foo']],
    ['https://example.com/search{?q,lang}', ['https://example.com/search?q=a&lang=fr'], []],
    ['https://example.com/p?fixed=1{&x}', ['https://example.com/p?fixed=1&x=2'], []],
    ['https://example.com/s{/a,b}', ['https://example.com/s/1/2'], []],
    ['https://example.com/list{/segments*}', ['https://example.com/list/a/b/c'], []],
    ['https://example.com/f{.ext}', ['https://example.com/f.json'], []],
    ['https://example.com/m{;x,y}', ['https://example.com/m;x=1;y=2'], []],
    ['https://example.com/h{#section}', ['https://example.com/h#intro'], []],
    ['https://example.com/p/{id:3}', ['https://example.com/p/abc'], ['https://example.com/p/abcd']],
    ['https://example.com/opt{?q}', ['https://example.com/opt', 'https://example.com/opt?q=1'], ['https://example.com/opt?', 'https://example.com/optx']],
    ['https://example.com/enc/{id}', ['https://example.com/enc/a%20b', 'https://example.com/enc/%C3%A9'], ['https://example.com/enc/a b']],
    ['https://example.com/files2{+path}', ['https://example.com/files2/a?b=c#d'], []],
    // Literal characters that are special in regular expressions must stay literal.
    ['https://example.com/a.b/{id}', ['https://example.com/a.b/1'], ['https://example.com/aXb/1']],
    ['https://example.com/a+/{id}', ['https://example.com/a+/1'], ['https://example.com/aa/1', 'https://example.com/a/1']],
    ['https://example.com/(x)*$[y]/{id}', ['https://example.com/(x)*$[y]/1'], ['https://example.com/xxy/1', 'https://example.com/(x)*/1']],
    // Anchored at both ends.
    ['https://example.com/anchored/{id}', ['https://example.com/anchored/1'], ['prefix-https://example.com/anchored/1', 'https://example.com/anchored/1/']],
    ['https://example.com/é/{id}', ['https://example.com/é/1'], ['https://example.com/e/1']],
    ['https://example.com/users/foo/{?topic}', ['https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1'], ['https://example.com/users/bar/?topic=x']],
  ];

  test('the expectations agree with the independent URI template oracle', () => {
    for (const [sel, yes, no] of TEMPLATE_CASES) {
      for (const t of yes) assert.ok(templateMatches(sel, t), `oracle: ${sel} should match ${t}`);
      for (const t of no) assert.ok(!templateMatches(sel, t), `oracle: ${sel} should not match ${t}`);
    }
  });

  for (const [sel, yes, no] of TEMPLATE_CASES) {
    test(`URI template ${sel}`, async () => {
      const candidates = [...no, ...yes];
      const got = await deliveredIndices(hub, [sel], candidates, { pubToken: await pubToken() });
      const expected = yes.map((_, i) => no.length + i);
      assert.deepEqual(
        got.map((i) => candidates[i]),
        expected.map((i) => candidates[i]),
        `selector ${sel}`,
      );
    });
  }

  test('a template also matches itself exactly (selector compared as a string first)', async () => {
    const sel = 'https://example.com/books/{id}';
    const got = await deliveredIndices(hub, [sel], [sel], { pubToken: await pubToken() });
    assert.deepEqual(got, [0]);
  });

  test('an unparsable template is accepted and treated as a plain string', async () => {
    for (const sel of ['https://example.com/books/{id', 'https://example.com/{}', 'https://example.com/{a b}']) {
      const res = await subscribe(hub, [sel]);
      res.close();
      assert.equal(res.status, 200, `subscribing to ${sel}`);
      const got = await deliveredIndices(hub, [sel], ['https://example.com/books/1', 'https://example.com/books/{id}x', sel], {
        pubToken: await pubToken(),
      });
      assert.deepEqual(got, [2], `selector ${sel}`);
    }
  });

  test('percent-encoded and `+`-encoded topic parameters are decoded before matching', async () => {
    const topics = ['https://example.com/a b', 'https://example.com/a+b', 'https://example.com/é?x=1&y=2'];
    for (const topic of topics) {
      // URLSearchParams encodes a space as `+`, `+` as %2B and `&` as %26, as browsers do.
      const got = await deliveredIndices(hub, [topic], [topic, 'https://example.com/other'], { pubToken: await pubToken() });
      assert.deepEqual(got, [0], `topic ${topic}`);
    }
  });

  test('a raw (unencoded) URL as topic parameter works', async () => {
    const topic = 'https://example.com/raw/1';
    const conn = closer.add(await Connection.open(hub));
    const sub = conn.send({ path: `${HUB_PATH}?topic=${topic}` });
    await sub.headPromise;
    assert.equal(sub.status, 200);
    await sub.waitFor((r) => r.bodyLength > 0, { what: 'initial flush' });
    await publishOk(hub, { topic, data: 'raw' }, { token: await pubToken() });
    await sub.waitForEvent((e) => e.data === 'raw');
  });
});

describe('matching updates to subscribers', () => {
  test('an update reaches a subscriber through an alternate topic', async () => {
    const got = await deliveredIndices(
      hub,
      ['https://example.com/alt/{id}'],
      [
        ['https://example.com/canonical/1', 'https://example.com/alt/1'],
        ['https://example.com/canonical/2', 'https://example.com/nope/2'],
        ['https://example.com/canonical/3', 'https://example.com/nope/3', 'https://example.com/alt/3'],
      ],
      { pubToken: await pubToken() },
    );
    assert.deepEqual(got, [0, 2]);
  });

  test('several selectors and topics matching one update deliver it exactly once', async () => {
    const got = await deliveredIndices(
      hub,
      ['*', 'https://example.com/dup/1', 'https://example.com/dup/{id}', 'https://example.com/dup/2'],
      [
        ['https://example.com/dup/1', 'https://example.com/dup/2'],
        'https://example.com/dup/1',
      ],
      { pubToken: await pubToken() },
    );
    assert.deepEqual(got, [0, 1]);
  });

  test('repeated identical topic parameters do not duplicate deliveries', async () => {
    const t = 'https://example.com/same';
    const got = await deliveredIndices(hub, [t, t, t], [t, [t, t]], { pubToken: await pubToken() });
    assert.deepEqual(got, [0, 1]);
  });

  test('a subscriber only receives updates published after it subscribed, in order', async () => {
    const topic = 'https://example.com/order';
    const token = await pubToken();
    await publishOk(hub, { topic, data: 'before' }, { token });
    const sub = closer.add(await subscribeOk(hub, [topic]));
    for (let i = 0; i < 20; i++) await publishOk(hub, { topic, data: `n${i}` }, { token });
    const events = await sub.waitForEvents(20);
    assert.deepEqual(events.map((e) => e.data), Array.from({ length: 20 }, (_, i) => `n${i}`));
  });
});
