// Prometheus metrics (issue 4, acceptance 2): a scripted sequence (connect, publish, a stalled
// subscriber cut off, rejected tokens, token expiry, a client leaving, history replay) with the
// exact change of every series after each step, read from /metrics with a real exposition
// parser; where /metrics is served (off by default, main listener, METRICS_ADDR only) and 405.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startHub } from '../lib/hub.mjs';
import { Closer, DEFAULT_TIMEOUT_MS, Connection, publish, publishOk, request, subscribe, subscribeOk } from '../lib/http.mjs';
import { Exposition, PROMETHEUS_CONTENT_TYPE, scrape } from '../lib/prometheus.mjs';
import { mint, nowSeconds, publisherToken, subscriberToken } from '../lib/tokens.mjs';
import { tempDir, lmdbUrl } from '../lib/store.mjs';

const closer = new Closer();
after(() => closer.closeAll());

/** The series the tests follow, flattened to one number per key. */
function flatten(e) {
  const out = {
    connected: e.value('mercure_subscribers_connected'),
    subscribers: e.value('mercure_subscribers_total'),
    updates: e.value('mercure_updates_total'),
    connections: e.sum('mercure_connections'),
    publishes: e.histogram('mercure_publish_duration_seconds').count,
  };
  for (const s of e.family('mercure_deliveries_total').samples) out[`deliveries.${s.labels.source}`] = s.value;
  for (const s of e.family('mercure_subscriber_disconnects_total').samples) {
    out[`disconnects.${s.labels.reason}`] = s.value;
  }
  for (const s of e.family('mercure_requests_rejected_total').samples) {
    out[`rejected.${s.labels.status}.${s.labels.reason}`] = s.value;
  }
  if (e.has('mercure_history_events')) {
    out.history_events = e.value('mercure_history_events');
    const batches = e.histogram('mercure_history_commit_batch_size');
    out.commits = batches.count;
    out.committed = batches.sum;
  }
  return out;
}

/**
 * Follows the metrics of one hub: `expect(deltas)` polls /metrics (with a deadline) until every
 * followed series changed by exactly the given amount since the previous step (0 for series not
 * named; a function value is a predicate on the change), then makes that the new reference.
 */
class MetricsProbe {
  static async open(target, path = '/metrics') {
    const probe = new MetricsProbe(target, path);
    probe.last = flatten(await scrape(target, { path }));
    return probe;
  }

  constructor(target, path) {
    this.target = target;
    this.path = path;
  }

  async expect(step, deltas, { timeoutMs = 10_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = flatten(await scrape(this.target, { path: this.path }));
      const actual = {};
      const wanted = {};
      for (const key of Object.keys(now)) {
        const change = now[key] - (this.last[key] ?? 0);
        const want = deltas[key] ?? 0;
        actual[key] = typeof want === 'function' ? (want(change) ? 'ok' : change) : change;
        wanted[key] = typeof want === 'function' ? 'ok' : want;
      }
      for (const key of Object.keys(deltas)) assert.ok(key in now, `${step}: no series ${key}`);
      const same = Object.keys(wanted).every((k) => actual[k] === wanted[k]);
      if (same || Date.now() > deadline) {
        assert.deepEqual(actual, wanted, `${step}: changes of the metrics`);
        this.last = now;
        return now;
      }
      await new Promise((r) => setTimeout(r, 20)); // polling /metrics with a deadline
    }
  }
}

