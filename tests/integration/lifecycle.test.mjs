// Process lifecycle and plain HTTP behaviour: readiness line, /healthz, 404/405, keep-alive,
// SIGTERM.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, useHub } from '../lib/hub.mjs';
import { Connection, HUB_PATH, request, subscribeOk, formEncode } from '../lib/http.mjs';
import { publisherToken } from '../lib/tokens.mjs';

describe('process lifecycle', () => {
  test('logs the readiness line on stderr and binds the requested loopback address', async () => {
    const hub = await startHub();
    try {
      assert.equal(hub.readyStream, 'stderr', `readiness line expected on stderr:\n${hub.output()}`);
      assert.ok(hub.port > 0);
      const res = await request(hub, { path: '/healthz' });
      assert.equal(res.status, 200);
    } finally {
      const exit = await hub.stop();
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${hub.output()}`);
    }
  });

  test('SIGTERM on an idle hub exits with status 0 within a few seconds', async () => {
    const hub = await startHub();
    const exit = await hub.stop({ timeoutMs: 5000 });
    assert.equal(exit.timedOut, false, `hub did not exit within 5 s of SIGTERM\n${hub.output()}`);
    assert.equal(exit.signal, null);
    assert.equal(exit.code, 0);
  });

  test('SIGTERM with open streams ends the streams and exits with status 0', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    try {
      const a = await subscribeOk(hub, ['https://example.com/a']);
      const b = await subscribeOk(hub, ['*']);
      const exit = await hub.stop({ timeoutMs: 8000 });
      assert.equal(exit.timedOut, false, `hub did not exit within 8 s of SIGTERM with open streams\n${hub.output()}`);
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${hub.output()}`);
      await a.conn.waitForClose({ timeoutMs: 2000, what: 'stream A to be closed by the stopping hub' });
      await b.conn.waitForClose({ timeoutMs: 2000, what: 'stream B to be closed by the stopping hub' });
    } finally {
      await hub.kill();
    }
  });

  test('SIGHUP is logged and ignored: streams and requests go on', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    try {
      const sub = await subscribeOk(hub, ['https://example.com/hup']);
      hub.process.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while (!/received SIGHUP: ignored/.test(hub.stderr())) {
        assert.ok(Date.now() < deadline, `no SIGHUP log line:\n${hub.output()}`);
        await new Promise((r) => setTimeout(r, 10)); // polling the captured log, with a deadline
      }
      assert.equal(hub.exitInfo(), null, 'still running');
      assert.equal((await request(hub, { path: '/healthz' })).status, 200);
      const token = await publisherToken();
      await request(hub, {
        method: 'POST',
        path: HUB_PATH,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: formEncode({ topic: 'https://example.com/hup', data: 'after' }),
      });
      await sub.waitForEvent((e) => e.data === 'after');
      sub.close();
      const exit = await hub.stop({ timeoutMs: 5000 });
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${hub.output()}`);
    } finally {
      await hub.kill();
    }
  });

  test('an unsupported JWT algorithm is a startup error, not a running hub', async () => {
    await assert.rejects(
      startHub({ env: { JWT_ALGORITHM: 'XX999' }, readyTimeoutMs: 5000 }),
      /exited before it was ready \(code [1-9]/,
    );
  });
});

describe('plain HTTP', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });

  test('/healthz answers 200 with a JSON status', async () => {
    const res = await request(hub, { path: '/healthz' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.text), { status: 'ok' });
  });

  test('/healthz/ready answers 200 when the transport accepts publishes', async () => {
    const res = await request(hub, { path: '/healthz/ready' });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { status: 'ready' });
    assert.equal((await request(hub, { path: '/healthz/readyx' })).status, 404);
    assert.equal((await request(hub, { method: 'POST', path: '/healthz/ready', body: '' })).status, 405);
  });

  test('/ answers a short HTML page and /robots.txt keeps crawlers out, as on the reference', async () => {
    const root = await request(hub, { path: '/' });
    assert.equal(root.status, 200);
    assert.equal(root.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(root.text, /^<!DOCTYPE html>/);
    assert.match(root.text, /<code>\/\.well-known\/mercure<\/code>/);
    assert.doesNotMatch(root.text, /ui\//, 'no link to the debugging UI when it is off');
    const head = await request(hub, { method: 'HEAD', path: '/' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(root.text)));
    assert.equal(head.text, '');
    const robots = await request(hub, { path: '/robots.txt' });
    assert.equal(robots.status, 200);
    assert.equal(robots.text, 'User-agent: *\nDisallow: /\n');
    const post = await request(hub, { method: 'POST', path: '/', body: '' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await request(hub, { path: '/index.html' })).status, 404);
  });

  test('unknown paths answer 404', async () => {
    for (const path of ['/nope', '/.well-known/mercurex?topic=a', '/.well-known/other']) {
      const res = await request(hub, { path });
      assert.equal(res.status, 404, `GET ${path}`);
    }
  });

  test('wrong methods on the hub endpoint answer 405 with an Allow header', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await request(hub, { method, path: `${HUB_PATH}?topic=a`, body: '' });
      assert.equal(res.status, 405, `${method} ${HUB_PATH}`);
      const allow = (res.headers.allow || '').split(',').map((s) => s.trim().toUpperCase());
      for (const m of ['GET', 'POST']) assert.ok(allow.includes(m), `Allow lists ${m}: ${res.headers.allow}`);
      assert.ok(!allow.includes(method), `Allow must not list ${method}`);
    }
  });

  test('wrong methods on /healthz answer 405 with an Allow header', async () => {
    const res = await request(hub, { method: 'POST', path: '/healthz', body: '' });
    assert.equal(res.status, 405);
    assert.match(res.headers.allow || '', /\bGET\b/);
  });

  test('keep-alive: several requests, including a publish, on one connection', async () => {
    const conn = await Connection.open(hub, { parseSse: false });
    try {
      const token = await publisherToken();
      const r1 = await conn.request({ path: '/healthz' });
      assert.equal(r1.status, 200);
      const r2 = await conn.request({
        method: 'POST',
        path: HUB_PATH,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: formEncode({ topic: 'https://example.com/keepalive', data: 'x' }),
      });
      assert.equal(r2.status, 200, r2.text);
      const r3 = await conn.request({ path: '/nope' });
      assert.equal(r3.status, 404);
      const r4 = await conn.request({ path: HUB_PATH }); // no topic: 400, connection still usable
      assert.equal(r4.status, 400);
      const r5 = await conn.request({ path: '/healthz' });
      assert.equal(r5.status, 200);
      assert.equal(conn.closed, false, 'the hub must keep the connection open between requests');
    } finally {
      conn.close();
    }
  });

  test('keep-alive: pipelined requests are answered in order', async () => {
    const conn = await Connection.open(hub, { parseSse: false });
    try {
      const a = conn.send({ path: '/healthz' });
      const b = conn.send({ path: '/nope' });
      const c = conn.send({ path: '/healthz' });
      await c.waitForEnd();
      assert.deepEqual([a.status, b.status, c.status], [200, 404, 200]);
    } finally {
      conn.close();
    }
  });

  test('Connection: close is honoured', async () => {
    const conn = await Connection.open(hub, { parseSse: false });
    const res = await conn.request({ path: '/healthz', headers: { Connection: 'close' } });
    assert.equal(res.status, 200);
    await conn.waitForClose({ timeoutMs: 2000 });
  });
});
