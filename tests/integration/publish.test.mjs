// Publish endpoint: fields, validation, authorization of the publisher, generated ids.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { useHub } from '../lib/hub.mjs';
import { Closer, HUB_PATH, publish, publishOk, request, subscribeOk } from '../lib/http.mjs';
import { mint, nowSeconds, publisherToken, subscriberToken } from '../lib/tokens.mjs';

const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });
const closer = new Closer();
after(() => closer.closeAll());

const UUID_V7_URN = /^urn:uuid:([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Runs `act` while a `*` subscriber (allowed to see private updates) listens, then publishes a
 * marker; resolves with the events that arrived before the marker.
 */
async function dispatchedDuring(act) {
  const sub = closer.add(await subscribeOk(hub, ['*'], { token: await subscriberToken(['*']) }));
  await act();
  const marker = `urn:marker:${randomUUID()}`;
  await publishOk(hub, { topic: marker, data: 'marker' }, { token: await publisherToken() });
  await sub.waitForEvent((e) => e.data === 'marker');
  sub.close();
  return sub.events.filter((e) => e.data !== 'marker');
}

describe('publishing', () => {
  test('success: 200, text/plain; charset=utf-8, the body is the id', async () => {
    const res = await publish(hub, { topic: 'https://example.com/p/1', data: 'x' }, { token: await publisherToken() });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(res.text, UUID_V7_URN);
  });

  test('the reference hub\'s security fields: no sniffing, no framing, on answers and refusals alike', async () => {
    const ok = await publish(hub, { topic: 'https://example.com/p/s', data: 'x' }, { token: await publisherToken() });
    const refused = await publish(hub, { topic: 'https://example.com/p/s' }, { token: 'not.a.token' });
    const subscriptions = await request(hub, { path: `${HUB_PATH}/subscriptions` });
    for (const [what, res] of [['200', ok], ['401', refused], ['the subscriptions API refusal', subscriptions]]) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
      assert.equal(res.headers['x-frame-options'], 'DENY', what);
    }
    assert.equal(refused.status, 401);
  });

  test('a generated id is urn:uuid: + a UUIDv7 with a current timestamp, unique and time-ordered', async () => {
    const token = await publisherToken();
    const ids = [];
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) ids.push(await publishOk(hub, { topic: 'https://example.com/ids', data: String(i) }, { token }));
    const t1 = Date.now();
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    let prev = 0;
    for (const id of ids) {
      const m = UUID_V7_URN.exec(id);
      assert.ok(m, `${id} is urn:uuid: + a version-7 UUID (RFC 9562 variant)`);
      const ms = parseInt(m[1] + m[2], 16);
      assert.ok(ms >= t0 - 2000 && ms <= t1 + 2000, `timestamp of ${id} (${ms}) within the test's time (${t0}..${t1})`);
      assert.ok(ms >= prev, 'timestamps never go backwards');
      prev = ms;
    }
  });

  test('a given id is echoed and used as the event id', async () => {
    const topic = 'https://example.com/given-id';
    const sub = closer.add(await subscribeOk(hub, [topic]));
    const res = await publish(hub, { topic, id: 'urn:example:given-1', data: 'g' }, { token: await publisherToken() });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'urn:example:given-1');
    const [ev] = await sub.waitForEvents(1);
    assert.equal(ev.id, 'urn:example:given-1');
  });

  test('every field reaches the subscriber: topics, data, private, id, type, retry', async () => {
    const canonical = 'https://example.com/all-fields';
    const alternate = 'https://example.com/all-fields-alternate';
    const sub = closer.add(await subscribeOk(hub, [alternate], { token: await subscriberToken([canonical]) }));
    const res = await publish(
      hub,
      [
        ['topic', canonical],
        ['topic', alternate],
        ['data', 'payload'],
        ['private', 'on'],
        ['id', 'urn:example:all'],
        ['type', 'custom'],
        ['retry', '3000'],
      ],
      { token: await publisherToken() },
    );
    assert.equal(res.status, 200, res.text);
    const [ev] = await sub.waitForEvents(1);
    assert.equal(ev.raw, 'event: custom\nretry: 3000\nid: urn:example:all\ndata: payload\n\n');
  });

  test('unknown fields are ignored', async () => {
    const topic = 'https://example.com/unknown-fields';
    const sub = closer.add(await subscribeOk(hub, [topic]));
    const res = await publish(
      hub,
      [['foo', 'bar'], ['topic', topic], ['data', 'd'], ['id', 'urn:u:1'], ['lastEventID', 'x'], ['event', 'not-a-field'], ['Data', 'nope']],
      { token: await publisherToken() },
    );
    assert.equal(res.status, 200, res.text);
    const [ev] = await sub.waitForEvents(1);
    assert.equal(ev.raw, 'id: urn:u:1\ndata: d\n\n');
  });

  test('form decoding: `+` is a space, percent escapes are UTF-8, `&` and `=` can be escaped', async () => {
    const topic = 'https://example.com/form';
    const sub = closer.add(await subscribeOk(hub, [topic]));
    const res = await publish(hub, null, {
      token: await publisherToken(),
      rawBody: `topic=${encodeURIComponent(topic)}&data=hello+world%21%26more%3Dyes+%C3%A9%E2%9C%93&id=urn%3Aform`,
    });
    assert.equal(res.status, 200, res.text);
    const [ev] = await sub.waitForEvents(1);
    assert.equal(ev.data, 'hello world!&more=yes é✓');
    assert.equal(ev.id, 'urn:form');
  });

  test('a charset parameter on the form content type is accepted', async () => {
    const res = await publish(hub, { topic: 'https://example.com/charset', data: 'x' }, {
      token: await publisherToken(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    });
    assert.equal(res.status, 200, res.text);
  });

  test('`private` with an empty value marks the update private', async () => {
    const topic = 'https://example.com/private-empty';
    const anon = closer.add(await subscribeOk(hub, [topic]));
    const authorized = closer.add(await subscribeOk(hub, [topic], { token: await subscriberToken([topic]) }));
    const token = await publisherToken();
    await publishOk(hub, [['topic', topic], ['data', 'secret'], ['private', '']], { token });
    await publishOk(hub, [['topic', topic], ['data', 'public']], { token });
    await anon.waitForEvent((e) => e.data === 'public');
    assert.deepEqual(anon.events.map((e) => e.data), ['public']);
    await authorized.waitForEvents(2);
    assert.deepEqual(authorized.events.map((e) => e.data), ['secret', 'public']);
  });
});

