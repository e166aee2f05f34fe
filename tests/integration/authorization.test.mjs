// Who may subscribe and publish: token lookup order, cookies and CSRF, private updates,
// anonymous subscribers, invalid tokens, every signing algorithm family.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startHub, useHub, JWT_SECRET } from '../lib/hub.mjs';
import { Closer, publish, publishOk, subscribe, subscribeOk } from '../lib/http.mjs';
import { keyPair, mint, nowSeconds, publisherToken, subscriberToken, unsecuredToken } from '../lib/tokens.mjs';
import { deliveredIndices } from '../lib/oracle.mjs';

const closer = new Closer();
after(() => closer.closeAll());

/** Subscribes and returns the status (closing the stream). */
async function subscribeStatus(hub, topics, opts) {
  const res = await subscribe(hub, topics, opts);
  res.close();
  return res.status;
}

/** Does a private update on a fresh topic reach a subscriber opened with `opts`? */
async function seesPrivate(hub, opts, pubOpts = {}) {
  const topic = `https://example.com/private/${randomUUID()}`;
  const sub = closer.add(await subscribeOk(hub, [topic], opts));
  const token = pubOpts.token ?? (await publisherToken());
  await publishOk(hub, [['topic', topic], ['data', 'secret'], ['private', 'on']], { token });
  await publishOk(hub, [['topic', topic], ['data', 'public']], { token });
  await sub.waitForEvent((e) => e.data === 'public');
  sub.close();
  return sub.events.some((e) => e.data === 'secret');
}

const invalidSubscriberTokens = async (key = JWT_SECRET) => {
  const claims = { mercure: { subscribe: ['*'] } };
  return {
    garbage: 'garbage',
    'wrong key': await mint(claims, { key: 'not-the-hub-secret-not-the-hub-secret' }),
    expired: await mint({ ...claims, exp: nowSeconds() - 30 }),
    'nbf in the future': await mint({ ...claims, nbf: nowSeconds() + 3600 }),
    'alg none': unsecuredToken(claims),
    'alg HS512 while HS256 is configured': await mint(claims, { key, alg: 'HS512' }),
  };
};

