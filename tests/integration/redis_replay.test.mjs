// History replay on the Redis transport, whose reads are round trips: made on the hub's history
// reader threads, never on an event loop (a distant Redis delays the resuming subscribers only);
// a read answered late after the subscriber's buffer overflowed is read again before going
// live; HTTP/2 streams waiting for their reads are not taken for stalled; a hub stopped during
// a storm of resumes exits promptly. A real redis-server behind a proxy that delays or holds.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Closer, publishOk, request, subscribe, subscribeOk } from '../lib/http.mjs';
import { startHub } from '../lib/hub.mjs';
import { H2Client } from '../lib/h2.mjs';
import { removeRedis, startDelayProxy, startHoldingProxy, startRedis } from '../lib/redis.mjs';
import { KeepAlivePublisher, anyPublisherToken, duplicates, waitForId } from '../lib/store.mjs';

const closer = new Closer();
const hubs = [];
after(async () => {
  await closer.closeAll();
  for (const h of hubs) await h.stop();
});

const freshTopic = () => `https://example.com/replay/${randomUUID()}`;

test('resumes through a distant Redis do not hold the event loop: other requests are answered meanwhile, over HTTP/1.1 and HTTP/2', async () => {
  const own = await startRedis();
  const DELAY = 250; // each way: a round trip to Redis takes 500 ms
  const proxy = await startDelayProxy(own.port, DELAY);
  try {
    const stream = `far-${randomUUID()}`;
    const h = await startHub({
      workers: 1,
      readyTimeoutMs: 30_000,
      env: { ALLOW_ANONYMOUS: '1', PROTOCOLS: 'h1 h2c', TRANSPORT_URL: `redis://127.0.0.1:${proxy.port}/0?stream=${stream}` },
    });
    hubs.push(h);
    const topic = freshTopic();
    const token = await anyPublisherToken();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await publishOk(h, { topic, data: `stored ${i}` }, { token, timeoutMs: 10_000 }));
    // 6 resumes over HTTP/1.1 and 2 over HTTP/2 at once: each needs an HGET and an XRANGE
    // (two round trips, 1 s); made on the event loop they would hold it 8 s.
    const h2 = await H2Client.connect(h);
    const started = Date.now();
    const resuming = [
      ...Array.from({ length: 6 }, () => subscribeOk(h, [topic], { headers: { 'Last-Event-ID': ids[0] }, timeoutMs: 20_000 })),
      ...Array.from({ length: 2 }, () => h2.subscribeOk([topic], { headers: { 'last-event-id': ids[0] }, timeoutMs: 20_000 })),
    ].map((p) => p.then((sub) => closer.add(sub)));
    let slowest = 0;
    let probes = 0;
    let done = false;
    const all = Promise.all(resuming).finally(() => {
      done = true;
    });
    while (!done) {
      const t0 = Date.now();
      const res = await request(h, { path: '/healthz', timeoutMs: 20_000 });
      assert.equal(res.status, 200);
      slowest = Math.max(slowest, Date.now() - t0);
      probes++;
    }
    const subs = await all;
    for (const sub of subs) {
      assert.equal(sub.headers['last-event-id'], ids[0]);
      await sub.waitFor((r) => r.events.length >= 2, { what: 'the replayed events', timeoutMs: 20_000 });
      assert.deepEqual(sub.events.map((e) => e.id), ids.slice(1));
    }
    assert.ok(probes >= 3, `${probes} probes during the resumes (${Date.now() - started} ms)`);
    assert.ok(slowest < DELAY, `the slowest of ${probes} /healthz answers took ${slowest} ms during the resumes`);
    h2.close();
  } finally {
    await proxy.close();
    await removeRedis(own);
  }
});

/**
 * A hub (1 worker, `env` added) on a fresh Redis through a proxy that can hold a read's answer
 * (`proxy.arm()` / `proxy.release()`; `command`: the one whose answers it holds), with 3 updates
 * stored on `topic` (`stored`, in order).
 */
