// Active subscriptions (PROTOCOL.md "Active subscriptions"): the private subscription events
// published on connect and on disconnect (topic encoding and JSON-LD body), and the
// subscription API (collection, per topic, single; 404; lastEventID; ETag / 304; access by
// the caller's mercure.subscribe claim). Every test uses its own topics.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Closer, publishOk, request, subscribeOk } from '../lib/http.mjs';
import { useHub, startHub } from '../lib/hub.mjs';
import { mint, publisherToken, subscriberToken } from '../lib/tokens.mjs';
import { tempDir, lmdbUrl } from '../lib/store.mjs';

const SUBS = '/.well-known/mercure/subscriptions';
// Grants the whole API and every subscription event (a template with optional segments).
const API_SELECTOR = `${SUBS}{/topic}{/subscriber}`;
const UUID_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** RFC 6570 simple expansion: everything but unreserved characters percent-encoded. */
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const subscriptionId = (topic, subscriber) => `${SUBS}/${enc(topic)}/${enc(subscriber)}`;

const hub = useHub({ env: { SUBSCRIPTIONS: '1', ALLOW_ANONYMOUS: '1' }, workers: 2 });
const closer = new Closer();
after(() => closer.closeAll());

function fresh() {
  return `https://example.com/subs/${randomUUID()}`;
}