describe('subscribers, anonymous off', () => {
  const hub = useHub();

  test('no token -> 401', async () => {
    assert.equal(await subscribeStatus(hub, ['https://example.com/a']), 401);
  });

  test('a valid token without a subscribe claim may subscribe to public updates only', async () => {
    const token = await mint({ sub: 'someone' });
    assert.equal(await seesPrivate(hub, { token }), false);
  });

  test('an invalid token -> 401', async () => {
    const statuses = {};
    const expected = {};
    for (const [name, token] of Object.entries(await invalidSubscriberTokens())) {
      statuses[name] = await subscribeStatus(hub, ['https://example.com/a'], { token });
      expected[name] = 401;
    }
    assert.deepEqual(statuses, expected);
  });

  /** The statuses of a subscribe and a publish whose tokens carry `iat`. */
  async function statusesWithIat(iat) {
    const sub = await mint({ mercure: { subscribe: ['*'] }, iat });
    const pub = await mint({ mercure: { publish: ['*'] }, iat });
    return {
      subscribe: await subscribeStatus(hub, ['https://example.com/a'], { token: sub }),
      publish: (await publish(hub, { topic: 'https://example.com/a', data: 'x' }, { token: pub })).status,
    };
  }

  test('a token issued in the future (iat an hour ahead) -> 401 for both roles', async () => {
    assert.deepEqual(await statusesWithIat(nowSeconds() + 3600), { subscribe: 401, publish: 401 });
  });

  test('a token minted with iat = now by a server whose clock is 2 s ahead is accepted (both roles)', async () => {
    assert.deepEqual(await statusesWithIat(nowSeconds() + 2), { subscribe: 200, publish: 200 });
  });

  test('malformed claims are never accepted (401 or 403, never 200), and the hub lives on', async () => {
    const cases = {
      'publish is a string': { mercure: { publish: '*' } },
      'publish holds a number': { mercure: { publish: [42] } },
      'mercure is an array': { mercure: ['*'] },
      'exp is a string': { mercure: { publish: ['*'] }, exp: String(nowSeconds() + 3600) },
      'exp is far in the past as a float': { mercure: { publish: ['*'] }, exp: 1.5 },
    };
    const statuses = {};
    for (const [name, claims] of Object.entries(cases)) {
      statuses[name] = (await publish(hub, { topic: 'https://example.com/a', data: 'x' }, { token: await mint(claims) })).status;
    }
    for (const [name, status] of Object.entries(statuses)) assert.ok(status === 401 || status === 403, `${name}: ${status} (${JSON.stringify(statuses)})`);
    const sub = await subscribeStatus(hub, ['https://example.com/a'], { token: await mint({ mercure: { subscribe: 'https://example.com/a' } }) });
    assert.ok(sub === 401 || sub === 200, `subscribe claim as a string: ${sub}`);
    assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { token: await subscriberToken() }), 200);
  });

  test('lookup order: the Authorization header wins over the query parameter and the cookie', async () => {
    const good = await subscriberToken(['*']);
    const status = await subscribeStatus(hub, ['https://example.com/a'], {
      token: good,
      extra: [['authorization', 'garbage']],
      headers: { Cookie: 'mercureAuthorization=garbage' },
    });
    assert.equal(status, 200, 'the invalid query/cookie tokens are ignored');
    assert.equal(
      await subscribeStatus(hub, ['https://example.com/a'], { token: 'garbage', extra: [['authorization', good]] }),
      401,
      'an invalid header token is used even when the query parameter holds a valid one',
    );
    // Both tokens valid: only the header's grants count.
    const none = await subscriberToken([]);
    assert.equal(await seesPrivate(hub, { token: good, extra: [['authorization', none]] }), true);
    assert.equal(await seesPrivate(hub, { token: none, extra: [['authorization', good]] }), false);
  });

  test('lookup order: the query parameter wins over the cookie', async () => {
    const good = await subscriberToken(['*']);
    const none = await subscriberToken([]);
    assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { extra: [['authorization', good]], headers: { Cookie: 'mercureAuthorization=garbage' } }), 200);
    assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { extra: [['authorization', 'garbage']], headers: { Cookie: `mercureAuthorization=${good}` } }), 401);
    assert.equal(await seesPrivate(hub, { extra: [['authorization', good]], headers: { Cookie: `mercureAuthorization=${none}` } }), true);
    assert.equal(await seesPrivate(hub, { extra: [['authorization', none]], headers: { Cookie: `mercureAuthorization=${good}` } }), false);
  });

  test('the cookie mercureAuthorization is used (among other cookies), other cookie names are not', async () => {
    const good = await subscriberToken(['*']);
    assert.equal(await seesPrivate(hub, { headers: { Cookie: `a=b; mercureAuthorization=${good}; c=d` } }), true);
    assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { headers: { Cookie: `otherName=${good}` } }), 401);
  });

  test('several Cookie header lines are read as one, as Go reads them', async () => {
    const good = await subscriberToken(['*']);
    assert.equal(await seesPrivate(hub, { headers: { Cookie: ['a=b', `mercureAuthorization=${good}`] } }), true);
    assert.equal(await seesPrivate(hub, { headers: { Cookie: [`mercureAuthorization=${good}; c=d`, 'e=f'] } }), true);
  });

  test('publishers: Bearer header wins over the query parameter and the cookie', async () => {
    const good = await publisherToken();
    const fields = { topic: 'https://example.com/lookup', data: 'x' };
    assert.equal((await publish(hub, fields, { token: good, query: '?authorization=garbage', headers: { Cookie: 'mercureAuthorization=garbage' } })).status, 200);
    assert.equal((await publish(hub, fields, { token: 'garbage', query: `?authorization=${good}` })).status, 401);
    assert.equal((await publish(hub, fields, { query: `?authorization=${good}`, headers: { Cookie: 'mercureAuthorization=garbage' } })).status, 200);
  });
});