describe('publish validation (400, nothing dispatched)', () => {
  const BAD = [
    ['an id starting with #', [['topic', 'https://example.com/v'], ['id', '#frag']]],
    ['an id that is just #', [['topic', 'https://example.com/v'], ['id', '#']]],
    ['LF in id', [['topic', 'https://example.com/v'], ['id', 'a\nb']]],
    ['CR in id', [['topic', 'https://example.com/v'], ['id', 'a\rb']]],
    ['NUL in id', [['topic', 'https://example.com/v'], ['id', 'a\0b']]],
    ['LF in type', [['topic', 'https://example.com/v'], ['type', 'a\nb']]],
    ['CR in type', [['topic', 'https://example.com/v'], ['type', 'a\rb']]],
    ['NUL in type', [['topic', 'https://example.com/v'], ['type', 'a\0b']]],
    ['a non-numeric retry', [['topic', 'https://example.com/v'], ['retry', 'abc']]],
    ['a negative retry', [['topic', 'https://example.com/v'], ['retry', '-1']]],
    ['a fractional retry', [['topic', 'https://example.com/v'], ['retry', '1.5']]],
    ['a retry with trailing garbage', [['topic', 'https://example.com/v'], ['retry', '12abc']]],
    ['a retry beyond 64 bits', [['topic', 'https://example.com/v'], ['retry', '99999999999999999999999']]],
    ['no topic', [['data', 'no topic']]],
  ];
  for (const [name, fields] of BAD) {
    test(`${name} -> 400`, async () => {
      let res;
      const events = await dispatchedDuring(async () => {
        res = await publish(hub, [...fields, ['data', 'must-not-arrive']], { token: await publisherToken() });
      });
      assert.equal(res.status, 400, `${name}: ${res.status} ${res.text}`);
      assert.deepEqual(events.map((e) => e.data), [], 'nothing dispatched');
    });
  }

  test('an empty body -> 400', async () => {
    const res = await publish(hub, null, { token: await publisherToken(), rawBody: '' });
    assert.equal(res.status, 400);
  });
});