describe('metrics: a scripted sequence on the main listener', () => {
  test('each series changes exactly as the hub is used', async () => {
    const hub = await startHub({
      env: { METRICS_ENABLED: '1', ALLOW_ANONYMOUS: '1', DISPATCH_TIMEOUT: '60s', HEARTBEAT_INTERVAL: '0' },
      workers: 2,
    });
    try {
      const first = await scrape(hub);
      assert.equal(first.value('mercure_build_info', { version: first.family('mercure_build_info').samples[0].labels.version }), 1);
      assert.match(first.family('mercure_build_info').samples[0].labels.version, /^\d+\.\d+\.\d+/);
      assert.equal(first.family('mercure_subscribers_connected').type, 'gauge');
      assert.equal(first.family('mercure_subscribers_total').type, 'counter');
      assert.equal(first.family('mercure_updates_total').type, 'counter');
      assert.deepEqual(
        first.family('mercure_connections').samples.map((s) => s.labels.worker),
        ['0', '1'],
        'one connections gauge per worker',
      );
      const les = first.histogram('mercure_publish_duration_seconds').buckets.map((b) => b.le);
      assert.ok(les.includes(0.0001) && les.includes(1) && les.at(-1) === Infinity, `buckets ${les}`);
      assert.equal(first.has('mercure_history_events'), false, 'no history gauges without a history');

      const probe = await MetricsProbe.open(hub);
      const topic = `https://example.com/metrics/${randomUUID()}`;
      const token = await publisherToken();

      // 1. A subscriber connects.
      const a = closer.add(await subscribeOk(hub, [topic]));
      await probe.expect('connect', { connected: 1, subscribers: 1, connections: 1 });

      // 2. An update is published and delivered.
      await publishOk(hub, { topic, data: 'hello' }, { token });
      await a.waitForEvents(1);
      await probe.expect('publish', { updates: 1, publishes: 1, 'deliveries.live': 1 });

      // 3. A subscriber that stops reading is cut off as slow once its outbox overflows (8 MiB),
      //    long before the 60 s DISPATCH_TIMEOUT, even with a write of it stalled;
      //    publishers are never held up meanwhile.
      const slowTopic = `${topic}/slow`;
      const slow = closer.add(await subscribeOk(hub, [slowTopic]));
      slow.conn.pause();
      const big = 'x'.repeat(256 * 1024);
      let published = 0;
      const deadline = Date.now() + 20_000;
      for (;;) {
        await publishOk(hub, { topic: slowTopic, data: big }, { token });
        published++;
        const now = flatten(await scrape(hub));
        if (now['disconnects.slow'] > probe.last['disconnects.slow']) break;
        assert.ok(Date.now() < deadline && published < 1000, `still connected after ${published} updates of 256 KiB`);
      }
      await probe.expect('stalled subscriber', {
        subscribers: 1,
        'disconnects.slow': 1,
        updates: published,
        publishes: published,
        // It got what fitted in the socket buffers before its writes stalled.
        'deliveries.live': (n) => n >= 1 && n < published,
      });
      slow.close();

      // 4. Rejected requests: tokens, method, path.
      const expired = await subscriberToken(['*'], {}, { exp: nowSeconds() - 60 });
      const refused = await subscribe(hub, [topic], { token: expired });
      refused.close();
      assert.equal(refused.status, 401);
      const otherKey = await mint({ mercure: { publish: ['*'] } }, { key: 'not the hub key, not the hub key!!' });
      assert.equal((await publish(hub, { topic, data: 'x' }, { token: otherKey })).status, 401);
      assert.equal((await publish(hub, { topic, data: 'x' })).status, 401);
      assert.equal((await request(hub, { method: 'POST', path: '/metrics', body: '' })).status, 405);
      assert.equal((await request(hub, { path: '/no-such-page' })).status, 404);
      await probe.expect('rejections', {
        'rejected.401.invalid_token': 2,
        'rejected.401.missing_token': 1,
        'rejected.405.method_not_allowed': 1,
        'rejected.404.not_found': 1,
      });

      // 5. A subscriber whose token expires is disconnected at its exp.
      const shortLived = await subscriberToken([topic], {}, { exp: nowSeconds() + 2 });
      const expiring = closer.add(await subscribeOk(hub, [topic], { token: shortLived }));
      await expiring.waitForEnd({ timeoutMs: 5_000, what: 'the stream to end at the token expiry' });
      await probe.expect('token expiry', { subscribers: 1, 'disconnects.token_expired': 1 });

      // 6. The first subscriber leaves.
      a.close();
      await probe.expect('client gone', { connected: -1, connections: -1, 'disconnects.client_gone': 1 });
    } finally {
      await closer.closeAll();
      await hub.stop();
    }
  });

  test('history: stored events and bytes, commit batches, replayed deliveries, conflicts', async (t) => {
    const dir = tempDir(t, 'mercure-metrics-');
    const hub = await startHub({
      env: { METRICS_ENABLED: '1', ALLOW_ANONYMOUS: '1', TRANSPORT_URL: lmdbUrl(dir) },
      workers: 1,
    });
    try {
      const before = await scrape(hub);
      const bytesBefore = before.value('mercure_history_bytes');
      assert.ok(bytesBefore > 0, 'the store uses some bytes from the start');
      const probe = await MetricsProbe.open(hub);
      const topic = `https://example.com/metrics/history/${randomUUID()}`;
      const token = await publisherToken();

      for (let i = 1; i <= 3; i++) await publishOk(hub, { topic, id: `m-${i}`, data: `d${i}` }, { token });
      await probe.expect('three publishes', {
        updates: 3,
        publishes: 3,
        history_events: 3,
        committed: 3,
        commits: (n) => n >= 1 && n <= 3,
      });

      const resumed = closer.add(await subscribeOk(hub, [topic], { extra: [['lastEventID', 'earliest']] }));
      await resumed.waitForEvents(3);
      await probe.expect('replay', {
        connected: 1,
        subscribers: 1,
        connections: 1,
        'deliveries.history': 3,
      });

      const dup = await publish(hub, { topic, id: 'm-1', data: 'again' }, { token });
      assert.equal(dup.status, 409);
      await probe.expect('conflict', { 'rejected.409.conflict': 1, commits: 1, committed: 1 });

      resumed.close();
      await probe.expect('leave', { connected: -1, connections: -1, 'disconnects.client_gone': 1 });
      assert.ok((await scrape(hub)).value('mercure_history_bytes') >= bytesBefore);
    } finally {
      await closer.closeAll();
      await hub.stop();
    }
  });
});

