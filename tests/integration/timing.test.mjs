// Timers on a stream: heartbeats, token expiry, write timeout. Short configured durations,
// deadlines with margin; every wait is on an observable event.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { startHub } from '../lib/hub.mjs';
import { Closer, publishOk, subscribeOk } from '../lib/http.mjs';
import { mint, nowSeconds, publisherToken } from '../lib/tokens.mjs';

const closer = new Closer();
after(() => closer.closeAll());

describe('heartbeats', () => {
  test('a comment line every HEARTBEAT_INTERVAL while idle', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', HEARTBEAT_INTERVAL: '300ms' } });
    try {
      const sub = closer.add(await subscribeOk(hub, ['https://example.com/hb']));
      await sub.waitForComments(5, { timeoutMs: 5000 });
      const beats = sub.comments.slice(1, 5).map((c) => c.t); // [0] is the initial flush
      const gaps = beats.slice(1).map((t, i) => t - beats[i]);
      for (const g of gaps) assert.ok(g >= 200 && g <= 1000, `heartbeat gaps around 300 ms: ${gaps}`);
      assert.equal(sub.events.length, 0);
      assert.ok(sub.comments.every((c) => c.raw === ':\n' || c.raw.startsWith(':')), 'heartbeats are comment lines');
    } finally {
      await hub.stop();
    }
  });

  test('HEARTBEAT_INTERVAL=0 disables heartbeats', async () => {
    const off = await startHub({ env: { ALLOW_ANONYMOUS: '1', HEARTBEAT_INTERVAL: '0' } });
    const on = await startHub({ env: { ALLOW_ANONYMOUS: '1', HEARTBEAT_INTERVAL: '200ms' } });
    try {
      const quiet = closer.add(await subscribeOk(off, ['https://example.com/hb0']));
      const beating = closer.add(await subscribeOk(on, ['https://example.com/hb0']));
      // The reference stream proves time has passed: 5 heartbeats (~1 s) on it, none on the other.
      await beating.waitForComments(6, { timeoutMs: 5000 });
      assert.equal(quiet.comments.length, 1, 'only the initial comment with heartbeats disabled');
    } finally {
      await off.stop();
      await on.stop();
    }
  });

  test('events reset the heartbeat timer', async () => {
    const interval = 800;
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', HEARTBEAT_INTERVAL: `${interval}ms` } });
    try {
      const topic = 'https://example.com/hb-reset';
      const sub = closer.add(await subscribeOk(hub, [topic]));
      const token = await publisherToken();
      // One event every 250 ms for 2 s: the interval never elapses without an event.
      // (The delays pace the publisher; nothing here waits for the hub by sleeping.)
      for (let i = 0; i < 8; i++) {
        await publishOk(hub, { topic, data: String(i) }, { token });
        await sub.waitForEvents(i + 1);
        if (i < 7) await delay(250);
      }
      const first = sub.events[0].t;
      const last = sub.events[7].t;
      const maxGap = Math.max(...sub.events.slice(1).map((e, i) => e.t - sub.events[i].t));
      const beatsDuring = sub.comments.filter((c) => c.t > first && c.t < last);
      if (maxGap < interval - 150) {
        assert.deepEqual(beatsDuring, [], `no heartbeat while events flow (largest event gap ${maxGap} ms)`);
      }
      // Then the stream goes idle: the next heartbeat comes one interval after the last event.
      const before = sub.comments.length;
      await sub.waitForComments(before + 1, { timeoutMs: 5000 });
      const gap = sub.comments[before].t - last;
      assert.ok(gap >= interval - 250 && gap <= interval + 1500, `first idle heartbeat ${gap} ms after the last event`);
    } finally {
      await hub.stop();
    }
  });
});

describe('closing the stream', () => {
  test("the stream is closed within 1 s after the token's exp", async () => {
    const hub = await startHub({ env: { HEARTBEAT_INTERVAL: '0' } });
    try {
      const exp = nowSeconds() + 2;
      const token = await mint({ mercure: { subscribe: ['*'] }, exp });
      const topic = 'https://example.com/exp';
      const sub = closer.add(await subscribeOk(hub, [topic], { token }));
      await publishOk(hub, { topic, data: 'before-exp' }, { token: await publisherToken() });
      await sub.waitForEvents(1);
      // Ending the response or closing the connection both end the stream for the client.
      await sub.waitForEnd({ timeoutMs: 6000, what: 'the hub to close the stream at exp' });
      const closedAt = sub.endedAt;
      assert.ok(closedAt >= exp * 1000 - 300, `closed ${exp * 1000 - closedAt} ms before exp`);
      assert.ok(closedAt <= exp * 1000 + 1000, `closed ${closedAt - exp * 1000} ms after exp`);
    } finally {
      await hub.stop();
    }
  });

  test('WRITE_TIMEOUT bounds the life of a stream (80-100% jitter)', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '1s', HEARTBEAT_INTERVAL: '0' } });
    try {
      const subs = [];
      for (let i = 0; i < 4; i++) subs.push(closer.add(await subscribeOk(hub, ['https://example.com/wt'])));
      for (const sub of subs) {
        await sub.waitForEnd({ timeoutMs: 5000, what: 'the stream to end at the write timeout' });
        const life = sub.endedAt - sub.headAt;
        assert.ok(life >= 700 && life <= 2500, `stream lived ${life} ms with WRITE_TIMEOUT=1s`);
      }
    } finally {
      await hub.stop();
    }
  });
});