async function heldHub(name, env, command = 'XRANGE') {
  const own = await startRedis();
  const proxy = await startHoldingProxy(own.port, command);
  const h = await startHub({
    workers: 1,
    env: { ALLOW_ANONYMOUS: '1', TRANSPORT_URL: `redis://127.0.0.1:${proxy.port}/0?stream=${name}-${randomUUID()}`, ...env },
  });
  hubs.push(h);
  const topic = freshTopic();
  const token = await anyPublisherToken();
  const stored = [];
  for (let i = 0; i < 3; i++) stored.push(await publishOk(h, { topic, data: `stored ${i}` }, { token }));
  return {
    h, proxy, topic, token, stored,
    async remove() {
      await proxy.close();
      await removeRedis(own);
    },
  };
}

test('a replay whose last read is answered late, after a burst overflowed the subscriber\'s buffer, still sends every update once', async () => {
  const c = await heldHub('late', { MAX_BODY_SIZE: '4MiB' });
  const { h, proxy, topic, token, stored } = c;
  try {
    const held = proxy.arm();
    const sub = closer.add(await subscribeOk(h, [topic], { headers: { 'Last-Event-ID': stored[0] } }));
    await held; // the replay's read reached Redis; its answer (the end of the stream) waits
    // 3 updates of 3 MiB (more than the 8 MiB a replaying subscriber buffers) stored and fanned
    // out while the answer is held (for less than the history's 3-s read timeout): the buffer
    // overflows and is emptied.
    const big = 'b'.repeat(3 * 1024 * 1024);
    const burst = await Promise.all([0, 1, 2].map((k) => publishOk(h, { topic, id: `burst-${k}-${randomUUID()}`, data: big }, { token })));
    proxy.release();
    const end = await publishOk(h, { topic, data: 'end' }, { token });
    await waitForId(sub, end, { timeoutMs: 20_000 });
    const got = sub.events.map((e) => e.id);
    assert.deepEqual(duplicates(got), []);
    assert.deepEqual(got.slice(0, 2), stored.slice(1));
    assert.equal(got.length, 2 + burst.length + 1, `${got.length} events received`);
    assert.deepEqual(new Set(got.slice(2, -1)), new Set(burst));
  } finally {
    await c.remove();
  }
});

test('SIGTERM while a resume waits for its id lookup: the subscribe under way is served and drained with the others', async () => {
  const c = await heldHub('inflight', { GRACE_PERIOD: '30s', WRITE_TIMEOUT: '3s' }, 'HGET');
  const { h, proxy, topic, stored } = c;
  try {
    const open = closer.add(await subscribeOk(h, [topic])); // no resume, no lookup: counted by the drain
    const held = proxy.arm();
    const pending = subscribe(h, [topic], { headers: { 'Last-Event-ID': stored[0] }, timeoutMs: 15_000 });
    await held; // the lookup reached Redis; its answer waits (under the history's 3-s read timeout)
    h.process.kill('SIGTERM');
    await h.waitForLog(/draining 1 event stream: no new connection/);
    proxy.release();
    const late = closer.add(await pending);
    assert.equal(late.status, 200, late.text);
    await late.waitFor((r) => r.events.length === 2, { what: 'the replayed events' });
    assert.deepEqual(late.events.map((e) => e.id), stored.slice(1));
    for (const s of [open, late]) await s.waitForEnd({ timeoutMs: 10_000, what: 'the end of life of a drained stream' });
    assert.equal((await h.exited).code, 0, h.output());
  } finally {
    await c.remove();
  }
});

