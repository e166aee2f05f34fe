// Several workers (shards): subscribers and publishers land on different workers and still
// see each other's updates.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, useHub } from '../lib/hub.mjs';
import { H2Client } from '../lib/h2.mjs';
import { Closer, Connection, publishOk, request, subscribeOk } from '../lib/http.mjs';
import { scrape, waitForMetrics } from '../lib/prometheus.mjs';
import { publisherToken, subscriberToken } from '../lib/tokens.mjs';

const closer = new Closer();
after(() => closer.closeAll());

describe('--workers 2', () => {
  const hub = useHub({ workers: 2, env: { ALLOW_ANONYMOUS: '1' } });

  test('every subscriber, whatever its worker, receives every update from every publisher connection', async () => {
    const topic = 'https://example.com/workers/shared';
    const subs = [];
    for (let i = 0; i < 32; i++) subs.push(closer.add(await subscribeOk(hub, [topic])));
    const token = await publisherToken();
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push(await publishOk(hub, { topic, data: `m${i}` }, { token })); // one fresh connection each
    for (const [n, sub] of subs.entries()) {
      await sub.waitForEvents(ids.length);
      assert.deepEqual(sub.events.map((e) => e.id), ids, `subscriber ${n} got all updates in order`);
    }
  });

  test('each subscriber gets exactly the updates of its own topic, private ones included', async () => {
    const subs = [];
    for (let i = 0; i < 24; i++) {
      const topic = `https://example.com/workers/${i}`;
      subs.push({ topic, sub: closer.add(await subscribeOk(hub, [topic], { token: await subscriberToken([topic]) })) });
    }
    const token = await publisherToken();
    // Publish concurrently, each request on its own connection.
    await Promise.all(
      subs.map(({ topic }, i) =>
        publishOk(hub, [['topic', topic], ['data', `p${i}`], ['private', 'on']], { token }).then(() =>
          publishOk(hub, [['topic', topic], ['data', `q${i}`]], { token }),
        ),
      ),
    );
    for (const [i, { sub }] of subs.entries()) {
      await sub.waitForEvents(2);
      assert.deepEqual(sub.events.map((e) => e.data), [`p${i}`, `q${i}`]);
    }
    // A final broadcast proves no stray update is still in flight to the wrong subscriber.
    for (const { topic } of subs) await publishOk(hub, { topic, data: 'end' }, { token });
    for (const [i, { sub }] of subs.entries()) {
      await sub.waitForEvent((e) => e.data === 'end');
      assert.deepEqual(sub.events.map((e) => e.data), [`p${i}`, `q${i}`, 'end']);
    }
  });

  test('400 concurrent subscribers all receive a broadcast', async () => {
    const topic = 'https://example.com/workers/crowd';
    const subs = await Promise.all(Array.from({ length: 400 }, () => subscribeOk(hub, [topic], { timeoutMs: 15_000 })));
    for (const s of subs) closer.add(s);
    const id = await publishOk(hub, { topic, data: 'to all' }, { token: await publisherToken() });
    for (const s of subs) {
      const [ev] = await s.waitForEvents(1, { timeoutMs: 15_000 });
      assert.equal(ev.id, id);
    }
    for (const s of subs) s.close();
  });

  test('many short requests are all answered', async () => {
    const results = await Promise.all(Array.from({ length: 64 }, () => request(hub, { path: '/healthz' })));
    assert.ok(results.every((r) => r.status === 200));
  });
});

describe('connections spread over the workers', () => {
  // The kernel spreads connections over the workers' listening sockets by a hash of their
  // ports; the hub hands a new connection to the worker serving the fewest when the one that
  // accepted it serves more by over a slack (2 + 1 in 64), before reading anything from it.
  test('after one worker lost all its connections, new ones go to it, and they work (HTTP/1.1, h2c, event streams)', async () => {
    const hub = await startHub({
      workers: 2,
      env: { ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1', METRICS_ADDR: '127.0.0.1:0', PROTOCOLS: 'h1 h2c', HEARTBEAT_INTERVAL: '0' },
    });
    const local = new Closer();
    try {
      const metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(hub.stderr())[1]);
      const perWorker = (e) => [0, 1].map((w) => e.value('mercure_connections', { worker: String(w) }));
      const counts = async () => perWorker(await scrape(metricsPort));
      const waitForCounts = (pred, what) =>
        waitForMetrics(metricsPort, (e) => pred(perWorker(e)), { what }).then(perWorker);

      // 24 keep-alive connections, one at a time: where each landed, from the gauges.
      const landed = [[], []];
      let before = await counts();
      for (let i = 0; i < 24; i++) {
        const conn = local.add(await Connection.open(hub));
        const after = await waitForCounts((c) => c[0] + c[1] === i + 1, `connection ${i + 1} counted`);
        landed[after[0] > before[0] ? 0 : 1].push(conn);
        before = after;
      }
      assert.ok(Math.abs(before[0] - before[1]) <= 3, `24 connections spread as ${before}`);

      // Worker 1 loses every connection; worker 0 keeps its ~12.
      const kept = landed[0].length;
      await Promise.all(landed[1].map((c) => c.close()));
      await waitForCounts((c) => c[0] === kept && c[1] === 0, `worker 1 emptied (${kept} left on worker 0)`);

      // New connections go to worker 1 until it serves about as many: event streams over
      // HTTP/1.1, one h2c session carrying a stream, and a keep-alive publisher.
      const topic = 'https://example.com/workers/balance';
      const subs = [];
      for (let i = 0; i < kept - 2; i++) subs.push(local.add(await subscribeOk(hub, [topic])));
      const h2 = local.add(await H2Client.connect(hub));
      subs.push(local.add(await h2.subscribeOk([topic])));
      const publisher = local.add(await Connection.open(hub));
      const spread = await waitForCounts((c) => c[0] + c[1] === 2 * kept, `${kept} new connections counted`);
      assert.ok(
        Math.abs(spread[0] - spread[1]) <= 3,
        `after ${kept} new connections the workers serve ${spread} (by the hash alone, about half would have gone to worker 0)`,
      );

      const token = await publisherToken();
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const res = await publisher.request({
          method: 'POST',
          path: '/.well-known/mercure',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `topic=${encodeURIComponent(topic)}&data=b${i}`,
        });
        assert.equal(res.status, 200, res.text);
        ids.push(res.text);
      }
      for (const [n, sub] of subs.entries()) {
        await sub.waitForEvents(ids.length);
        assert.deepEqual(sub.events.map((e) => e.id), ids, `subscriber ${n} got the updates in order`);
      }
    } finally {
      await local.closeAll();
      await hub.stop();
    }
  });
});
