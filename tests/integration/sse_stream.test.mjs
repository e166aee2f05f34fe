// Event streams once their head is written (src/http/sse_reactor, sse_connection): what a
// subscriber sends is read and ignored, a subscriber that leaves is unregistered at once, many
// updates published while a crowd is being written reach everyone in order, and a subscriber
// that stops reading is cut off without holding the others; both with the sends of a turn
// batched through io_uring and one by one.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../lib/hub.mjs';
import { Closer, DEFAULT_TIMEOUT_MS, HUB_PATH, SseParser, publishOk, subscribeOk } from '../lib/http.mjs';
import { rawSocket } from '../lib/raw_socket.mjs';
import { scrape } from '../lib/prometheus.mjs';
import { publisherToken } from '../lib/tokens.mjs';

const closer = new Closer();
after(() => closer.closeAll());
const token = await publisherToken();

/** Polls /metrics (with a deadline) until `pred(exposition)` holds. */
async function waitForMetric(hub, pred, what) {
  const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
  for (;;) {
    const e = await scrape(hub);
    if (pred(e)) return e;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The events of a raw socket's chunked SSE body. */
function eventsOf(text) {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  // De-chunk: "<hex>\r\n<bytes>\r\n" repeated.
  let plain = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.slice(at, eol), 16);
    if (!(size >= 0) || body.length < eol + 2 + size + 2) break;
    plain += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
    if (size === 0) break;
  }
  const parser = new SseParser();
  parser.push(plain);
  return parser.events;
}

/**
 * With io_uring on, the sends went through the ring, or the hub said why it could not (a
 * kernel without io_uring); off, the ring was never opened.
 */
function assertSendPath(hub, ioUring) {
  const log = hub.stderr();
  if (ioUring === 'true') {
    assert.match(log, /event-stream sends batched through io_uring|io_uring unavailable/);
  } else {
    assert.doesNotMatch(log, /io_uring/);
  }
}

describe('event streams', () => {
  test('bytes a subscriber sends after its request are read and ignored; the stream goes on', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1' } });
    closer.add(() => hub.stop());
    const s = closer.add(await rawSocket(hub));
    s.socket.write(`GET ${HUB_PATH}?topic=/chatty HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    await s.waitFor((st) => st.text.includes('\r\n\r\n'), DEFAULT_TIMEOUT_MS, 'the stream head');
    // More than the stream reads per readiness event (64 KiB), in several writes.
    const junk = Buffer.alloc(48 * 1024, 'j');
    for (let i = 0; i < 5; i++) s.socket.write(junk);
    s.socket.write('GET /also-ignored HTTP/1.1\r\nHost: x\r\n\r\n');
    const id = await publishOk(hub, { topic: '/chatty', data: 'still here' }, { token });
    await s.waitFor((st) => eventsOf(st.text).some((e) => e.id === id), DEFAULT_TIMEOUT_MS, 'the update');
    const [event] = eventsOf(s.text).filter((e) => e.id === id);
    assert.equal(event.data, 'still here');
    assert.equal(s.closed, false, 'the stream is still open');
    assert.ok(!/HTTP\/1\.1 \d{3}[\s\S]*HTTP\/1\.1/.test(s.text), 'no second response was written');
  });

  test('a subscriber that leaves is unregistered at once, and counted as gone', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1' } });
    closer.add(() => hub.stop());
    const subs = [];
    for (let i = 0; i < 20; i++) subs.push(await subscribeOk(hub, ['/leaving']));
    await waitForMetric(hub, (e) => e.value('mercure_subscribers_connected') === 20, '20 connected subscribers');
    for (const s of subs.slice(0, 15)) s.close();
    const e = await waitForMetric(hub, (x) => x.value('mercure_subscribers_connected') === 5, '5 left connected');
    const gone = e.family('mercure_subscriber_disconnects_total').samples.find((x) => x.labels.reason === 'client_gone');
    assert.equal(gone?.value, 15);
    // The others still receive.
    const id = await publishOk(hub, { topic: '/leaving', data: 'to the rest' }, { token });
    for (const s of subs.slice(15)) await s.waitFor((r) => r.events.some((ev) => ev.id === id), { what: 'the update' });
    for (const s of subs.slice(15)) s.close();
  });

  for (const ioUring of ['true', 'false']) {
    test(`a burst published while a crowd is being written reaches everyone, in order, without duplicates (io_uring ${ioUring})`, async () => {
      const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', IO_URING: ioUring } });
      closer.add(() => hub.stop());
      // More subscribers than one turn of the event loop writes (128), so the burst lands while
      // the fan-out of its first updates is still going.
      const subs = [];
      for (let i = 0; i < 300; i++) subs.push(closer.add(await subscribeOk(hub, ['/crowd'])));
      const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => publishOk(hub, { topic: '/crowd', data: `n${i}` }, { token })));
      const deadline = Date.now() + 3 * DEFAULT_TIMEOUT_MS;
      for (const s of subs) {
        await s.waitFor((r) => r.events.length >= ids.length, { what: 'the burst', timeoutMs: Math.max(deadline - Date.now(), 1) });
      }
      // Every subscriber sees each update once, all in the same order (the hub's).
      const reference = subs[0].events.map((e) => e.id);
      assert.deepEqual([...reference].sort(), [...ids].sort());
      for (const s of subs) assert.deepEqual(s.events.map((e) => e.id), reference);
      assertSendPath(hub, ioUring);
    });

    test(`a subscriber that stops reading is cut off as slow, and the others keep everything (io_uring ${ioUring})`, async () => {
      const hub = await startHub({
        env: { ALLOW_ANONYMOUS: '1', METRICS_ENABLED: '1', DISPATCH_TIMEOUT: '60s', HEARTBEAT_INTERVAL: '0', IO_URING: ioUring },
      });
      closer.add(() => hub.stop());
      const stalled = closer.add(await rawSocket(hub));
      stalled.socket.write(`GET ${HUB_PATH}?topic=/big HTTP/1.1\r\nHost: x\r\n\r\n`);
      await stalled.waitFor((st) => st.text.includes('\r\n\r\n'), DEFAULT_TIMEOUT_MS, 'the stream head');
      stalled.socket.pause();
      const healthy = closer.add(await subscribeOk(hub, ['/big']));
      const data = 'x'.repeat(64 * 1024);
      const ids = [];
      // 8 MiB of outbox (the default limit) and the socket buffers are well under 300 x 64 KiB.
      for (let i = 0; i < 300; i++) ids.push(await publishOk(hub, { topic: '/big', data }, { token }));
      await waitForMetric(
        hub,
        (e) => e.family('mercure_subscriber_disconnects_total').samples.some((x) => x.labels.reason === 'slow' && x.value === 1),
        'the stalled subscriber cut off as slow',
      );
      await healthy.waitFor((r) => r.events.length >= ids.length, { what: 'every update', timeoutMs: 4 * DEFAULT_TIMEOUT_MS });
      assert.deepEqual(healthy.events.map((e) => e.id), ids);
      assertSendPath(hub, ioUring);
    });
  }
});
