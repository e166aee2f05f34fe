// The Redis transport: hubs sharing one Redis stream form a cluster. An update published on
// any hub reaches the subscribers of every hub, in one global order; any hub replays the
// history; ids are unique across the cluster; the stream is capped with its id index; the
// subscriptions API lists the subscribers of every hub; Redis going away gives 503 and an
// unready hub, and coming back heals both without losing live subscribers; start-up errors
// name the server and never show the password. A real redis-server, started by the tests.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Closer, publish, publishOk, request, subscribe, subscribeOk } from '../lib/http.mjs';
import { startHub } from '../lib/hub.mjs';
import { removeRedis, startRedis } from '../lib/redis.mjs';
import { KeepAlivePublisher, anyPublisherToken, assertSameSequence, duplicates, eventsBefore, runHubUntilExit, waitForId } from '../lib/store.mjs';
import { subscriberToken } from '../lib/tokens.mjs';
import { scrape } from '../lib/prometheus.mjs';

const closer = new Closer();
let redis;
const hubs = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await closer.closeAll();
  for (const h of hubs) await h.stop();
  if (redis) await removeRedis(redis);
});

/** Starts a hub on `stream` of the shared Redis (stopped after the file). */
async function clusterHub(stream, { params = {}, env = {}, server = redis } = {}) {
  const h = await startHub({ env: { ALLOW_ANONYMOUS: '1', TRANSPORT_URL: server.url({ stream, ...params }), ...env } });
  hubs.push(h);
  return h;
}

/** Two hubs on a fresh stream. */
async function cluster(opts) {
  const stream = `s-${randomUUID()}`;
  return { stream, a: await clusterHub(stream, opts), b: await clusterHub(stream, opts) };
}

const SUBS = '/.well-known/mercure/subscriptions';
const API = `${SUBS}{/topic}{/subscriber}`;