describe('metrics: where they are served', () => {
  test('off by default: /metrics is 404', async () => {
    const hub = await startHub();
    try {
      const res = await request(hub, { path: '/metrics' });
      assert.equal(res.status, 404);
    } finally {
      await hub.stop();
    }
  });

  test('on the main listener: GET and HEAD answer, other methods 405', async () => {
    const hub = await startHub({ env: { METRICS_ENABLED: '1' } });
    try {
      await hub.waitForLog(new RegExp(`metrics on ${hub.url.replaceAll('.', '\\.')}/metrics`));
      const head = await request(hub, { method: 'HEAD', path: '/metrics' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-type'], PROMETHEUS_CONTENT_TYPE);
      assert.equal(head.bodyLength, 0);
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await request(hub, { method, path: '/metrics', body: '' });
        assert.equal(res.status, 405, method);
        assert.equal(res.headers.allow, 'GET, HEAD');
      }
      const e = await scrape(hub);
      assert.equal(e.value('mercure_requests_rejected_total', { status: '405', reason: 'method_not_allowed' }), 3);
    } finally {
      await hub.stop();
    }
  });

  test('METRICS_ADDR: only on the separate listener, which also answers /healthz', async () => {
    const hub = await startHub({ env: { METRICS_ENABLED: '1', METRICS_ADDR: '127.0.0.1:0' } });
    try {
      const m = /metrics on (http:\/\/127\.0\.0\.1:(\d+))\/metrics/.exec(hub.stderr());
      assert.ok(m, `no "metrics on" line in:\n${hub.stderr()}`);
      const metricsPort = Number(m[2]);
      assert.notEqual(metricsPort, hub.port);

      assert.equal((await request(hub, { path: '/metrics' })).status, 404, 'not on the main listener');
      await publishOk(hub, { topic: 'https://example.com/a', data: 'x' }, { token: await publisherToken() });
      const e = await scrape(metricsPort);
      assert.equal(e.value('mercure_updates_total'), 1);
      assert.equal(e.value('mercure_requests_rejected_total', { status: '404', reason: 'not_found' }), 1);

      const health = await request(metricsPort, { path: '/healthz' });
      assert.equal(health.status, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const post = await request(metricsPort, { method: 'POST', path: '/metrics', body: '' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      assert.equal((await request(metricsPort, { path: '/.well-known/mercure?topic=x' })).status, 404);

      // Keep-alive scrapes on one connection, as Prometheus does.
      const conn = closer.add(await Connection.open(metricsPort, { parseSse: false }));
      for (let i = 0; i < 3; i++) {
        const res = await conn.request({ path: '/metrics', timeoutMs: DEFAULT_TIMEOUT_MS });
        assert.equal(res.status, 200);
        new Exposition(res.text); // parses
      }
      conn.close();

      const stopped = await hub.stop();
      assert.equal(stopped.code, 0, 'the hub stops cleanly with its metrics listener');
    } finally {
      await hub.stop();
    }
  });
});