/** Calls `fetch` until `done(result)` holds; a bounded poll for state that has no event. */
async function pollUntil(fetch, done, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await fetch();
    if (done(result)) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(result)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function apiGet(path, { token, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== null) h.Authorization = `Bearer ${token ?? (await subscriberToken([API_SELECTOR]))}`;
  return request(hub, { path, headers: h });
}

async function apiJson(path, opts) {
  const res = await apiGet(path, opts);
  assert.equal(res.status, 200, `GET ${path}: ${res.status} ${res.text}`);
  assert.equal(res.headers['content-type'], 'application/ld+json');
  return { res, doc: JSON.parse(res.text) };
}

/** A watcher of every subscription event; .events are parsed bodies. */
async function watchSubscriptionEvents() {
  const token = await subscriberToken([API_SELECTOR]);
  return closer.add(await subscribeOk(hub, [API_SELECTOR], { token }));
}

/** Waits for the subscription events of `subscriber` with `active`, one per topic. */
async function eventsFor(watcher, subscriber, active, count) {
  const pick = () =>
    watcher.events.map((e) => JSON.parse(e.data)).filter((d) => d.subscriber === subscriber && d.active === active);
  await watcher.waitFor(() => pick().length >= count, { what: `${count} event(s) active=${active} for ${subscriber}` });
  return pick();
}

/** Opens a subscriber and finds its subscriber id through the events watcher. */
async function connectAndIdentify(watcher, topics, { payload } = {}) {
  const before = new Set(watcher.events.map((e) => e.id));
  const claims = { mercure: { subscribe: ['https://example.com/nothing'] } };
  if (payload !== undefined) claims.mercure.payload = payload;
  const sub = closer.add(await subscribeOk(hub, topics, { token: await mint(claims) }));
  const mine = () =>
    watcher.events
      .filter((e) => !before.has(e.id))
      .map((e) => JSON.parse(e.data))
      .filter((d) => d.active && topics.includes(d.topic));
  await watcher.waitFor(() => mine().length >= topics.length, { what: 'the new subscriber events' });
  return { sub, subscriber: mine()[0].subscriber };
}

describe('subscription events', () => {
  test('connect and disconnect publish one private event per selector with the exact topic and body', async () => {
    const watcher = await watchSubscriptionEvents();
    const base = fresh();
    const topics = [`${base}/{selector}`, `${base}/a b?x=1&y=é`];
    const { sub, subscriber } = await connectAndIdentify(watcher, topics, { payload: { foo: 'bar', n: [1, 2], r: 0.5, k: 1e3 } });
    assert.match(subscriber, UUID_URN);

    const connected = await eventsFor(watcher, subscriber, true, 2);
    assert.deepEqual(
      connected.map((d) => d.topic),
      topics,
      'one event per selector, in the order subscribed',
    );
    for (const d of connected) {
      assert.deepEqual(Object.keys(d), ['@context', 'id', 'type', 'topic', 'subscriber', 'active', 'payload']);
      assert.equal(d['@context'], 'https://mercure.rocks/');
      assert.equal(d.type, 'Subscription');
      assert.equal(d.id, subscriptionId(d.topic, subscriber));
      assert.deepEqual(d.payload, { foo: 'bar', n: [1, 2], r: 0.5, k: 1000 });
    }
    // Numbers as the token wrote them (and the reference writes them), not 5E-1 and 1E3.
    const raw = watcher.events.find((e) => e.data.includes(subscriber)).data;
    assert.ok(raw.includes('"payload":{"foo":"bar","n":[1,2],"r":0.5,"k":1000}'), raw);
    assert.equal(
      connected[0].id,
      `${SUBS}/https%3A%2F%2Fexample.com%2Fsubs%2F${base.split('/').at(-1)}%2F%7Bselector%7D/${subscriber.replaceAll(':', '%3A')}`,
    );
    assert.ok(connected[1].id.includes('%2Fa%20b%3Fx%3D1%26y%3D%C3%A9/'), connected[1].id);

    sub.close();
    const gone = await eventsFor(watcher, subscriber, false, 2);
    assert.deepEqual(gone.map((d) => d.topic).sort(), [...topics].sort());
    for (const d of gone) {
      assert.equal(d.id, subscriptionId(d.topic, subscriber));
      assert.deepEqual(d.payload, { foo: 'bar', n: [1, 2], r: 0.5, k: 1000 });
    }
  });

  test('a subscriber does not receive the event announcing itself (as on the reference hub), only the others', async () => {
    const first = await watchSubscriptionEvents();
    const second = await watchSubscriptionEvents();
    // The second watcher's connect event comes after the first's in the one global order: once
    // the first watcher has it, it would have had its own before.
    const announced = (watcher) =>
      watcher.events.map((e) => JSON.parse(e.data)).filter((d) => d.active && d.topic === API_SELECTOR);
    await first.waitFor(() => announced(first).length >= 1, { what: "the second watcher's connect event" });
    assert.equal(announced(first).length, 1, 'only the second watcher is announced to the first');
    const other = fresh();
    const { subscriber } = await connectAndIdentify(second, [other]);
    await eventsFor(first, subscriber, true, 1);
    assert.equal(announced(second).length, 0, 'the second watcher never saw itself announced');
  });

  test('no payload member when the token has none; anonymous subscribers are announced too', async () => {
    const watcher = await watchSubscriptionEvents();
    const topic = fresh();
    const before = new Set(watcher.events.map((e) => e.id));
    const sub = closer.add(await subscribeOk(hub, [topic]));
    await watcher.waitFor(() => watcher.events.some((e) => !before.has(e.id) && JSON.parse(e.data).topic === topic), {
      what: 'the anonymous subscriber event',
    });
    const d = watcher.events.map((e) => JSON.parse(e.data)).find((x) => x.topic === topic);
    assert.equal('payload' in d, false);
    assert.equal(d.active, true);
    sub.close();
    // Its disconnect event is committed before the next test reads ETags.
    await eventsFor(watcher, d.subscriber, false, 1);
  });

  test('subscription events are private: invisible to anonymous and unauthorized subscribers', async () => {
    const anonymous = closer.add(await subscribeOk(hub, ['*']));
    const other = closer.add(
      await subscribeOk(hub, ['*'], { token: await subscriberToken(['https://example.com/{x}']) }),
    );
    const watcher = await watchSubscriptionEvents();
    const topic = fresh();
    const { sub, subscriber } = await connectAndIdentify(watcher, [topic]);
    // A public marker published after the subscription event: once both saw it, they would
    // have seen the event before it too.
    const marker = await publishOk(hub, { topic: `${topic}/marker`, data: 'm' }, { token: await publisherToken() });
    await anonymous.waitForEvent((e) => e.id === marker);
    await other.waitForEvent((e) => e.id === marker);
    for (const s of [anonymous, other]) {
      assert.equal(s.events.filter((e) => e.data.includes('"Subscription"')).length, 0);
    }
    sub.close();
    await eventsFor(watcher, subscriber, false, 1);
  });
});

describe('subscription API', () => {
  test('the collection lists active subscriptions with lastEventID, ETag and the hub link', async () => {
    const watcher = await watchSubscriptionEvents();
    const topic = fresh();
    const { sub, subscriber } = await connectAndIdentify(watcher, [topic], { payload: { who: 'me' } });
    const { res, doc } = await apiJson(SUBS);
    assert.deepEqual(Object.keys(doc), ['@context', 'id', 'type', 'lastEventID', 'subscriptions']);
    assert.equal(doc['@context'], 'https://mercure.rocks/');
    assert.equal(doc.id, SUBS);
    assert.equal(doc.type, 'Subscriptions');
    const mine = doc.subscriptions.find((s) => s.subscriber === subscriber);
    assert.deepEqual(mine, {
      id: subscriptionId(topic, subscriber),
      type: 'Subscription',
      topic,
      subscriber,
      active: true,
      payload: { who: 'me' },
    });
    assert.equal(res.headers.etag, `"${doc.lastEventID}"`);
    assert.match(res.headers.link, /<\/\.well-known\/mercure>; rel="mercure"/);
    assert.equal(res.headers['cache-control'], 'must-revalidate');

    sub.close();
    await eventsFor(watcher, subscriber, false, 1);
    const { doc: after } = await apiJson(SUBS);
    assert.equal(after.subscriptions.some((s) => s.subscriber === subscriber), false, 'gone once disconnected');
  });

  test('lastEventID is the id of the last event the hub dispatched', async () => {
    const topic = fresh();
    const id = await publishOk(hub, { topic, data: 'x' }, { token: await publisherToken() });
    const { doc } = await apiJson(SUBS);
    assert.equal(doc.lastEventID, id);
  });

  test('per-topic collection and single subscription; 404 for unknown ones', async () => {
    const watcher = await watchSubscriptionEvents();
    const base = fresh();
    const topicA = `${base}/{id}`;
    const topicB = `${base}/b`;
    const a = await connectAndIdentify(watcher, [topicA, topicB]);
    const b = await connectAndIdentify(watcher, [topicA]);

    const { doc: forA } = await apiJson(`${SUBS}/${enc(topicA)}`);
    assert.equal(forA.id, `${SUBS}/${enc(topicA)}`);
    assert.equal(forA.type, 'Subscriptions');
    assert.deepEqual(forA.subscriptions.map((s) => s.subscriber).sort(), [a.subscriber, b.subscriber].sort());
    assert.ok(forA.subscriptions.every((s) => s.topic === topicA && !('@context' in s)));

    const { doc: forB } = await apiJson(`${SUBS}/${enc(topicB)}`);
    assert.deepEqual(forB.subscriptions.map((s) => s.subscriber), [a.subscriber]);

    const { doc: none } = await apiJson(`${SUBS}/${enc(`${base}/unknown`)}`);
    assert.deepEqual(none.subscriptions, []);

    const { res, doc: one } = await apiJson(subscriptionId(topicA, b.subscriber));
    assert.deepEqual(Object.keys(one), ['@context', 'id', 'type', 'topic', 'subscriber', 'active', 'lastEventID']);
    assert.equal(one.id, subscriptionId(topicA, b.subscriber));
    assert.equal(one.topic, topicA);
    assert.equal(one.active, true);
    assert.equal(res.headers.etag, `"${one.lastEventID}"`);

    // A subscription that does not exist, and one that ended.
    assert.equal((await apiGet(subscriptionId(topicB, b.subscriber))).status, 404);
    assert.equal((await apiGet(subscriptionId(topicA, `urn:uuid:${randomUUID()}`))).status, 404);
    b.sub.close();
    await eventsFor(watcher, b.subscriber, false, 1);
    assert.equal((await apiGet(subscriptionId(topicA, b.subscriber))).status, 404);
    // Not a subscription URL at all.
    assert.equal((await apiGet(`${SUBS}/a/b/c`)).status, 404);
    assert.equal((await apiGet(`${SUBS}/`)).status, 404);
    a.sub.close();
    // Both its disconnect events are committed before the next test reads ETags.
    await eventsFor(watcher, a.subscriber, false, 2);
  });

  test('If-None-Match with the ETag answers 304 until the subscriptions change', async () => {
    const first = await apiGet(SUBS);
    assert.equal(first.status, 200);
    const etag = first.headers.etag;
    const again = await apiGet(SUBS, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal(again.headers.etag, etag);
    // RFC 9110 8.6: a Content-Length on a 304 would have to be the 200's.
    assert.equal(again.headers['content-length'], undefined);
    // The reference hub sends its ETag unquoted; clients echo it back as they got it.
    assert.equal((await apiGet(SUBS, { headers: { 'If-None-Match': etag.slice(1, -1) } })).status, 304);

    const watcher = await watchSubscriptionEvents();
    const topic = fresh();
    const { sub } = await connectAndIdentify(watcher, [topic]);
    const changed = await apiGet(SUBS, { headers: { 'If-None-Match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
    sub.close();
  });

  test('access needs a mercure.subscribe claim matching the URL asked for', async () => {
    const watcher = await watchSubscriptionEvents();
    const topic = fresh();
    const { sub, subscriber } = await connectAndIdentify(watcher, [topic]);
    const topicUrl = `${SUBS}/${enc(topic)}`;

    const none = await apiGet(SUBS, { token: null });
    assert.equal(none.status, 401);
    const bad = await apiGet(SUBS, { token: 'not.a.token' });
    assert.equal(bad.status, 401);
    const unrelated = await apiGet(SUBS, { token: await subscriberToken(['https://example.com/{x}']) });
    assert.equal(unrelated.status, 403);
    const noClaim = await apiGet(SUBS, { token: await mint({ mercure: { publish: ['*'] } }) });
    assert.equal(noClaim.status, 403);

    // A claim for one topic's collection grants that URL only.
    const narrow = await subscriberToken([topicUrl, `${topicUrl}/{subscriber}`]);
    assert.equal((await apiGet(topicUrl, { token: narrow })).status, 200);
    assert.equal((await apiGet(subscriptionId(topic, subscriber), { token: narrow })).status, 200);
    assert.equal((await apiGet(SUBS, { token: narrow })).status, 403);
    // "*" grants everything; so does the query-string token.
    assert.equal((await apiGet(SUBS, { token: await subscriberToken(['*']) })).status, 200);
    const viaQuery = await request(hub, { path: `${topicUrl}?authorization=${await subscriberToken(['*'])}` });
    assert.equal(viaQuery.status, 200);
    // A template claim matches the resource's URL as the hub writes it: with a query-string
    // token, and with '+' for a space (PHP's urlencode, Go's QueryEscape) where the hub writes %20.
    const templated = await subscriberToken([API_SELECTOR]);
    assert.equal((await request(hub, { path: `${topicUrl}?authorization=${templated}` })).status, 200);
    const spaced = `https://example.com/subs/${randomUUID()} with spaces`;
    const { sub: spacedSub } = await connectAndIdentify(watcher, [spaced]);
    const plus = await apiGet(`${SUBS}/${encodeURIComponent(spaced).replaceAll('%20', '+')}`, { token: templated });
    assert.equal(plus.status, 200, plus.text);
    assert.deepEqual(JSON.parse(plus.text).subscriptions.map((s) => s.topic), [spaced]);
    spacedSub.close();
    sub.close();
  });

  test('HEAD answers like GET without a body; other methods get 405', async () => {
    const token = await subscriberToken(['*']);
    const head = await request(hub, { method: 'HEAD', path: SUBS, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'application/ld+json');
    assert.equal(head.text, '');
    const post = await request(hub, { method: 'POST', path: SUBS, headers: { Authorization: `Bearer ${token}` }, body: '' });
    assert.equal(post.status, 405);
  });
});

describe('without the subscriptions feature', () => {
  test('no API (404) and no subscription events', async (t) => {
    const plain = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    t.after(() => plain.stop());
    const token = await subscriberToken(['*']);
    const res = await request(plain, { path: SUBS, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 404);
    const watcher = closer.add(await subscribeOk(plain, ['*'], { token }));
    const other = closer.add(await subscribeOk(plain, [fresh()]));
    const marker = await publishOk(plain, { topic: fresh(), data: 'm' }, { token: await publisherToken() });
    await watcher.waitForEvent((e) => e.id === marker);
    assert.equal(watcher.events.length, 1, 'only the marker: no subscription event');
    other.close();
  });
});

describe('with a durable store', () => {
  test('subscription events are stored in the history, and lastEventID survives a restart', async (t) => {
    const dir = tempDir(t, 'mercure-subs-');
    const env = { SUBSCRIPTIONS: '1', ALLOW_ANONYMOUS: '1', TRANSPORT_URL: lmdbUrl(dir) };
    const first = await startHub({ env });
    let firstStopped = false;
    t.after(() => (firstStopped ? undefined : first.stop()));
    const token = await subscriberToken(['*']);
    const topic = fresh();
    const sub = await subscribeOk(first, [topic]);
    sub.close();
    // Both events are in the history: a resume from the beginning replays them in order.
    const replay = closer.add(await subscribeOk(first, [API_SELECTOR], { token, headers: { 'Last-Event-ID': 'earliest' } }));
    await replay.waitFor(() => replay.events.filter((e) => JSON.parse(e.data).topic === topic).length === 2, {
      what: 'the stored connect and disconnect events',
    });
    const mine = replay.events.map((e) => JSON.parse(e.data)).filter((d) => d.topic === topic);
    assert.deepEqual(mine.map((d) => d.active), [true, false]);
    // The replaying subscriber's own connect event is committed apart from the replay: wait for
    // it, or the list below could be empty before it (and its disconnect) are stored.
    await pollUntil(
      async () => JSON.parse((await request(first, { path: SUBS, headers: { Authorization: `Bearer ${token}` } })).text),
      (d) => d.subscriptions.length === 1,
      'the replaying subscription in the list',
    );
    replay.close();
    // Once the replaying subscriber's own disconnect event is dispatched, nothing else happens.
    const doc = await pollUntil(
      async () => JSON.parse((await request(first, { path: SUBS, headers: { Authorization: `Bearer ${token}` } })).text),
      (d) => d.subscriptions.length === 0,
      'an empty subscription list',
    );
    await first.stop();
    firstStopped = true;

    const second = await startHub({ env });
    t.after(() => second.stop());
    const res = await request(second, { path: SUBS, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const reopened = JSON.parse(res.text);
    assert.equal(reopened.lastEventID, doc.lastEventID);
    assert.notEqual(reopened.lastEventID, 'earliest');
    assert.deepEqual(reopened.subscriptions, []);
  });

  test('a fresh hub reports lastEventID "earliest"', async (t) => {
    const newHub = await startHub({ env: { SUBSCRIPTIONS: '1', ALLOW_ANONYMOUS: '1' } });
    t.after(() => newHub.stop());
    const res = await request(newHub, { path: SUBS, headers: { Authorization: `Bearer ${await subscriberToken(['*'])}` } });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text).lastEventID, 'earliest');
    assert.equal(res.headers.etag, '"earliest"');
  });
});