describe('subscribers, anonymous on', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });

  test('no token: 200, public updates only', async () => {
    const got = await deliveredIndices(hub, ['*'], [
      { topics: ['https://example.com/anon/1'], private: true },
      { topics: ['https://example.com/anon/2'] },
      { topics: ['https://example.com/anon/3', 'https://example.com/anon/4'], private: true },
    ], { pubToken: await publisherToken() });
    assert.deepEqual(got, [1]);
  });

  test('an invalid token -> 401 even though anonymous subscribers are allowed', async () => {
    const statuses = {};
    const expected = {};
    for (const [name, token] of Object.entries(await invalidSubscriberTokens())) {
      statuses[`${name} (header)`] = await subscribeStatus(hub, ['https://example.com/a'], { token });
      statuses[`${name} (query)`] = await subscribeStatus(hub, ['https://example.com/a'], { extra: [['authorization', token]] });
      statuses[`${name} (cookie)`] = await subscribeStatus(hub, ['https://example.com/a'], { headers: { Cookie: `mercureAuthorization=${token}` } });
      for (const via of ['header', 'query', 'cookie']) expected[`${name} (${via})`] = 401;
    }
    assert.deepEqual(statuses, expected);
  });

  test('private updates need any topic to match any selector of the subscribe claim', async () => {
    // The draft's example: subscribed to all books, allowed to see only those listed for user foo.
    const subToken = await subscriberToken(['https://example.com/users/foo/{?topic}']);
    const forFoo = (book) => `https://example.com/users/foo/?topic=${encodeURIComponent(book)}`;
    const forBar = (book) => `https://example.com/users/bar/?topic=${encodeURIComponent(book)}`;
    const got = await deliveredIndices(hub, ['https://example.com/books/{id}'], [
      { topics: ['https://example.com/books/1', forFoo('https://example.com/books/1')], private: true }, // yes
      { topics: ['https://example.com/books/2'], private: true }, // no grant
      { topics: ['https://example.com/books/3'] }, // public: yes
      { topics: ['https://example.com/books/4', forBar('https://example.com/books/4')], private: true }, // other user's
      { topics: [forFoo('https://example.com/books/5'), 'https://example.com/books/5'], private: true }, // yes (grant on canonical, selector on alternate)
    ], { subToken, pubToken: await publisherToken() });
    assert.deepEqual(got, [0, 2, 4]);
  });

  test('a subscribe claim of `*` sees every private update; an empty claim sees none', async () => {
    const candidates = [
      { topics: ['https://example.com/p/1'], private: true },
      { topics: ['urn:x:2'], private: true },
    ];
    assert.deepEqual(await deliveredIndices(hub, ['*'], candidates, { subToken: await subscriberToken(['*']), pubToken: await publisherToken() }), [0, 1]);
    assert.deepEqual(await deliveredIndices(hub, ['*'], candidates, { subToken: await subscriberToken([]), pubToken: await publisherToken() }), []);
  });

  test('the subscribe claim may live under the https://mercure.rocks/ namespace', async () => {
    const token = await mint({ 'https://mercure.rocks/': { subscribe: ['https://example.com/private/{id}'] } });
    assert.equal(await seesPrivate(hub, { token }), true);
  });

  test('a token whose exp is still ahead is accepted', async () => {
    const token = await mint({ mercure: { subscribe: ['*'] }, exp: nowSeconds() + 3600, iat: nowSeconds() - 10, nbf: nowSeconds() - 10 });
    assert.equal(await seesPrivate(hub, { token }), true);
  });
});

