// HTTP/1.1 details real clients rely on, and hostile or broken clients the hub must survive.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useHub } from '../lib/hub.mjs';
import { Connection, HUB_PATH, formEncode, publish, request, subscribeOk } from '../lib/http.mjs';
import { rawSocket } from '../lib/raw_socket.mjs';
import { publisherToken } from '../lib/tokens.mjs';

async function assertAlive(hub) {
  const res = await request(hub, { path: '/healthz' });
  assert.equal(res.status, 200, 'the hub still serves requests');
}

describe('HTTP/1.1 details', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', READ_TIMEOUT: '1s' } });

  test('Expect: 100-continue gets an interim 100 before the body is sent, then the final answer', async () => {
    const s = await rawSocket(hub);
    try {
      const body = formEncode({ topic: 'https://example.com/expect', data: 'x'.repeat(2000) });
      s.socket.write(
        `POST ${HUB_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await publisherToken()}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await s.waitFor((st) => /^HTTP\/1\.1 100 /.test(st.text), 900, 'HTTP/1.1 100 Continue (curl waits 1 s without it)');
      s.socket.write(body);
      await s.waitFor((st) => /HTTP\/1\.1 200 [^\r]*\r\n[\s\S]*\r\n\r\nurn:uuid:/.test(st.text), 3000, 'the 200 response');
    } finally {
      s.socket.destroy();
    }
  });

  test('Expect: 100-continue with a refused token gets the 401 at once, not a 100: the body is never sent', async () => {
    for (const auth of ['Authorization: Bearer not-a-token\r\n', '']) {
      const s = await rawSocket(hub);
      try {
        s.socket.write(
          `POST ${HUB_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}` +
            'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 900000\r\nExpect: 100-continue\r\n\r\n',
        );
        await s.waitFor((st) => /^HTTP\/1\.1 401 [^\r]*\r\n[\s\S]*\r\n\r\n/.test(st.text), 3000, 'a 401 before any body byte');
        assert.ok(!/^HTTP\/1\.1 100 /.test(s.text), `no 100 Continue for a refused publisher: ${s.text}`);
        assert.match(s.text, /\r\nconnection: close\r\n/i, 'the unread body closes the connection');
      } finally {
        s.socket.destroy();
      }
    }
    await assertAlive(hub);
  });

  test('an Expect other than 100-continue gets 417 and a close, as from Go\'s server; 100-continue in any case or in a list gets its 100', async () => {
    for (const [request, expect] of [
      ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: something\r\n\r\n', 'something'],
      [`POST ${HUB_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 200-ok\r\n\r\n`, '200-ok'],
    ]) {
      const s = await rawSocket(hub);
      try {
        s.socket.write(request);
        await s.waitFor((st) => st.closed, 3000, 'the connection closed after the 417');
        assert.match(s.text, /^HTTP\/1\.1 417 Expectation Failed\r\n/);
        assert.match(s.text, /\r\nconnection: close\r\n/i);
        assert.ok(s.text.endsWith(`unsupported Expect "${expect}" (only 100-continue is)\n`), s.text);
      } finally {
        s.socket.destroy();
      }
    }
    for (const expect of ['100-Continue', 'foo, 100-continue']) {
      const s = await rawSocket(hub);
      try {
        const body = formEncode({ topic: 'https://example.com/expect', data: expect });
        s.socket.write(
          `POST ${HUB_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await publisherToken()}\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nExpect: ${expect}\r\n\r\n`,
        );
        await s.waitFor((st) => /^HTTP\/1\.1 100 /.test(st.text), 900, `HTTP/1.1 100 Continue for "${expect}"`);
        s.socket.write(body);
        await s.waitFor((st) => /HTTP\/1\.1 200 [^\r]*\r\n[\s\S]*\r\n\r\nurn:uuid:/.test(st.text), 3000, 'the 200 response');
      } finally {
        s.socket.destroy();
      }
    }
    await assertAlive(hub);
  });

  test('a chunked request body is accepted', async () => {
    const conn = await Connection.open(hub, { parseSse: false });
    try {
      const body = formEncode({ topic: 'https://example.com/chunked', data: 'chunked body' });
      const half = Math.floor(body.length / 2);
      const chunked = `${half.toString(16)}\r\n${body.slice(0, half)}\r\n${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\n\r\n`;
      const res = await conn.request({
        method: 'POST',
        path: HUB_PATH,
        headers: { Authorization: `Bearer ${await publisherToken()}`, 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' },
        body: chunked,
      });
      assert.equal(res.status, 200, res.text);
    } finally {
      conn.close();
    }
  });

  test('a body larger than the limit (1 MiB) is refused with 413, and the hub lives on', async () => {
    const res = await publish(hub, { topic: 'https://example.com/big', data: 'x'.repeat(2 * 1024 * 1024) }, { token: await publisherToken() });
    assert.equal(res.status, 413);
    await assertAlive(hub);
  });

  test('oversized request headers are refused (431 or 400), and the hub lives on', async () => {
    const res = await request(hub, { path: '/healthz', headers: { 'X-Big': 'y'.repeat(64 * 1024) } }).catch((e) => ({ status: 'closed', e }));
    assert.ok([431, 400, 'closed'].includes(res.status), `status ${res.status}`);
    await assertAlive(hub);
  });

  test('a garbage request line gets 400 (or a closed connection), and the hub lives on', async () => {
    const s = await rawSocket(hub);
    s.socket.write('THIS IS NOT HTTP\r\n\r\n');
    await s.waitFor((st) => st.closed || /^HTTP\/1\.[01] 400 /.test(st.text), 3000, 'a 400 or a close');
    s.socket.destroy();
    await assertAlive(hub);
  });

  test('a client that never finishes its request head is dropped after READ_TIMEOUT', async () => {
    const s = await rawSocket(hub);
    const t0 = Date.now();
    s.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // ...and nothing more
    await s.waitFor((st) => st.closed, 6000, 'the hub to drop the slow client');
    const ms = Date.now() - t0;
    assert.ok(ms >= 700, `dropped after ${ms} ms with READ_TIMEOUT=1s`);
    await assertAlive(hub);
  });

  test('the read timeout does not apply to an open subscription', async () => {
    const sub = await subscribeOk(hub, ['https://example.com/long']);
    try {
      // Outlive READ_TIMEOUT (1 s) by far, waiting on the hub's own heartbeat-free silence:
      // a publish after 2.5 s must still arrive on the same stream.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(sub.ended, false, 'the stream is still open');
      await publish(hub, { topic: 'https://example.com/long', data: 'late' }, { token: await publisherToken() });
      await sub.waitForEvent((e) => e.data === 'late');
    } finally {
      sub.close();
    }
  });

  test('a body framed any other way than chunked or Content-Length is refused, not read as the next request', async () => {
    // Beast reads a request whose Transfer-Encoding does not end in "chunked" as bodiless: the
    // body, here a whole authenticated publish, would be served as a second request (request
    // smuggling behind a proxy that frames it by the coding). RFC 9112 6.3: 400, then close.
    const token = await publisherToken();
    const topic = `https://example.com/smuggled/${Date.now()}`;
    const sub = await subscribeOk(hub, [topic]);
    try {
      const inner = formEncode({ topic, data: 'smuggled' });
      const smuggled =
        `POST ${HUB_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`;
      const cases = [
        ['gzip', smuggled],
        ['identity', smuggled],
        ['chunked, gzip', smuggled],
        ['gzip, chunked', `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
        ['chunked, chunked', `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
      ];
      for (const [te, body] of cases) {
        const s = await rawSocket(hub);
        s.socket.write(
          `POST ${HUB_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: ${te}\r\n\r\n${body}`,
        );
        await s.waitFor((st) => st.closed, 5000, `the hub to answer and close (${te})`);
        const statuses = [...s.text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
        assert.deepEqual(statuses, [400], `${te}: one answer, a 400: ${JSON.stringify(s.text.slice(0, 400))}`);
        assert.match(s.text, /\r\nConnection: close\r\n/i, te);
        assert.match(s.text, /Transfer-Encoding/, `${te}: the reason names the header`);
      }
      // Nothing was published: the next event on the topic is this marker.
      await publish(hub, { topic, data: 'marker' }, { token });
      await sub.waitForEvent((e) => e.data === 'marker');
      assert.deepEqual(
        sub.events.map((e) => e.data),
        ['marker'],
      );
    } finally {
      sub.close();
    }
    await assertAlive(hub);
  });

  test('an HTTP/1.1 request without exactly one Host gets 400', async () => {
    for (const head of ['GET /healthz HTTP/1.1\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n']) {
      const s = await rawSocket(hub);
      s.socket.write(head);
      await s.waitFor((st) => st.closed, 5000, 'the hub to answer and close');
      assert.match(s.text, /^HTTP\/1\.1 400 /, JSON.stringify(s.text.slice(0, 300)));
      assert.match(s.text, /Host header/);
    }
    const old = await rawSocket(hub);
    old.socket.write('GET /healthz HTTP/1.0\r\n\r\n');
    await old.waitFor((st) => st.closed, 5000, 'an HTTP/1.0 answer');
    assert.match(old.text, /^HTTP\/1\.[01] 200 /, 'HTTP/1.0 needs no Host');
  });

  test('HEAD refused on the hub path: the head only, so the next response on the connection is intact', async () => {
    for (const [what, head] of [
      ['missing topic', `HEAD ${HUB_PATH} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['invalid token', `HEAD ${HUB_PATH}?topic=a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-token\r\n\r\n`],
    ]) {
      const s = await rawSocket(hub);
      s.socket.write(`${head}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      await s.waitFor((st) => st.closed, 5000, `both answers (${what})`);
      const [first, rest] = [s.text.slice(0, s.text.indexOf('\r\n\r\n') + 4), s.text.slice(s.text.indexOf('\r\n\r\n') + 4)];
      assert.match(first, /^HTTP\/1\.1 40[01] /, `${what}: ${JSON.stringify(s.text.slice(0, 300))}`);
      assert.match(first, /\r\nContent-Length: [1-9]\d*\r\n/i, `${what}: the GET's length`);
      assert.match(rest, /^HTTP\/1\.1 200 /, `${what}: the next response starts right after the head: ${JSON.stringify(rest.slice(0, 200))}`);
    }
  });

  test('the absolute form of a target is served like its path (RFC 9112 3.2.2)', async () => {
    const s = await rawSocket(hub);
    s.socket.write(`GET http://127.0.0.1:${hub.port}/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    await s.waitFor((st) => st.closed, 5000, 'the answer');
    assert.match(s.text, /^HTTP\/1\.1 200 /, JSON.stringify(s.text.slice(0, 200)));
  });

  test('an HTTP/1.0 event stream is close-delimited and says so', async () => {
    const topic = `https://example.com/http10/${Date.now()}`;
    const s = await rawSocket(hub);
    s.socket.write(`GET ${HUB_PATH}?topic=${encodeURIComponent(topic)} HTTP/1.0\r\n\r\n`);
    await s.waitFor((st) => st.text.includes('\r\n\r\n'), 5000, 'the stream head');
    const head = s.text.slice(0, s.text.indexOf('\r\n\r\n'));
    assert.match(head, /^HTTP\/1\.0 200 /);
    assert.match(head, /\r\nConnection: close(\r\n|$)/i);
    assert.doesNotMatch(head, /Transfer-Encoding/i);
    await publish(hub, { topic, data: 'old client' }, { token: await publisherToken() });
    await s.waitFor((st) => st.text.includes('data: old client\n\n'), 5000, 'the event, unchunked');
    s.socket.destroy();
  });

  test('two Authorization headers are refused, not guessed between', async () => {
    const res = await request(hub, {
      method: 'POST',
      path: HUB_PATH,
      headers: {
        Authorization: [`Bearer ${await publisherToken()}`, 'Bearer not-a-token'],
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'topic=x&data=y',
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /more than one Authorization header/);
  });

  test('a client that disappears mid-request does not hurt the hub', async () => {
    for (let i = 0; i < 20; i++) {
      const s = await rawSocket(hub);
      s.socket.write(`POST ${HUB_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\ntopic=`);
      s.socket.resetAndDestroy();
    }
    await assertAlive(hub);
  });
});