test('a resume waiting for its read still gets heartbeats, over HTTP/1.1 and HTTP/2', async () => {
  const c = await heldHub('beat', { HEARTBEAT_INTERVAL: '100ms', PROTOCOLS: 'h1 h2c' });
  const { h, proxy, topic, stored } = c;
  try {
    const h2 = await H2Client.connect(h);
    for (const open of [
      () => subscribeOk(h, [topic], { headers: { 'Last-Event-ID': stored[0] } }),
      () => h2.subscribeOk([topic], { headers: { 'last-event-id': stored[0] } }),
    ]) {
      const held = proxy.arm();
      const sub = closer.add(await open());
      await held; // its read's answer waits (under the history's 3-s read timeout)
      await sub.waitFor((r) => r.comments.length >= 3, { what: 'heartbeats while the read waits', timeoutMs: 5_000 });
      assert.equal(sub.events.length, 0);
      proxy.release();
      await sub.waitFor((r) => r.events.length === 2, { what: 'the replayed events' });
      assert.deepEqual(sub.events.map((e) => e.id), stored.slice(1));
    }
    h2.close();
  } finally {
    await c.remove();
  }
});

/**
 * A hub next to Redis (fast publishing) and a hub reaching the same stream through a proxy that
 * delays every chunk `delay` ms each way; `count` updates stored on `topic` through the near one
 * (`first` the oldest; `ids` all of them, not in the stream's order).
 */
async function farCluster({ delay, count, env = {} }) {
  const own = await startRedis();
  const proxy = await startDelayProxy(own.port, delay);
  const stream = `far-${randomUUID()}`;
  const near = await startHub({ env: { ALLOW_ANONYMOUS: '1', TRANSPORT_URL: own.url({ stream }) } });
  hubs.push(near);
  const far = await startHub({
    workers: 1,
    readyTimeoutMs: 30_000,
    env: { ALLOW_ANONYMOUS: '1', PROTOCOLS: 'h1 h2c', TRANSPORT_URL: `redis://127.0.0.1:${proxy.port}/0?stream=${stream}`, ...env },
  });
  hubs.push(far);
  const topic = freshTopic();
  const token = await anyPublisherToken();
  // The first alone (the resumes start after it), the rest from 4 publishers at once.
  const first = await publishOk(near, { topic, data: 'first' }, { token });
  const publishers = Array.from({ length: 4 }, () => new KeepAlivePublisher(near, token));
  const ids = (
    await Promise.all(
      publishers.map(async (p, k) => {
        const mine = [];
        for (let i = 1 + k; i < count; i += publishers.length) {
          const r = await p.publish({ topic, data: `stored ${i}` });
          assert.equal(r.status, 200, JSON.stringify(r));
          mine.push(r.id);
        }
        p.close();
        return mine;
      }),
    )
  ).flat();
  return {
    near, far, topic, token, first, ids: [first, ...ids],
    async remove() {
      await proxy.close();
      await removeRedis(own);
    },
  };
}

test('HTTP/2 streams waiting for their reads are not taken for stalled while live updates wait for the replay', async () => {
  // 2,000 stored: each resume is 2 reads of 8 round trips (200 ms each), far longer than the
  // dispatch_timeout of 1 s; live updates are buffered meanwhile.
  const c = await farCluster({ delay: 100, count: 2000, env: { DISPATCH_TIMEOUT: '1s' } });
  try {
    const h2 = await H2Client.connect(c.far);
    const subs = await Promise.all(
      Array.from({ length: 6 }, () => h2.subscribeOk([c.topic], { headers: { 'last-event-id': c.first }, timeoutMs: 20_000 })),
    );
    for (const s of subs) closer.add(s);
    const live = [];
    for (let i = 0; i < 10; i++) live.push(await publishOk(c.near, { topic: c.topic, data: `live ${i}` }, { token: c.token }));
    for (const sub of subs) {
      await waitForId(sub, live.at(-1), { timeoutMs: 30_000 });
      const got = sub.events.map((e) => e.id);
      assert.deepEqual(duplicates(got), []);
      assert.equal(got.length, c.ids.length - 1 + live.length);
      assert.deepEqual(got.slice(-live.length), live);
      assert.deepEqual(new Set(got.slice(0, -live.length)), new Set(c.ids.slice(1)));
    }
    assert.doesNotMatch(c.far.stderr(), /write_timeout/);
    h2.close();
  } finally {
    await c.remove();
  }
});