describe('CSRF protection of cookie-authenticated publishing', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', PUBLISH_ALLOWED_ORIGINS: 'https://app.example https://admin.example' } });

  async function cookiePublish(headers, tag) {
    const token = await publisherToken();
    return publish(hub, { topic: 'https://example.com/csrf', data: tag }, { headers: { Cookie: `mercureAuthorization=${token}`, ...headers } });
  }

  test('an Origin in the allowlist -> 200, any other -> 401 and nothing dispatched', async () => {
    const sub = closer.add(await subscribeOk(hub, ['https://example.com/csrf']));
    const cases = [
      ['allowed origin', { Origin: 'https://app.example' }, 200],
      ['second allowed origin', { Origin: 'https://admin.example' }, 200],
      ['foreign origin', { Origin: 'https://evil.example' }, 401],
      ['origin extending an allowed one', { Origin: 'https://app.example.evil.example' }, 401],
      ['other scheme', { Origin: 'http://app.example' }, 401],
      ['opaque origin', { Origin: 'null' }, 401],
      ['opaque origin with an allowed Referer', { Origin: 'null', Referer: 'https://app.example/page' }, 401],
      ['neither Origin nor Referer', {}, 401],
      ['allowed Referer', { Referer: 'https://app.example/some/page?x=1' }, 200],
      ['foreign Referer', { Referer: 'https://evil.example/https://app.example/' }, 401],
    ];
    const statuses = {};
    const expected = {};
    for (const [name, headers, status] of cases) {
      statuses[name] = (await cookiePublish(headers, name)).status;
      expected[name] = status;
    }
    assert.deepEqual(statuses, expected);
    await publishOk(hub, { topic: 'https://example.com/csrf', data: 'end' }, { token: await publisherToken() });
    await sub.waitForEvent((e) => e.data === 'end');
    const got = sub.events.map((e) => e.data).filter((d) => d !== 'end');
    assert.deepEqual(got, cases.filter(([, , s]) => s === 200).map(([n]) => n));
  });

  test('a Bearer-authenticated publish is not subject to the Origin check', async () => {
    const res = await publish(hub, { topic: 'https://example.com/csrf', data: 'x' }, {
      token: await publisherToken(),
      headers: { Origin: 'https://evil.example' },
    });
    assert.equal(res.status, 200);
  });

  test('a cookie-authenticated subscription (GET) needs no Origin', async () => {
    const sub = closer.add(await subscribe(hub, ['https://example.com/csrf'], { headers: { Cookie: `mercureAuthorization=${await subscriberToken()}` } }));
    assert.equal(sub.status, 200);
  });
});

describe('CSRF with wildcard and mixed-case publish origins', () => {
  // As the reference hub reads publish_origins: lower-cased, one "*" standing for any text.
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', PUBLISH_ALLOWED_ORIGINS: 'https://*.app.example https://Admin.Example null' } });
  test('subdomains of a wildcard, any case, and a listed "null" are allowed; nothing else', async () => {
    const token = await publisherToken();
    const cases = [
      ['https://eu.app.example', 200],
      ['https://a.b.app.example', 200],
      ['https://app.example', 401],
      ['http://eu.app.example', 401],
      ['https://eu.app.example.evil.example', 401],
      ['https://admin.example', 200],
      ['null', 200],
    ];
    const statuses = {};
    for (const [Origin] of cases) {
      statuses[Origin] = (await publish(hub, { topic: 'https://example.com/x', data: 'x' }, { headers: { Cookie: `mercureAuthorization=${token}`, Origin } })).status;
    }
    assert.deepEqual(statuses, Object.fromEntries(cases));
  });
});

describe('CSRF without any allowed publish origin', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });
  test('a cookie-authenticated publish is refused whatever the Origin', async () => {
    const token = await publisherToken();
    for (const Origin of ['https://app.example', `http://127.0.0.1:${hub.port}`]) {
      const res = await publish(hub, { topic: 'https://example.com/x', data: 'x' }, { headers: { Cookie: `mercureAuthorization=${token}`, Origin } });
      assert.equal(res.status, 401, Origin);
    }
  });
});

describe('custom cookie name', () => {
  const hub = useHub({ args: ['--cookie-name', 'myHubCookie'] });
  test('the configured cookie name is used, the default one is not', async () => {
    const good = await subscriberToken(['*']);
    assert.equal(await seesPrivate(hub, { headers: { Cookie: `myHubCookie=${good}` } }), true);
    assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { headers: { Cookie: `mercureAuthorization=${good}` } }), 401);
  });
});

