// A real third-party client: the `eventsource` npm package (WHATWG EventSource for Node).

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startHub, useHub } from '../lib/hub.mjs';
import { publishOk, subscribeQuery, withDeadline } from '../lib/http.mjs';
import { publisherToken, subscriberToken } from '../lib/tokens.mjs';

const sources = new Set();
after(() => {
  for (const es of sources) es.close();
});

function open(url, init) {
  const es = new EventSource(url, init);
  sources.add(es);
  return es;
}

/** Resolves with the next event of `type` satisfying pred; rejects at the deadline. */
function next(es, type, pred = () => true, timeoutMs = 5000) {
  let listener;
  const p = new Promise((resolve) => {
    listener = (ev) => {
      if (pred(ev)) resolve(ev);
    };
    es.addEventListener(type, listener);
  });
  return withDeadline(p, timeoutMs, `EventSource "${type}" event`).finally(() => es.removeEventListener(type, listener));
}

describe('eventsource package', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });

  test('an anonymous EventSource receives a typed update with its data and lastEventId', async () => {
    const topic = 'https://example.com/e2e/books/1';
    const es = open(hub.hubUrl + subscribeQuery(['https://example.com/e2e/books/{id}']));
    await next(es, 'open');
    const got = next(es, 'book-updated');
    const id = await publishOk(hub, { topic, type: 'book-updated', data: '{"title":"Dune"}\nsecond line' }, { token: await publisherToken() });
    const ev = await got;
    assert.equal(ev.type, 'book-updated');
    assert.equal(ev.data, '{"title":"Dune"}\nsecond line');
    assert.equal(ev.lastEventId, id);
    assert.match(id, /^urn:uuid:/);
    es.close();
  });

  test('an untyped update is a `message` event', async () => {
    const topic = 'https://example.com/e2e/plain';
    const es = open(hub.hubUrl + subscribeQuery([topic]));
    await next(es, 'open');
    const got = next(es, 'message');
    await publishOk(hub, { topic, id: 'urn:e2e:plain', data: 'plain' }, { token: await publisherToken() });
    const ev = await got;
    assert.equal(ev.data, 'plain');
    assert.equal(ev.lastEventId, 'urn:e2e:plain');
    es.close();
  });

  test('an Authorization header (custom fetch) unlocks private updates; anonymous never sees them', async () => {
    const topic = 'https://example.com/e2e/private';
    const token = await subscriberToken([topic]);
    const authed = open(hub.hubUrl + subscribeQuery([topic]), {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }),
    });
    const anon = open(hub.hubUrl + subscribeQuery([topic]));
    await Promise.all([next(authed, 'open'), next(anon, 'open')]);
    const anonSeen = [];
    anon.addEventListener('message', (e) => anonSeen.push(e.data));
    const gotPrivate = next(authed, 'message', (e) => e.data === 'secret');
    const anonPublic = next(anon, 'message', (e) => e.data === 'public');
    const pub = await publisherToken();
    await publishOk(hub, { topic, data: 'secret', private: 'on' }, { token: pub });
    await publishOk(hub, { topic, data: 'public' }, { token: pub });
    await gotPrivate;
    await anonPublic;
    assert.deepEqual(anonSeen, ['public']);
    authed.close();
    anon.close();
  });
});

describe('eventsource package against a hub requiring tokens', () => {
  const hub = useHub();

  test('no token: the connection fails with 401 and is not retried', async () => {
    const es = open(hub.hubUrl + subscribeQuery(['https://example.com/e2e/x']));
    const err = await next(es, 'error');
    assert.equal(err.code, 401);
    assert.equal(es.readyState, EventSource.CLOSED);
  });
});

describe('eventsource package reconnecting', () => {
  test('after the hub ends the stream, the client reconnects with Last-Event-ID and keeps receiving', async () => {
    const hub = await startHub({ env: { ALLOW_ANONYMOUS: '1', WRITE_TIMEOUT: '1s' } });
    try {
      const topic = 'https://example.com/e2e/reconnect';
      const requests = [];
      const es = open(hub.hubUrl + subscribeQuery([topic]), {
        fetch: (input, init) => {
          requests.push(new Headers(init.headers).get('last-event-id'));
          return fetch(input, init);
        },
      });
      await next(es, 'open');
      const first = next(es, 'message');
      const pub = await publisherToken();
      // retry=100: the client reconnects 100 ms after the hub ends the stream.
      const id1 = await publishOk(hub, { topic, data: 'one', retry: '100' }, { token: pub });
      assert.equal((await first).lastEventId, id1);
      await next(es, 'error', () => true, 5000); // the write timeout ended the stream
      await next(es, 'open', () => true, 5000); // and the client is back
      assert.equal(requests.at(-1), id1, 'the reconnection carried Last-Event-ID');
      const second = next(es, 'message', (e) => e.data === 'two');
      const id2 = await publishOk(hub, { topic, data: 'two' }, { token: pub });
      assert.equal((await second).lastEventId, id2);
      es.close();
    } finally {
      await hub.stop();
    }
  });
});