test('a hub stopped during a storm of resumes through a distant Redis exits promptly: reads not begun are not made', async () => {
  const c = await farCluster({ delay: 150, count: 2000 });
  try {
    // 40 resumes of 2,000 events: 2 reads of 8 round trips (300 ms) each, 8 at a time.
    const subs = await Promise.all(
      Array.from({ length: 40 }, () => subscribeOk(c.far, [c.topic], { headers: { 'Last-Event-ID': c.first }, timeoutMs: 20_000 })),
    );
    for (const s of subs) closer.add(s);
    const stopped = await c.far.stop({ timeoutMs: 20_000 });
    assert.equal(stopped.timedOut, false);
    assert.equal(stopped.code, 0, c.far.stderr());
    // The reads under way end (each up to 8 round trips, 2.4 s); the 70 queued are not made.
    assert.ok(stopped.ms < 6000, `stopped in ${stopped.ms} ms`);
    assert.doesNotMatch(c.far.stderr(), /did not drain/);
  } finally {
    await c.remove();
  }
});

/** How many times Redis ran `command`, and the bytes it sent, since its statistics were reset. */
async function callsOf(redis, command) {
  const info = String(await redis.command('INFO', 'commandstats'));
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return m ? Number(m[1]) : 0;
}
async function bytesSent(redis) {
  const info = String(await redis.command('INFO', 'stats'));
  return Number(/total_net_output_bytes:(\d+)/.exec(info)[1]);
}

test('a resume reads a replay step in about one XRANGE, sized by the frames seen: few round trips for small updates, one entry at a time for large ones', async () => {
  const own = await startRedis();
  try {
    const stream = `sized-${randomUUID()}`;
    const h = await startHub({ workers: 1, env: { ALLOW_ANONYMOUS: '1', TRANSPORT_URL: own.url({ stream }) } });
    hubs.push(h);
    const token = await anyPublisherToken();
    const topic = freshTopic();
    // 3,000 updates of 100 bytes, from 6 keep-alive connections.
    const publishers = Array.from({ length: 6 }, () => new KeepAlivePublisher(h, { token }));
    await Promise.all(
      publishers.map(async (p, n) => {
        for (let i = 0; i < 500; i++) {
          const r = await p.publish({ topic, data: `${n}-${i}-`.padEnd(100, 'x') });
          assert.equal(r.status, 200, r.reason ?? r.text);
        }
        p.drop();
      }),
    );
    await own.command('CONFIG', 'RESETSTAT');
    const small = await subscribeOk(h, [topic], { headers: { 'Last-Event-ID': 'earliest' } });
    closer.add(small);
    await small.waitForEvents(3000, { timeoutMs: 20_000 });
    small.close();
    const smallReads = await callsOf(own, 'xrange');
    // Frames of about 170 bytes: a step (64 KiB) is ~390 of them, 8 steps; reads of 128 entries
    // took 29 round trips, reads sized to a step take 9.
    assert.ok(smallReads <= 14, `${smallReads} XRANGEs to replay 3,000 small updates`);

    // 6 updates of 300 KB, resumed after the first: each step sends one. Reads of 128 entries
    // returned all that followed each time (1.5 + 1.2 + 0.9 + 0.6 + 0.3 MB); now the first read,
    // sized by the small frames seen before, takes the five (1.5 MB), then one entry per read.
    const big = freshTopic();
    const bigIds = [];
    for (let i = 0; i < 6; i++) bigIds.push(await publishOk(h, { topic: big, data: `${i}`.padEnd(300_000, 'y') }, { token }));
    await own.command('CONFIG', 'RESETSTAT');
    const sub = await subscribeOk(h, [big], { headers: { 'Last-Event-ID': bigIds[0] } });
    closer.add(sub);
    await sub.waitForEvents(5, { timeoutMs: 20_000 });
    assert.deepEqual(sub.events.map((e) => e.id), bigIds.slice(1));
    sub.close();
    const sent = await bytesSent(own);
    assert.ok(sent < 3_500_000, `Redis sent ${sent} bytes to replay 5 updates of 300 KB`);
  } finally {
    await removeRedis(own);
  }
});