describe('signing algorithms', () => {
  const FAMILIES = [
    { alg: 'HS256', kind: 'hmac' },
    { alg: 'HS384', kind: 'hmac' },
    { alg: 'HS512', kind: 'hmac' },
    { alg: 'RS256', kind: 'rsa' },
    { alg: 'RS512', kind: 'rsa' },
    { alg: 'PS256', kind: 'rsa' },
    { alg: 'ES256', kind: 'ec-p256' },
    { alg: 'ES384', kind: 'ec-p384' },
    { alg: 'ES512', kind: 'ec-p521' },
    { alg: 'EdDSA', kind: 'ed25519' },
  ];

  for (const { alg, kind } of FAMILIES) {
    test(`${alg}: valid tokens accepted for both roles; wrong key, alg confusion and alg none refused`, async () => {
      let signKey;
      let hubKey;
      let otherKey;
      if (kind === 'hmac') {
        signKey = `${alg}-secret-${randomUUID()}-${randomUUID()}`;
        hubKey = signKey;
        otherKey = `${alg}-other-${randomUUID()}-${randomUUID()}`;
      } else {
        const pair = keyPair(kind);
        signKey = pair.privateKey;
        hubKey = pair.publicPem;
        otherKey = keyPair(kind).privateKey;
      }
      const hub = await startHub({ env: { JWT_ALGORITHM: alg, JWT_KEY: hubKey } });
      try {
        const pubOk = await publisherToken(['*'], { key: signKey, alg });
        const subOk = await subscriberToken(['*'], { key: signKey, alg });
        assert.equal(await seesPrivate(hub, { token: subOk }, { token: pubOk }), true, 'valid tokens work');

        const refused = {
          'wrong key': { key: otherKey, alg },
          // The classic confusion attack: HMAC keyed with the public key's PEM text.
          ...(kind === 'hmac' ? { 'another HMAC size': { key: signKey, alg: alg === 'HS256' ? 'HS512' : 'HS256' } } : { 'HS256 keyed with the PEM': { key: hubKey, alg: 'HS256' } }),
        };
        for (const [name, opts] of Object.entries(refused)) {
          const p = await publisherToken(['*'], opts);
          const s = await subscriberToken(['*'], opts);
          assert.equal((await publish(hub, { topic: 'https://example.com/a', data: 'x' }, { token: p })).status, 401, `publish, ${name}`);
          assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { token: s }), 401, `subscribe, ${name}`);
        }
        assert.equal((await publish(hub, { topic: 'https://example.com/a', data: 'x' }, { token: unsecuredToken({ mercure: { publish: ['*'] } }) })).status, 401, 'alg none');
      } finally {
        await hub.stop();
      }
    });
  }

  test('publisher and subscriber keys may differ', async () => {
    const pubSecret = `publisher-${randomUUID()}-${randomUUID()}`;
    const subSecret = `subscriber-${randomUUID()}-${randomUUID()}`;
    const hub = await startHub({ env: { JWT_KEY: null, PUBLISHER_JWT_KEY: pubSecret, SUBSCRIBER_JWT_KEY: subSecret } });
    try {
      const fields = { topic: 'https://example.com/a', data: 'x' };
      assert.equal((await publish(hub, fields, { token: await publisherToken(['*'], { key: pubSecret }) })).status, 200);
      assert.equal((await publish(hub, fields, { token: await publisherToken(['*'], { key: subSecret }) })).status, 401);
      assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { token: await subscriberToken(['*'], { key: subSecret }) }), 200);
      assert.equal(await subscribeStatus(hub, ['https://example.com/a'], { token: await subscriberToken(['*'], { key: pubSecret }) }), 401);
    } finally {
      await hub.stop();
    }
  });

  test('each role may have its own algorithm (ES256 publisher, HS256 subscriber)', async () => {
    const pair = keyPair('ec-p256');
    const subSecret = `subscriber-${randomUUID()}-${randomUUID()}`;
    const hub = await startHub({
      env: { JWT_KEY: null, PUBLISHER_JWT_ALGORITHM: 'ES256', PUBLISHER_JWT_KEY: pair.publicPem, SUBSCRIBER_JWT_KEY: subSecret, SUBSCRIBER_JWT_ALGORITHM: 'HS256' },
    });
    try {
      const pub = await publisherToken(['*'], { key: pair.privateKey, alg: 'ES256' });
      const sub = await subscriberToken(['*'], { key: subSecret });
      assert.equal(await seesPrivate(hub, { token: sub }, { token: pub }), true);
      assert.equal((await publish(hub, { topic: 'https://example.com/a' }, { token: await publisherToken(['*'], { key: subSecret }) })).status, 401);
    } finally {
      await hub.stop();
    }
  });
});