describe('publisher authorization', () => {
  test('no token -> 401', async () => {
    const res = await publish(hub, { topic: 'https://example.com/a', data: 'x' });
    assert.equal(res.status, 401);
  });

  test('an invalid token -> 401 (garbage, wrong key, tampered, expired, not yet valid)', async () => {
    const claims = { mercure: { publish: ['*'] } };
    const good = await mint(claims);
    const [h, , s] = good.split('.');
    const tokens = {
      garbage: 'not-a-jwt',
      'two parts': good.split('.').slice(0, 2).join('.'),
      'wrong key': await mint(claims, { key: 'another-secret-another-secret-12' }),
      tampered: `${h}.${Buffer.from(JSON.stringify({ mercure: { publish: ['*'] }, x: 1 })).toString('base64url')}.${s}`,
      expired: await mint({ ...claims, exp: nowSeconds() - 60 }),
      'not yet valid': await mint({ ...claims, nbf: nowSeconds() + 3600 }),
    };
    const statuses = {};
    const expected = {};
    for (const [name, token] of Object.entries(tokens)) {
      statuses[name] = (await publish(hub, { topic: 'https://example.com/a', data: 'x' }, { token })).status;
      expected[name] = 401;
    }
    assert.deepEqual(statuses, expected);
  });

  test('a valid token without a publish claim -> 403', async () => {
    const statuses = {};
    const expected = {};
    for (const claims of [{ mercure: { subscribe: ['*'] } }, { mercure: {} }, { sub: 'x' }, { mercure: { publish: [] } }]) {
      const key = JSON.stringify(claims);
      statuses[key] = (await publish(hub, { topic: 'https://example.com/a', data: 'x' }, { token: await mint(claims) })).status;
      expected[key] = 403;
    }
    assert.deepEqual(statuses, expected);
  });

  test('a topic not granted by the publish claim -> 403 and nothing is dispatched', async () => {
    const token = await publisherToken(['https://example.com/allowed/{id}', 'https://example.com/exact']);
    const statuses = {};
    const events = await dispatchedDuring(async () => {
      const cases = {
        denied: [['topic', 'https://example.com/denied/1']],
        'allowed + denied alternate': [['topic', 'https://example.com/allowed/1'], ['topic', 'https://example.com/denied/1']],
        'denied + allowed alternate': [['topic', 'https://example.com/denied/2'], ['topic', 'https://example.com/exact']],
        'template does not match': [['topic', 'https://example.com/allowed/1/2']],
      };
      for (const [name, fields] of Object.entries(cases)) {
        statuses[name] = (await publish(hub, [...fields, ['data', name]], { token })).status;
      }
      statuses.allowed = (await publish(hub, [['topic', 'https://example.com/allowed/9'], ['topic', 'https://example.com/exact'], ['data', 'allowed']], { token })).status;
    });
    assert.deepEqual(statuses, {
      denied: 403,
      'allowed + denied alternate': 403,
      'denied + allowed alternate': 403,
      'template does not match': 403,
      allowed: 200,
    });
    assert.deepEqual(events.map((e) => e.data), ['allowed']);
  });

  test('topics under /.well-known/mercure are reserved -> 403', async () => {
    const token = await publisherToken(['*']);
    let statuses = [];
    const events = await dispatchedDuring(async () => {
      for (const topics of [
        ['/.well-known/mercure/subscriptions/foo/bar'],
        ['/.well-known/mercure'],
        ['https://example.com/ok', '/.well-known/mercure/subscriptions/x'],
      ]) {
        const res = await publish(hub, [...topics.map((t) => ['topic', t]), ['data', 'reserved']], { token });
        statuses.push(res.status);
      }
    });
    assert.deepEqual(statuses, [403, 403, 403]);
    assert.deepEqual(events, []);
  });

  test('the claim may live under the https://mercure.rocks/ namespace', async () => {
    const token = await mint({ 'https://mercure.rocks/': { publish: ['https://example.com/ns/{id}'] } });
    assert.equal((await publish(hub, { topic: 'https://example.com/ns/1', data: 'x' }, { token })).status, 200);
    assert.equal((await publish(hub, { topic: 'https://example.com/other', data: 'x' }, { token })).status, 403);
  });

  test('a token in the `authorization` query parameter is accepted', async () => {
    const res = await request(hub, {
      method: 'POST',
      path: `${HUB_PATH}?authorization=${await publisherToken()}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'topic=https%3A%2F%2Fexample.com%2Fq&data=x',
    });
    assert.equal(res.status, 200, res.text);
  });
});
