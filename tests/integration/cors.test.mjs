// CORS: preflight requests and credentialed cross-origin subscriptions/publications.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useHub } from '../lib/hub.mjs';
import { Closer, HUB_PATH, publish, request, subscribe } from '../lib/http.mjs';
import { publisherToken } from '../lib/tokens.mjs';

const closer = new Closer();
after(() => closer.closeAll());

const list = (v) => (v || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

function preflight(
  hub,
  origin,
  method = 'GET',
  requestHeaders = 'authorization, cache-control, last-event-id',
  path = `${HUB_PATH}?topic=${encodeURIComponent('https://example.com/cors')}`,
) {
  return request(hub, {
    method: 'OPTIONS',
    path,
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': requestHeaders },
  });
}

function assertAllowed(res, origin, what) {
  assert.equal(res.headers['access-control-allow-origin'], origin, `${what}: the allowed origin is echoed`);
  assert.equal(res.headers['access-control-allow-credentials'], 'true', `${what}: credentials allowed`);
}

describe('CORS with an allowlist', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', CORS_ALLOWED_ORIGINS: 'https://app.example http://localhost:8080' } });

  test('preflight from an allowed origin: 2xx, origin echoed, credentials, the three headers allowed', async () => {
    for (const origin of ['https://app.example', 'http://localhost:8080']) {
      const res = await preflight(hub, origin);
      assert.ok(res.status === 200 || res.status === 204, `preflight status ${res.status}`);
      assertAllowed(res, origin, 'preflight');
      const allowed = list(res.headers['access-control-allow-headers']);
      for (const h of ['authorization', 'cache-control', 'last-event-id']) assert.ok(allowed.includes(h), `allow-headers has ${h}: ${allowed}`);
      const methods = list(res.headers['access-control-allow-methods']);
      if (methods.length) assert.ok(methods.includes('get'), `allow-methods has GET: ${methods}`);
    }
  });

  test('preflight for a POST from an allowed origin', async () => {
    const res = await preflight(hub, 'https://app.example', 'POST', 'authorization, content-type');
    assert.ok(res.status === 200 || res.status === 204, `preflight status ${res.status}`);
    assertAllowed(res, 'https://app.example', 'POST preflight');
    const methods = list(res.headers['access-control-allow-methods']);
    if (methods.length) assert.ok(methods.includes('post'), `allow-methods has POST: ${methods}`);
  });

  test('a plain OPTIONS on the hub (no preflight): 204 with Allow naming its methods', async () => {
    const res = await request(hub, { method: 'OPTIONS', path: HUB_PATH });
    assert.equal(res.status, 204);
    assert.equal(res.headers.allow, 'GET, HEAD, POST, OPTIONS');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  test('preflight from a foreign origin is not granted', async () => {
    const res = await preflight(hub, 'https://evil.example');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.notEqual(res.headers['access-control-allow-credentials'], 'true');
  });

  test('a cross-origin subscription from an allowed origin carries the CORS headers', async () => {
    const sub = closer.add(await subscribe(hub, ['https://example.com/cors'], { headers: { Origin: 'https://app.example' } }));
    assert.equal(sub.status, 200);
    assertAllowed(sub, 'https://app.example', 'subscription');
  });

  test('a cross-origin subscription from a foreign origin gets no CORS grant', async () => {
    const sub = closer.add(await subscribe(hub, ['https://example.com/cors'], { headers: { Origin: 'https://evil.example' } }));
    assert.equal(sub.headers['access-control-allow-origin'], undefined);
  });

  test('a cross-origin publish from an allowed origin carries the CORS headers', async () => {
    const res = await publish(hub, { topic: 'https://example.com/cors', data: 'x' }, { token: await publisherToken(), headers: { Origin: 'https://app.example' } });
    assert.equal(res.status, 200);
    assertAllowed(res, 'https://app.example', 'publish');
  });

  test('error responses to an allowed origin carry the CORS headers too (so the page can read them)', async () => {
    const res = await request(hub, { path: HUB_PATH, headers: { Origin: 'https://app.example' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
  });
});

describe('CORS with `*`', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', CORS_ALLOWED_ORIGINS: '*' } });

  test('any origin is echoed, never `*`, since credentials are allowed', async () => {
    for (const origin of ['https://any.example', 'http://127.0.0.1:1234']) {
      const res = await preflight(hub, origin);
      assert.ok(res.status === 200 || res.status === 204, `preflight status ${res.status}`);
      assertAllowed(res, origin, 'preflight');
      const sub = closer.add(await subscribe(hub, ['https://example.com/cors'], { headers: { Origin: origin } }));
      assertAllowed(sub, origin, 'subscription');
    }
  });
});

describe('CORS not configured', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });
  test('no origin is granted', async () => {
    const sub = closer.add(await subscribe(hub, ['https://example.com/cors'], { headers: { Origin: 'https://app.example' } }));
    assert.equal(sub.status, 200);
    assert.equal(sub.headers['access-control-allow-origin'], undefined);
  });
});

describe('CORS on the subscriptions API', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', SUBSCRIPTIONS: '1', CORS_ALLOWED_ORIGINS: 'https://app.example' } });
  const paths = [
    `${HUB_PATH}/subscriptions`,
    `${HUB_PATH}/subscriptions/${encodeURIComponent('https://example.com/cors')}`,
    `${HUB_PATH}/subscriptions/${encodeURIComponent('https://example.com/cors')}/${encodeURIComponent('urn:uuid:x')}`,
  ];

  test('a preflight for a GET with a bearer token is granted on every subscriptions path', async () => {
    for (const path of paths) {
      const res = await preflight(hub, 'https://app.example', 'GET', 'authorization', path);
      assert.equal(res.status, 204, `${path}: preflight status`);
      assertAllowed(res, 'https://app.example', path);
      assert.ok(list(res.headers['access-control-allow-headers']).includes('authorization'), path);
      assert.deepEqual(list(res.headers['access-control-allow-methods']), ['get', 'head', 'options'], path);
    }
  });

  test('from a foreign origin it is not granted, and a plain OPTIONS is still 405', async () => {
    const foreign = await preflight(hub, 'https://evil.example', 'GET', 'authorization', paths[0]);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    const plain = await request(hub, { method: 'OPTIONS', path: paths[0] });
    assert.equal(plain.status, 405);
    assert.equal(plain.headers.allow, 'GET, HEAD');
  });
});

describe('CORS origins with a wildcard and mixed case (as the reference hub reads them)', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', CORS_ALLOWED_ORIGINS: 'https://*.app.example https://Admin.Example' } });

  test('a subdomain of a wildcard origin and an origin listed in another case are granted; others are not', async () => {
    for (const origin of ['https://eu.app.example', 'https://admin.example']) {
      assertAllowed(await preflight(hub, origin), origin, `preflight from ${origin}`);
      const sub = closer.add(await subscribe(hub, ['https://example.com/cors'], { headers: { Origin: origin } }));
      assert.equal(sub.status, 200);
      assertAllowed(sub, origin, `event stream for ${origin}`);
      sub.close();
    }
    for (const origin of ['https://app.example', 'http://eu.app.example', 'https://eu.app.example.evil.example']) {
      const res = await preflight(hub, origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
    }
  });
});
