// A graceful shutdown that drains the event streams (the reference's rolling updates): on SIGTERM
// no new connection is taken, and open streams run to their own end of life (write_timeout,
// jittered per connection) so their clients reconnect spread over time, not all at once; within
// GRACE_PERIOD; a second SIGTERM (a preStop hook's POST /stop then the kubelet's) changes nothing,
// SIGINT ends them now. The Redis transport drains by default: redis.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startHub } from '../lib/hub.mjs';
import { H2Client } from '../lib/h2.mjs';
import { HUB_PATH, subscribeOk, withDeadline } from '../lib/http.mjs';

const TOPIC = 'https://example.com/drain';

/** Resolves to the error code of a TCP connection to `port` (null when it connected). */
function connectOutcome(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (e) => resolve(e.code));
  });
}

test('SIGTERM with GRACE_PERIOD: no new connection, open streams run to their end of life, then exit 0', async (t) => {
  const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '3s', GRACE_PERIOD: '30s' } });
  t.after(() => hub.kill());
  const streams = [await subscribeOk(hub, [TOPIC]), await subscribeOk(hub, [TOPIC])];
  t.after(() => streams.forEach((s) => s.close()));

  const signalled = Date.now();
  hub.process.kill('SIGTERM');
  await hub.waitForLog(/draining 2 event streams: no new connection; each stream ends at its own end of life, within 3 s/);
  assert.equal(await connectOutcome(hub.port), 'ECONNREFUSED', 'the listener is closed');
  assert.deepEqual(streams.map((s) => s.ended), [false, false], 'the streams are not ended by the signal');

  // Each ends at 80-100% of 3 s from its start, with its last chunk; then the hub stops.
  for (const s of streams) await s.waitForEnd({ timeoutMs: 10_000, what: 'the stream to reach its end of life' });
  const exit = await hub.exited;
  assert.equal(exit.code, 0, hub.output());
  assert.match(hub.stderr(), /every event stream has ended/);
  assert.ok(Date.now() - signalled < 10_000, `stopped ${Date.now() - signalled} ms after SIGTERM, not after GRACE_PERIOD`);
});

test('while draining, SIGTERM again changes nothing and SIGINT ends the streams at once', async (t) => {
  const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '60s', GRACE_PERIOD: '60s' } });
  t.after(() => hub.kill());
  const stream = await subscribeOk(hub, [TOPIC]);
  t.after(() => stream.close());

  hub.process.kill('SIGTERM');
  await hub.waitForLog(/draining 1 event stream:/);
  hub.process.kill('SIGTERM'); // the kubelet's, after a preStop hook's POST /stop
  await hub.waitForLog(/received SIGTERM while draining: already stopping/);
  assert.equal(hub.exitInfo(), null);
  assert.equal(stream.ended, false);

  hub.process.kill('SIGINT');
  await stream.waitForEnd({ timeoutMs: 5_000, what: 'the stream ended by SIGINT' });
  const exit = await hub.exited;
  assert.equal(exit.code, 0, hub.output());
  assert.match(hub.stderr(), /received SIGINT while draining: ending the 1 event streams left now/);
});

test('HTTP/2: the connection gets GOAWAY, its event streams run to their end of life, then it closes', async (t) => {
  const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '3s', GRACE_PERIOD: '30s', PROTOCOLS: 'h1 h2c' } });
  t.after(() => hub.kill());
  const h2 = await H2Client.connect(hub);
  t.after(() => h2.close());
  const streams = [await h2.subscribeOk([TOPIC]), await h2.subscribeOk([TOPIC])];

  hub.process.kill('SIGTERM');
  await hub.waitForLog(/draining 2 event streams: no new connection/);
  if (h2.goaway === null) await withDeadline(once(h2.session, 'goaway'), 5_000, 'the GOAWAY of the draining hub');
  assert.equal(h2.goaway.errorCode, 0, 'NO_ERROR');
  assert.deepEqual(streams.map((s) => s.ended), [false, false], 'the streams are not ended by the signal');

  for (const s of streams) {
    await s.waitForEnd({ timeoutMs: 10_000, what: 'the h2 stream to reach its end of life' });
    assert.equal(s.endReason, 'complete', s.describe());
  }
  await h2.waitForClose({ timeoutMs: 5_000, what: 'the hub to close the connection once its streams ended' });
  assert.equal((await hub.exited).code, 0, hub.output());
  assert.match(hub.stderr(), /every event stream has ended/);
});

test('HTTP/2: a subscribe under way when the GOAWAY goes is served, and drained with the others', async (t) => {
  const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '3s', GRACE_PERIOD: '30s', PROTOCOLS: 'h1 h2c' } });
  t.after(() => hub.kill());
  const h2 = await H2Client.connect(hub);
  t.after(() => h2.close());
  const open = await h2.subscribeOk([TOPIC]);
  // Headers sent, the request not ended: processed by the hub (the PING after them is answered).
  const late = h2.session.request({ ':method': 'GET', ':path': `${HUB_PATH}?topic=${encodeURIComponent(TOPIC)}`, accept: 'text/event-stream' }, { endStream: false });
  const head = new Promise((resolve) => late.once('response', resolve));
  await withDeadline(new Promise((resolve, reject) => h2.session.ping((e) => (e ? reject(e) : resolve()))), 5_000, 'the PING answer');

  hub.process.kill('SIGTERM');
  await hub.waitForLog(/draining 1 event stream: no new connection/);
  if (h2.goaway === null) await withDeadline(once(h2.session, 'goaway'), 5_000, 'the GOAWAY of the draining hub');
  late.end();
  const headers = await withDeadline(head, 5_000, 'the answer to the subscribe under way');
  assert.equal(headers[':status'], 200, 'served, not 503 (which EventSource takes as final)');
  late.resume();
  await withDeadline(once(late, 'close'), 10_000, 'the late stream to reach its end of life');
  assert.equal(late.rstCode, 0, 'ended with END_STREAM');
  await open.waitForEnd({ timeoutMs: 10_000 });
  assert.equal((await hub.exited).code, 0, hub.output());
});

test('without GRACE_PERIOD a hub with its own store ends its streams at once (the next hub needs the store)', async (t) => {
  const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '60s', GRACE_PERIOD: undefined } });
  t.after(() => hub.kill());
  const stream = await subscribeOk(hub, [TOPIC]);
  t.after(() => stream.close());
  const res = await hub.stop({ timeoutMs: 5_000 });
  assert.equal(res.timedOut, false, JSON.stringify(res));
  await stream.waitForEnd({ timeoutMs: 5_000 });
  assert.doesNotMatch(hub.stderr(), /draining/);
});
