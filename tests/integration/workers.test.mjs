// Several workers (shards): subscribers and publishers land on different workers and still
// see each other's updates.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useHub } from '../lib/hub.mjs';
import { Closer, publishOk, request, subscribeOk } from '../lib/http.mjs';
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