/** Two hubs with subscription events, and a watcher of every subscription event on hub a. */
async function watchedCluster() {
  const { a, b } = await cluster({ env: { SUBSCRIPTIONS: '1' } });
  const token = await subscriberToken([API]);
  const watcher = closer.add(await subscribeOk(a, [API], { token }));
  // The watcher's own connect event is published after its response began: once hub a lists
  // it, it is in the stream, and the events a test causes come after it.
  await until(async () => {
    const res = await request(a, { path: SUBS, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, res.text);
    return JSON.parse(res.text).subscriptions.some((s) => s.topic === API);
  }, 'hub a listing the watcher');
  return { a, b, token, watcher };
}

const freshTopic = () => `https://example.com/cluster/${randomUUID()}`;

/** Polls `check` (bounded) for state that announces itself by no event (readiness). */
async function until(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('a cluster of two hubs on one stream', () => {
  test('an update published on either hub reaches the subscribers of both, byte for byte', async () => {
    const { a, b } = await cluster();
    const topic = freshTopic();
    const onA = closer.add(await subscribeOk(a, [topic]));
    const onB = closer.add(await subscribeOk(b, [topic]));
    const token = await anyPublisherToken();
    const first = await publishOk(a, { topic, data: 'from a', type: 'note', retry: '2500' }, { token });
    const second = await publishOk(b, { topic, data: 'line 1\nline 2' }, { token });
    for (const sub of [onA, onB]) {
      await waitForId(sub, second);
      assert.deepEqual(
        sub.events.map((e) => [e.id, e.data]),
        [
          [first, 'from a'],
          [second, 'line 1\nline 2'],
        ],
      );
      assert.equal(sub.events[0].type, 'note');
    }
    assert.equal(onA.text.slice(onA.text.indexOf('id: ')), onB.text.slice(onB.text.indexOf('id: ')), 'same bytes on both hubs');
  });

  test('concurrent publishers on both hubs: every subscriber of either hub sees the same order, nothing lost or doubled', async () => {
    const { a, b } = await cluster();
    const topic = freshTopic();
    const subs = [closer.add(await subscribeOk(a, [topic])), closer.add(await subscribeOk(b, [topic])), closer.add(await subscribeOk(b, ['*']))];
    const token = await anyPublisherToken();
    const PER = 300;
    const publishers = [a, b, a, b].map((h) => new KeepAlivePublisher(h, token));
    const sent = await Promise.all(
      publishers.map(async (p, k) => {
        const ids = [];
        for (let i = 0; i < PER; i++) {
          const r = await p.publish({ topic, id: `p${k}-${i}`, data: `${k}/${i}` });
          assert.equal(r.status, 200, JSON.stringify(r));
          ids.push(r.id);
        }
        p.close();
        return ids;
      }),
    );
    const end = await publishOk(a, { topic, id: `end-${randomUUID()}`, data: 'end' }, { token });
    for (const sub of subs) await waitForId(sub, end, { timeoutMs: 20_000 });
    const orders = subs.map((s) => eventsBefore(s, end).filter((e) => e.data !== 'end').map((e) => e.id).filter((id) => id.startsWith('p')));
    assert.equal(orders[0].length, 4 * PER);
    assert.deepEqual(duplicates(orders[0]), []);
    assertSameSequence(orders[1], orders[0], 'hub b order vs hub a order');
    assertSameSequence(orders[2], orders[0], '* subscriber order');
    for (let k = 0; k < sent.length; k++) {
      assertSameSequence(orders[0].filter((id) => id.startsWith(`p${k}-`)), sent[k], `publisher ${k} order`);
    }
  });

  test('a subscriber resumes on the other hub: what followed its last id, then live, no gap', async () => {
    const { a, b } = await cluster();
    const topic = freshTopic();
    const token = await anyPublisherToken();
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push(await publishOk(a, { topic, id: `r-${randomUUID()}`, data: `d${i}` }, { token }));
    const resumed = closer.add(await subscribeOk(b, [topic], { headers: { 'Last-Event-ID': ids[2] } }));
    assert.equal(resumed.headers['last-event-id'], ids[2]);
    const live = await publishOk(a, { topic, data: 'live' }, { token });
    await waitForId(resumed, live);
    assert.deepEqual(eventsBefore(resumed, live).map((e) => e.id), ids.slice(3));
    const all = closer.add(await subscribeOk(b, [topic], { headers: { 'Last-Event-ID': 'earliest' } }));
    await waitForId(all, live);
    assert.deepEqual(all.events.map((e) => e.id), [...ids, live]);
  });

  test('an id is unique across the cluster: the second hub answers 409', async () => {
    const { a, b } = await cluster();
    const token = await anyPublisherToken();
    const id = `u-${randomUUID()}`;
    await publishOk(a, { topic: freshTopic(), id, data: 'first' }, { token });
    const again = await publish(b, { topic: freshTopic(), id, data: 'second' }, { token });
    assert.equal(again.status, 409, again.text);
    assert.match(again.text, /already stored/);
  });

  test('a subscriber that connects after the 200 does not receive that update live', async () => {
    const { a } = await cluster();
    const topic = freshTopic();
    const token = await anyPublisherToken();
    for (let round = 0; round < 20; round++) {
      const before = await publishOk(a, { topic, data: `before ${round}` }, { token });
      const sub = closer.add(await subscribeOk(a, [topic]));
      const marker = await publishOk(a, { topic, data: `marker ${round}` }, { token });
      await waitForId(sub, marker);
      assert.deepEqual(sub.events.map((e) => e.id), [marker], `round ${round}: ${before} was acknowledged before the subscription`);
      sub.close();
    }
  });
});

test('size caps the stream and its id index; an evicted id resumes from `earliest`', async () => {
  const stream = `cap-${randomUUID()}`;
  const h = await clusterHub(stream, { params: { size: 10 } });
  const topic = freshTopic();
  const token = await anyPublisherToken();
  const ids = [];
  for (let i = 0; i < 40; i++) ids.push(await publishOk(h, { topic, id: `c${i}-${randomUUID()}`, data: `${i}` }, { token }));
  assert.equal(await redis.command('XLEN', stream), 10);
  assert.equal(await redis.command('HLEN', `${stream}:ids`), 10);
  const kept = (await redis.command('XRANGE', stream, '-', '+')).map((e) => e[1][1]);
  assert.deepEqual(kept, ids.slice(30));
  const evicted = closer.add(await subscribeOk(h, [topic], { headers: { 'Last-Event-ID': ids[5] } }));
  assert.equal(evicted.headers['last-event-id'], 'earliest');
  // An evicted id is free again (as on the LMDB transport: ids are unique among stored events).
  await publishOk(h, { topic, id: ids[0], data: 'reused' }, { token });
});

test('Redis going away: 503 and not ready; back: ready, publishing, and live subscribers of both hubs still served', async () => {
  const own = await startRedis();
  try {
    const stream = `outage-${randomUUID()}`;
    const a = await clusterHub(stream, { server: own });
    const b = await clusterHub(stream, { server: own });
    const topic = freshTopic();
    const token = await anyPublisherToken();
    const subs = [closer.add(await subscribeOk(a, [topic])), closer.add(await subscribeOk(b, [topic]))];
    const ready = async (h) => (await request(h, { path: '/healthz/ready' })).status;
    assert.equal(await ready(a), 200);

    await own.stop();
    // Hub b publishes nothing: its readiness follows Redis by itself.
    await until(async () => (await ready(b)) === 503, 'hub b not ready while Redis is down');
    const refused = await publish(a, { topic, data: 'during the outage' }, { token });
    assert.equal(refused.status, 503, refused.text);
    assert.equal(await ready(a), 503);

    await own.start();
    await until(async () => (await ready(a)) === 200 && (await ready(b)) === 200, 'both hubs ready again');
    const after = await publishOk(b, { topic, data: 'after the outage' }, { token });
    for (const sub of subs) {
      await waitForId(sub, after, { timeoutMs: 10_000 });
      assert.deepEqual(sub.events.map((e) => e.data), ['after the outage']);
    }
  } finally {
    await removeRedis(own);
  }
});

test('Redis refusing writes (maxmemory): 503 and not ready; accepting again: ready', async () => {
  const { a } = await cluster();
  const token = await anyPublisherToken();
  const ready = async () => (await request(a, { path: '/healthz/ready' })).status;
  await redis.command('CONFIG', 'SET', 'maxmemory', '1');
  try {
    const refused = await publish(a, { topic: freshTopic(), data: 'x' }, { token });
    assert.equal(refused.status, 503, refused.text);
    assert.equal(await ready(), 503);
  } finally {
    await redis.command('CONFIG', 'SET', 'maxmemory', '0');
  }
  await until(async () => (await ready()) === 200, 'ready again once Redis accepts writes');
  await publishOk(a, { topic: freshTopic(), data: 'y' }, { token });
});

test('a Redis that does not answer: resumes get 503 at once instead of holding the event loops', async () => {
  const own = await startRedis();
  try {
    const h = await clusterHub(`paused-${randomUUID()}`, { server: own });
    const topic = freshTopic();
    const id = await publishOk(h, { topic, data: 'stored' }, { token: await anyPublisherToken() });
    // Every other client's commands wait for 6 s: Redis accepts connections but answers nothing.
    await own.command('CLIENT', 'PAUSE', '6000', 'ALL');
    const t0 = Date.now();
    const resumes = await Promise.all(
      Array.from({ length: 8 }, () => subscribe(h, [topic], { headers: { 'Last-Event-ID': id }, timeoutMs: 10_000 })),
    );
    const elapsed = Date.now() - t0;
    for (const r of resumes) {
      r.close();
      assert.equal(r.status, 503, r.text);
    }
    // One command timeout (3 s) at most, then the others are refused at once: well before the
    // pause ends (waiting each for its own timeout in turn would take far longer).
    assert.ok(elapsed < 5000, `8 resumes answered in ${elapsed} ms`);
    await own.command('CLIENT', 'UNPAUSE');
  } finally {
    await removeRedis(own);
  }
});

test('the stream deleted under running hubs, its ids going back: updates still reach subscribers', async () => {
  const { stream, a, b } = await cluster();
  const topic = freshTopic();
  const token = await anyPublisherToken();
  const sub = closer.add(await subscribeOk(b, [topic]));
  const first = await publishOk(a, { topic, data: 'before' }, { token });
  await waitForId(sub, first);
  // An entry of another program, 60 s in the future, then the stream is deleted: new ids are
  // below what the hubs have read.
  await redis.command('XADD', stream, `${Date.now() + 60_000}-0`, 'foreign', 'entry');
  await redis.command('DEL', stream, `${stream}:ids`);
  const second = await publishOk(a, { topic, data: 'after' }, { token });
  await waitForId(sub, second, { timeoutMs: 10_000 });
  assert.deepEqual(sub.events.map((e) => e.data), ['before', 'after']);
});

test('entries written by another program are skipped: start-up, replay and live', async () => {
  const stream = `foreign-${randomUUID()}`;
  const a = await clusterHub(stream);
  const topic = freshTopic();
  const token = await anyPublisherToken();
  const sub = closer.add(await subscribeOk(a, [topic]));
  const first = await publishOk(a, { topic, data: 'one' }, { token });
  await redis.command('XADD', stream, '*', 'foreign', 'entry');
  const b = await clusterHub(stream); // starts although the newest entry is not a hub's
  const second = await publishOk(b, { topic, data: 'two' }, { token });
  await waitForId(sub, second);
  assert.deepEqual(sub.events.map((e) => e.id), [first, second]);
  const replay = closer.add(await subscribeOk(b, [topic], { headers: { 'Last-Event-ID': 'earliest' } }));
  await waitForId(replay, second);
  assert.deepEqual(replay.events.map((e) => e.id), [first, second]);
});

test('the subscriptions API of one hub lists the subscribers of the other; connect events cross hubs but not to their own subscriber', async () => {
  const { a, b, token, watcher } = await watchedCluster();
  const topic = freshTopic();
  const onB = closer.add(await subscribeOk(b, [topic]));
  const connect = await watcher.waitForEvent((e) => JSON.parse(e.data).topic === topic);
  const announced = JSON.parse(connect.data);
  assert.equal(announced.active, true);
  const listed = await until(async () => {
    const res = await request(a, { path: SUBS, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, res.text);
    const doc = JSON.parse(res.text);
    return doc.subscriptions.find((s) => s.topic === topic && s.subscriber === announced.subscriber) ? doc : null;
  }, 'hub a listing the subscriber of hub b');
  assert.equal(listed.lastEventID, connect.id);
  onB.close();
  const gone = await watcher.waitForEvent((e) => JSON.parse(e.data).topic === topic && JSON.parse(e.data).active === false);
  assert.equal(JSON.parse(gone.data).subscriber, announced.subscriber);
  // The watcher's own connect event went to the other watchers, not to itself.
  assert.equal(watcher.events.filter((e) => JSON.parse(e.data).topic === API).length, 0);
});

/** The subscriptions hub `h` lists for `topic` (subscriber ids). */
async function listedOn(h, token, topic) {
  const res = await request(h, { path: `${SUBS}/${encodeURIComponent(topic)}`, headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text).subscriptions.map((s) => s.subscriber);
}

test('a hub that joins later lists the subscribers the others have, not those already gone', async () => {
  const stream = `late-${randomUUID()}`;
  const env = { SUBSCRIPTIONS: '1' };
  const a = await clusterHub(stream, { env });
  const token = await subscriberToken([API]);
  const watcher = closer.add(await subscribeOk(a, [API], { token }));
  const topic = freshTopic();
  const staying = closer.add(await subscribeOk(a, [topic]));
  const leaving = closer.add(await subscribeOk(a, [topic]));
  const connects = [];
  for (let i = 0; i < 2; i++) {
    connects.push(JSON.parse((await watcher.waitForEvent((e) => JSON.parse(e.data).topic === topic && !connects.some((c) => c.subscriber === JSON.parse(e.data).subscriber))).data));
  }
  leaving.close();
  const gone = JSON.parse((await watcher.waitForEvent((e) => JSON.parse(e.data).topic === topic && JSON.parse(e.data).active === false)).data);
  const stayed = connects.find((c) => c.subscriber !== gone.subscriber);
  assert.ok(stayed && staying);

  const b = await clusterHub(stream, { env });
  assert.deepEqual(await listedOn(b, token, topic), [stayed.subscriber], 'listed from its start, no event needed');
  assert.deepEqual(await listedOn(a, token, topic), [stayed.subscriber]);
});

test('subscribers that come and go while Redis is down are listed right once it is back (its list kept by AOF)', async () => {
  const own = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  try {
    const stream = `outage-subs-${randomUUID()}`;
    const a = await clusterHub(stream, { server: own, env: { SUBSCRIPTIONS: '1', METRICS_ENABLED: '1' } });
    const token = await subscriberToken([API]);
    const topic = freshTopic();
    const leaving = closer.add(await subscribeOk(a, [topic]));
    const [gone] = await until(async () => {
      const listed = await listedOn(a, token, topic);
      return listed.length === 1 && listed;
    }, 'the first subscriber listed');
    await own.stop();
    await until(async () => (await request(a, { path: '/healthz/ready' })).status === 503, 'the hub not ready');
    leaving.close();
    closer.add(await subscribeOk(a, [topic]));
    const connected = async () => (await scrape(a)).value('mercure_subscribers_connected');
    await until(async () => (await connected()) === 1, 'the first subscriber gone, the second in, during the outage');

    await own.start();  // the same data: the list as it was before the outage
    const listed = await until(async () => {
      const now = await listedOn(a, token, topic);
      return now.length === 1 && now[0] !== gone && now;
    }, 'the list: the second subscriber only', 15_000);
    assert.notEqual(listed[0], gone);
  } finally {
    await removeRedis(own);
  }
});

test('a hub killed with SIGKILL: after node_timeout one other hub ends its subscriptions, with their events', async () => {
  const stream = `killed-${randomUUID()}`;
  const opts = { params: { node_timeout: '3' }, env: { SUBSCRIPTIONS: '1' } };
  const [a, b, c] = [await clusterHub(stream, opts), await clusterHub(stream, opts), await clusterHub(stream, opts)];
  const token = await subscriberToken([API]);
  const watchers = [closer.add(await subscribeOk(a, [API], { token })), closer.add(await subscribeOk(c, [API], { token }))];
  const topic = freshTopic();
  closer.add(await subscribeOk(b, [topic]));
  const connect = JSON.parse((await watchers[0].waitForEvent((e) => JSON.parse(e.data).topic === topic)).data);
  // Hub c reads the event from the stream on its own time (a's watcher may see it first).
  await until(async () => JSON.stringify(await listedOn(c, token, topic)) === JSON.stringify([connect.subscriber]), 'hub c listing the subscriber of hub b');
  await b.kill();
  // A hub started meanwhile reads the dead hub's subscriber from the list, then its end.
  const d = await clusterHub(stream, opts);
  assert.deepEqual(await listedOn(d, token, topic), [connect.subscriber]);
  const isEnd = (e) => JSON.parse(e.data).subscriber === connect.subscriber && JSON.parse(e.data).active === false;
  const t0 = Date.now();
  for (const w of watchers) await w.waitForEvent(isEnd, { timeoutMs: 15_000 });
  assert.ok(Date.now() - t0 < 12_000, `ended after ${Date.now() - t0} ms (node_timeout=3)`);
  for (const h of [a, c, d]) {
    await until(async () => (await listedOn(h, token, topic)).length === 0, 'the dead hub\'s subscriber delisted');
  }
  // Exactly one hub claimed it: one end event, before a later event of the stream.
  const marker = freshTopic();
  closer.add(await subscribeOk(a, [marker]));
  for (const w of watchers) {
    await w.waitForEvent((e) => JSON.parse(e.data).topic === marker);
    assert.equal(w.events.filter(isEnd).length, 1);
  }
  assert.match(a.stderr() + c.stderr() + d.stderr(), /hub [0-9a-f]{16} gave no sign of life for 3 s: 1 of its subscriptions ended/);
});

test('hubs starting while subscribers come and go on another list exactly what it lists', async () => {
  const stream = `churn-${randomUUID()}`;
  const env = { SUBSCRIPTIONS: '1' };
  const a = await clusterHub(stream, { env });
  const token = await subscriberToken([API]);
  const topic = freshTopic();
  const staying = closer.add(await subscribeOk(a, [topic]));
  let churning = true;
  const churn = (async () => {
    let n = 0;
    while (churning) {
      const s = await subscribeOk(a, [topic]);
      s.close();
      n += 1;
    }
    return n;
  })();
  const started = [];
  for (let i = 0; i < 4; i++) started.push(await clusterHub(stream, { env }));
  churning = false;
  assert.ok((await churn) > 0);
  const expected = await until(async () => {
    const listed = await listedOn(a, token, topic);
    return listed.length === 1 ? listed : null;
  }, 'hub a listing only the staying subscriber');
  for (const h of started) {
    await until(async () => JSON.stringify(await listedOn(h, token, topic)) === JSON.stringify(expected), 'a hub started during the churn listing the same');
  }
  assert.ok(staying);
});

/**
 * Hubs a and b with node_timeout=3 s, a watcher of subscription events on a, and one subscriber
 * of `topic` on b (its id announced).
 */
async function livenessCluster(name) {
  const stream = `${name}-${randomUUID()}`;
  const opts = { params: { node_timeout: '3' }, env: { SUBSCRIPTIONS: '1' } };
  const [a, b] = [await clusterHub(stream, opts), await clusterHub(stream, opts)];
  const token = await subscriberToken([API]);
  const watcher = closer.add(await subscribeOk(a, [API], { token }));
  const topic = freshTopic();
  closer.add(await subscribeOk(b, [topic]));
  const about = (active) => (e) => JSON.parse(e.data).topic === topic && JSON.parse(e.data).active === active;
  const { subscriber } = JSON.parse((await watcher.waitForEvent(about(true))).data);
  return { stream, opts, a, b, token, watcher, topic, subscriber, about };
}

test('Redis stalled longer than node_timeout: no hub takes another for dead, nothing is ended', async () => {
  const { stream, opts, a, b, token, watcher, topic, subscriber } = await livenessCluster('stall');
  redis.signal('SIGSTOP');
  try {
    await new Promise((resolve) => setTimeout(resolve, 4_500)); // the fault: longer than node_timeout
  } finally {
    redis.signal('SIGCONT');
  }
  // The hubs hold every claim for one timeout after such a stall; then each beats again (a beat
  // that could claim): two beats of each hub after the hold are enough to have seen any claim.
  await until(async () => (await redis.command('EXISTS', `${stream}:claim_hold`)) === 0, 'the claim hold to end', 15_000);
  const scores = async () => Object.fromEntries(pairs(await redis.command('ZRANGE', `${stream}:nodes`, '0', '-1', 'WITHSCORES')));
  const first = await scores();
  assert.equal(Object.keys(first).length, 2, JSON.stringify(first));
  await until(async () => {
    const now = await scores();
    return Object.keys(first).every((n) => Number(now[n]) >= Number(first[n]) + 1_500);
  }, 'two more beats of each hub', 15_000);
  assert.equal(watcher.events.filter((e) => JSON.parse(e.data).active === false).length, 0, 'no subscription ended');
  for (const h of [a, b]) assert.deepEqual(await listedOn(h, token, topic), [subscriber]);
  // The list kept in Redis too: a hub started now lists it.
  const c = await clusterHub(stream, opts);
  assert.deepEqual(await listedOn(c, token, topic), [subscriber]);
});

test('a hub that stalled past node_timeout, or whose Redis was emptied, announces its subscribers again', async () => {
  const { stream, opts, a, b, token, watcher, topic, subscriber, about } = await livenessCluster('again');
  process.kill(b.pid, 'SIGSTOP');
  try {
    await watcher.waitForEvent(about(false), { timeoutMs: 15_000 }); // a took b for dead
  } finally {
    process.kill(b.pid, 'SIGCONT');
  }
  await watcher.waitForEvent(() => watcher.events.filter(about(true)).length === 2, { timeoutMs: 15_000 });
  // Its log line comes through another pipe than the event: it may be read a little later.
  await until(() => /this hub was no longer listed in Redis .*: its subscriptions are announced again/.test(b.stderr()), 'the log line of hub b');
  await until(async () => JSON.stringify(await listedOn(a, token, topic)) === JSON.stringify([subscriber]), 'hub a listing it again');

  await redis.command('FLUSHALL');
  const c = await clusterHub(stream, opts);
  await until(async () => JSON.stringify(await listedOn(c, token, topic)) === JSON.stringify([subscriber]), 'a hub started after FLUSHALL listing it', 15_000);
});

test('Redis emptied (FLUSHALL) after a hub died: the others forget its subscribers and keep their own', async () => {
  const stream = `flushed-${randomUUID()}`;
  const opts = { params: { node_timeout: '3' }, env: { SUBSCRIPTIONS: '1' } };
  const [a, b] = [await clusterHub(stream, opts), await clusterHub(stream, opts)];
  const token = await subscriberToken([API]);
  const topic = freshTopic();
  const watcher = closer.add(await subscribeOk(a, [API], { token }));
  closer.add(await subscribeOk(a, [topic]));
  const own = JSON.parse((await watcher.waitForEvent((e) => JSON.parse(e.data).topic === topic)).data).subscriber;
  closer.add(await subscribeOk(b, [topic]));
  await until(async () => (await listedOn(a, token, topic)).length === 2, 'hub a listing both');
  await b.kill();
  await redis.command('FLUSHALL');
  await until(async () => JSON.stringify(await listedOn(a, token, topic)) === JSON.stringify([own]), 'hub a listing its own subscriber only', 15_000);
});

/** [k1, v1, k2, v2...] (or already [[k1, v1], ...]) -> [[k1, v1], ...] */
function pairs(flat) {
  if (flat.length > 0 && Array.isArray(flat[0])) return flat.map(([k, v]) => [String(k), String(v)]);
  const out = [];
  for (let i = 0; i < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])]);
  return out;
}

test('publishes run the script by its SHA1; after SCRIPT FLUSH they are sent again with it, none lost or doubled', async () => {
  const stream = `sha-${randomUUID()}`;
  const h = await clusterHub(stream);
  const topic = freshTopic();
  const sub = closer.add(await subscribeOk(h, [topic]));
  const token = await anyPublisherToken();
  await publishOk(h, { topic, data: 'before' }, { token });
  await redis.command('SCRIPT', 'FLUSH');
  const ids = await Promise.all([1, 2, 3, 4, 5].map((i) => publishOk(h, { topic, data: `after ${i}` }, { token })));
  await sub.waitForEvent(() => sub.events.filter((e) => e.data.startsWith('after')).length === 5);
  assert.equal(duplicates(sub.events.map((e) => e.id)).length, 0);
  assert.deepEqual(new Set(sub.events.filter((e) => e.data.startsWith('after')).map((e) => e.id)), new Set(ids));
  assert.equal((await redis.command('XLEN', stream)), 6);
});

test('metrics: updates accepted and the pipeline batch histogram', async () => {
  const stream = `metrics-${randomUUID()}`;
  const h = await clusterHub(stream, { env: { METRICS_ENABLED: '1' } });
  const token = await anyPublisherToken();
  const before = await scrape(h);
  for (let i = 0; i < 5; i++) await publishOk(h, { topic: freshTopic(), data: `${i}` }, { token });
  const dup = await publish(h, { topic: freshTopic(), id: (await redis.command('XRANGE', stream, '-', '+'))[0][1][1] }, { token });
  assert.equal(dup.status, 409);
  // Acknowledgements go out as replies arrive (the reader's for stored ones), the counters once the
  // writer has read its whole batch: they catch up just after, so wait for them, then hold them exact.
  const updates = (m) => m.value('mercure_updates_total') - before.value('mercure_updates_total');
  const batched = (m) => m.histogram('mercure_history_commit_batch_size').sum - before.histogram('mercure_history_commit_batch_size').sum;
  const after = await until(async () => {
    const m = await scrape(h);
    return updates(m) >= 5 && batched(m) >= 6 ? m : null;
  }, 'the counters to count the six updates sent');
  assert.equal(updates(after), 5, 'five stored');
  assert.equal(batched(after), 6, 'six updates sent, one refused');
});

test('a hub stopped with SIGTERM announces its subscribers\' departure to the other hubs', async () => {
  const { a, b, token, watcher } = await watchedCluster();
  const topic = freshTopic();
  closer.add(await subscribeOk(b, [topic]));
  const connect = await watcher.waitForEvent((e) => JSON.parse(e.data).topic === topic);
  const { subscriber } = JSON.parse(connect.data);
  await b.stop();
  const gone = await watcher.waitForEvent((e) => {
    const doc = JSON.parse(e.data);
    return doc.subscriber === subscriber && doc.active === false;
  });
  assert.equal(JSON.parse(gone.data).topic, topic);
  const res = await request(a, { path: SUBS, headers: { Authorization: `Bearer ${token}` } });
  assert.equal(JSON.parse(res.text).subscriptions.filter((s) => s.subscriber === subscriber).length, 0);
});

test('SIGTERM drains a hub\'s event streams by default: still fed by the other hub until their end of life', async () => {
  // GRACE_PERIOD unset (the tests' default is 0): the Redis transport's default drain.
  const { a, b } = await cluster({ env: { GRACE_PERIOD: undefined, WRITE_TIMEOUT: '4s' } });
  const topic = freshTopic();
  const sub = closer.add(await subscribeOk(a, [topic]));
  a.process.kill('SIGTERM');
  await a.waitForLog(/draining 1 event stream: no new connection/);
  const id = await publishOk(b, { topic, data: 'published during the drain' }, { token: await anyPublisherToken() });
  const event = await sub.waitForEvent((e) => e.id === id);
  assert.equal(event.data, 'published during the drain');
  await sub.waitForEnd({ timeoutMs: 10_000, what: 'the stream to reach its end of life' });
  assert.equal((await a.exited).code, 0, a.output());
  assert.match(a.stderr(), /every event stream has ended/);
});

describe('start-up errors: exit 2 with one line naming the server, never the password', () => {
  test('no Redis listening', async () => {
    const port = redis.port;
    const down = await startRedis();
    const url = down.url({ stream: 'x' }, { auth: 'user:s3cret-pw@' });
    await removeRedis(down);
    const r = await runHubUntilExit({ env: { TRANSPORT_URL: url } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${down.port}/0: cannot connect`));
    assert.doesNotMatch(r.stderr + r.stdout, /s3cret-pw/);
    assert.notEqual(port, 0);
  });

  test('a key of another type under the stream name', async () => {
    const stream = `taken-${randomUUID()}`;
    await redis.command('SET', stream, 'not a stream');
    const r = await runHubUntilExit({ env: { TRANSPORT_URL: redis.url({ stream }) } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /holds a string, not a stream/);
  });

  test('a bad URL', async () => {
    for (const [url, reason] of [
      ['redis://127.0.0.1:6379/0?bogus=1', /unknown parameter "bogus"/],
      ['rediss://user:s3cret-pw@127.0.0.1:6380?tls_cert_file=/c.pem', /go together/],
      // Unencoded '/' or '?' in the password, a scheme in capitals, a missing ':'.
      ['redis://user:s3cret-pw/x@127.0.0.1', /port|host|database/],
      ['redis://u:12/s3cret-pw@127.0.0.1', /database/],
      ['Redis://:s3cret-pw@127.0.0.1', /unsupported transport|not a transport URL/],
      ['redis//:s3cret-pw@127.0.0.1', /not a transport URL|unsupported transport/],
    ]) {
      const r = await runHubUntilExit({ env: { TRANSPORT_URL: url } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, reason);
      assert.doesNotMatch(r.stderr + r.stdout, /s3cret-pw/);
    }
  });

  test('a password-protected Redis: a wrong password is refused, the right one works', async () => {
    const locked = await startRedis({ args: ['--requirepass', 's3cret-pw'] });
    try {
      const wrong = await runHubUntilExit({ env: { TRANSPORT_URL: locked.url({}, { auth: ':nope@' }) } });
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.match(wrong.stderr, /AUTH refused/);
      const h = await startHub({ env: { TRANSPORT_URL: locked.url({ stream: 'auth' }, { auth: ':s3cret-pw@' }) } });
      hubs.push(h);
      await publishOk(h, { topic: freshTopic(), data: 'x' }, { token: await anyPublisherToken() });
    } finally {
      await removeRedis(locked);
    }
  });
});
