// Fan-out under load: exact delivery to several subscribers, and a stalled subscriber that
// must not hold back the others.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../lib/hub.mjs';
import { Closer, Connection, HUB_PATH, formEncode, subscribeOk } from '../lib/http.mjs';
import { nowSeconds, publisherToken, subscriberToken } from '../lib/tokens.mjs';
import { updateMatches } from '../lib/oracle.mjs';
import { waitForMetrics } from '../lib/prometheus.mjs';

/** Resolves once the hub has cut off at least one subscriber (seen in its metrics). */
const cutOff = (hub) =>
  waitForMetrics(hub, (m) => m.sum('mercure_subscriber_disconnects_total') >= 1, {
    timeoutMs: 15_000,
    what: 'the stalled subscriber to be cut off',
  });

const closer = new Closer();
after(() => closer.closeAll());

/** Publishes on one keep-alive connection; resolves with {id, ms}. */
async function publishOn(conn, fields, token) {
  const t0 = Date.now();
  const res = await conn.request({
    method: 'POST',
    path: HUB_PATH,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: formEncode(fields),
    timeoutMs: 10_000,
  });
  if (res.status !== 200) throw new Error(`publish: ${res.status} ${res.text}`);
  return { id: res.text, ms: Date.now() - t0 };
}

describe('fan-out', () => {
  test('two subscribers with different selectors get exactly their updates, in order, once', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    try {
      const selectors = {
        one: ['https://example.com/a/{id}', 'https://example.com/both', 'urn:end'],
        two: ['https://example.com/b/{id}', 'https://example.com/both', 'https://example.com/a/7', 'urn:end'],
      };
      const subs = {
        one: closer.add(await subscribeOk(hub, selectors.one)),
        two: closer.add(await subscribeOk(hub, selectors.two)),
      };
      const updates = [];
      for (let i = 0; i < 500; i++) {
        const topics = [
          [`https://example.com/a/${i % 10}`],
          [`https://example.com/b/${i}`],
          ['https://example.com/both'],
          [`https://example.com/a/${i}`, `https://example.com/b/${i}`],
          [`https://example.com/c/${i}`],
          [`https://example.com/c/${i}`, 'https://example.com/both', `https://example.com/a/${i}`],
        ][i % 6];
        updates.push({ topics, data: `u${i}` });
      }
      updates.push({ topics: ['urn:end'], data: 'end' });
      const conn = closer.add(await Connection.open(hub, { parseSse: false }));
      const token = await publisherToken();
      const ids = [];
      for (const u of updates) {
        ids.push((await publishOn(conn, [...u.topics.map((t) => ['topic', t]), ['data', u.data]], token)).id);
      }
      assert.equal(new Set(ids).size, ids.length);
      for (const name of ['one', 'two']) {
        const sub = subs[name];
        await sub.waitForEvent((e) => e.data === 'end', { timeoutMs: 15_000 });
        const expected = updates.map((u, i) => ({ ...u, id: ids[i] })).filter((u) => updateMatches(selectors[name], u.topics));
        assert.ok(expected.length > 100);
        assert.deepEqual(
          sub.events.map((e) => `${e.id} ${e.data}`),
          expected.map((u) => `${u.id} ${u.data}`),
          `subscriber ${name}: exactly the matching updates, in publication order, no duplicates`,
        );
      }
    } finally {
      await hub.stop();
    }
  });

  test('a stalled subscriber flooded with many small updates is disconnected; publishers never wait', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', DISPATCH_TIMEOUT: '500ms', HEARTBEAT_INTERVAL: '0', METRICS_ENABLED: '1' } });
    try {
      const topic = 'https://example.com/many';
      const stalled = closer.add(await subscribeOk(hub, [topic]));
      stalled.conn.pause();
      const healthy = closer.add(await subscribeOk(hub, [topic]));
      const token = await publisherToken();
      const publishers = 4;
      const perPublisher = 1500;
      const data = 'y'.repeat(4000); // 4 * 1500 * 4 kB = 24 MB in 6000 updates
      let slowest = 0;
      const idsBy = await Promise.all(
        Array.from({ length: publishers }, async (_, p) => {
          const conn = closer.add(await Connection.open(hub, { parseSse: false }));
          const ids = [];
          for (let i = 0; i < perPublisher; i++) {
            const r = await publishOn(conn, [['topic', topic], ['data', `${p}:${i}:${data}`]], token);
            ids.push(r.id);
            slowest = Math.max(slowest, r.ms);
          }
          return ids;
        }),
      );
      assert.ok(slowest < 2000, `slowest publish ${slowest} ms`);
      const total = publishers * perPublisher;
      await healthy.waitForEvents(total, { timeoutMs: 60_000 });
      assert.equal(healthy.events.length, total);
      assert.equal(new Set(healthy.events.map((e) => e.id)).size, total, 'no duplicates');
      for (const [p, ids] of idsBy.entries()) {
        const seen = healthy.events.filter((e) => e.data.startsWith(`${p}:`)).map((e) => e.id);
        assert.deepEqual(seen, ids, `publisher ${p}'s updates arrive in its order`);
      }
      await cutOff(hub);
      stalled.conn.resume();
      await stalled.waitForEnd({ timeoutMs: 15_000, what: 'the stalled subscriber to have been disconnected' });
      assert.ok(stalled.events.length < total, `cut off after ${stalled.events.length}/${total}`);
    } finally {
      await hub.stop();
    }
  });

  test('subscribers vanishing (RST) while updates are in flight do not disturb the hub', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    try {
      const topic = 'https://example.com/vanish';
      const doomed = [];
      for (let i = 0; i < 40; i++) doomed.push(await subscribeOk(hub, [topic]));
      const survivor = closer.add(await subscribeOk(hub, [topic]));
      const conn = closer.add(await Connection.open(hub, { parseSse: false }));
      const token = await publisherToken();
      const ids = [];
      for (let i = 0; i < 200; i++) {
        if (i % 5 === 0 && doomed.length) doomed.pop().conn.socket.resetAndDestroy();
        ids.push((await publishOn(conn, [['topic', topic], ['data', `v${i}:${'z'.repeat(20_000)}`]], token)).id);
      }
      for (const d of doomed) d.conn.socket.resetAndDestroy();
      await survivor.waitForEvents(200, { timeoutMs: 20_000 });
      assert.deepEqual(survivor.events.map((e) => e.id), ids);
      const late = closer.add(await subscribeOk(hub, [topic]));
      await publishOn(conn, [['topic', topic], ['data', 'after']], token);
      await late.waitForEvent((e) => e.data === 'after');
      assert.equal(hub.exitInfo(), null, 'the hub is still running');
    } finally {
      await hub.stop();
    }
  });

  test('a stalled subscriber is disconnected while a healthy one receives everything in order', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', DISPATCH_TIMEOUT: '500ms', HEARTBEAT_INTERVAL: '0', METRICS_ENABLED: '1' } });
    try {
      const topic = 'https://example.com/big';
      const stalled = closer.add(await subscribeOk(hub, [topic]));
      stalled.conn.pause(); // never reads again: its receive window fills up
      const healthy = closer.add(await subscribeOk(hub, [topic]));

      const count = 120;
      const size = 200 * 1024; // 24 MB in total: far beyond socket buffers
      const conn = closer.add(await Connection.open(hub, { parseSse: false }));
      const token = await publisherToken();
      const ids = [];
      let slowest = 0;
      for (let i = 0; i < count; i++) {
        const data = `${String(i).padStart(4, '0')}:${'x'.repeat(size)}`;
        const { id, ms } = await publishOn(conn, [['topic', topic], ['data', data]], token);
        ids.push(id);
        slowest = Math.max(slowest, ms);
      }
      assert.ok(slowest < 2000, `publishing is never blocked by a stalled subscriber (slowest publish ${slowest} ms)`);

      await healthy.waitForEvents(count, { timeoutMs: 30_000 });
      assert.deepEqual(healthy.events.map((e) => e.id), ids, 'the healthy subscriber got every update, in order');
      assert.ok(healthy.events.every((e, i) => e.data.length === size + 5 && e.data.startsWith(String(i).padStart(4, '0'))));
      assert.equal(healthy.ended, false, 'the healthy subscriber is still connected');

      await cutOff(hub);
      stalled.conn.resume();
      await stalled.waitForEnd({ timeoutMs: 15_000, what: 'the stalled subscriber to have been disconnected' });
      assert.ok(stalled.events.length < count, `the stalled subscriber was cut off (it got ${stalled.events.length}/${count})`);
      // What it did get is a prefix, in order, without corruption.
      assert.deepEqual(stalled.events.map((e) => e.id), ids.slice(0, stalled.events.length));

      // The hub is still healthy afterwards.
      const after = closer.add(await subscribeOk(hub, [topic]));
      await publishOn(conn, [['topic', topic], ['data', 'after']], token);
      await after.waitForEvent((e) => e.data === 'after');
      await healthy.waitForEvent((e) => e.data === 'after');
    } finally {
      await hub.stop();
    }
  });

  // The hub handles a bounded number of deadlines per turn of its event loop (so a herd of
  // streams ending together does not hold publishes back): the rest must still end at once.
  test('hundreds of streams sharing a token all end at its exp, and publishes go on meanwhile', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' }, args: ['--workers', '1'] });
    try {
      const topic = 'https://example.com/herd';
      const exp = nowSeconds() + 4;
      const token = await subscriberToken([topic], {}, { exp });
      const streams = [];
      for (let i = 0; i < 400; i++) streams.push(closer.add(await subscribeOk(hub, [topic], { token })));
      assert.ok(nowSeconds() < exp - 1, 'the streams opened well before the exp');
      const conn = closer.add(await Connection.open(hub, { parseSse: false }));
      const publisher = await publisherToken();
      const { id } = await publishOn(conn, [['topic', topic], ['data', 'before']], publisher);
      await Promise.all(streams.map((s) => s.waitForEvent((e) => e.id === id, { timeoutMs: 10_000 })));
      // Publishes keep being answered while the streams end; all 400 end within 3 s of the exp
      // (the heartbeat, the next deadline otherwise, is 40 s away).
      let ended = false;
      const ends = Promise.all(streams.map((s) => s.waitForEnd({ timeoutMs: (exp + 3) * 1000 - Date.now(), what: 'the stream to end at the exp' }))).finally(() => {
        ended = true;
      });
      let answered = 0;
      while (!ended) {
        await publishOn(conn, [['topic', 'https://example.com/nobody'], ['data', 'x']], publisher);
        answered++;
      }
      await ends;
      assert.ok(answered > 0);
      assert.ok(Date.now() >= exp * 1000 - 1000, 'no stream ended long before its exp');
    } finally {
      await hub.stop();
    }
  });
});
