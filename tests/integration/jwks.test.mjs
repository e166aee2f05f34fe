// Key sets (publisher_jwks_url / subscriber_jwks_url, as the reference hub's directives): tokens
// signed by an identity provider's keys, picked by kid; a key the provider publishes after the
// hub started is used as soon as a token names it, a dropped one stops verifying; a provider
// that does not answer at start-up; file:// sets; start-up errors (exit 2 with a message naming
// the URL). Keys are made by node:crypto, tokens signed by npm jose.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startHub } from '../lib/hub.mjs';
import { Closer, DEFAULT_TIMEOUT_MS, publish, publishOk, request, subscribe, subscribeOk, withDeadline } from '../lib/http.mjs';
import { mint } from '../lib/tokens.mjs';
import { runHubUntilExit, tempDir } from '../lib/store.mjs';

const closer = new Closer();
after(() => closer.closeAll());

/** An identity provider's JWK Set endpoint on 127.0.0.1 (port 0); `keys` may change at any time. */
class JwksServer {
  constructor(keys = []) {
    this.keys = keys;
    this.requests = 0;
    this.status = 200;
    this.body = null; // when set, served instead of {keys}
    this.gate = null; // when set, a promise each answer waits for (a slow or hung provider)
    this.arrived = []; // resolvers called when a request arrives
  }

  /** Resolves once `requests` reaches `n`. */
  requestsReach(n) {
    if (this.requests >= n) return Promise.resolve();
    return new Promise((resolve) => this.arrived.push(() => this.requests >= n && (resolve(), true)));
  }

  async start(port = 0) {
    this.server = http.createServer(async (req, res) => {
      this.requests += 1;
      this.arrived = this.arrived.filter((check) => !check());
      if (this.gate) await this.gate;
      const body = this.body ?? JSON.stringify({ keys: this.keys.map((k) => k.jwk) });
      res.writeHead(this.status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}/.well-known/jwks.json`;
    return this;
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

/** A signing key of the provider: {kid, alg, privateKey, jwk (public, with kid)}. */
function signingKey(kind, kid = randomUUID()) {
  const made = {
    es256: () => ({ alg: 'ES256', pair: generateKeyPairSync('ec', { namedCurve: 'P-256' }) }),
    rs256: () => ({ alg: 'RS256', pair: generateKeyPairSync('rsa', { modulusLength: 2048 }) }),
    eddsa: () => ({ alg: 'EdDSA', pair: generateKeyPairSync('ed25519') }),
  }[kind]();
  const jwk = { ...made.pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' };
  return { kid, alg: made.alg, privateKey: made.pair.privateKey, jwk };
}

/** A token signed by `key` with its kid (or `kid` when given) in the header. */
function tokenOf(key, mercure, { kid = key.kid } = {}) {
  return mint({ mercure }, { key: key.privateKey, alg: key.alg, header: { kid } });
}

async function jwksServer(t, keys, port = 0) {
  const server = await new JwksServer(keys).start(port);
  t.after(() => server.close());
  return server;
}

async function hubWith(t, env) {
  const hub = await startHub({ env: { JWT_KEY: undefined, ...env } });
  t.after(() => hub.stop());
  return hub;
}

/** Publishes with `token` until the hub answers 200 (the hub fetches the set in the background). */
async function publishUntilAccepted(hub, fields, token, deadlineMs = 4 * DEFAULT_TIMEOUT_MS) {
  const deadline = Date.now() + deadlineMs;
  const statuses = [];
  for (;;) {
    const res = await publish(hub, fields, { token });
    statuses.push(res.status);
    if (res.status === 200) return statuses;
    assert.equal(res.status, 401, `only 401 until the key is known: ${statuses}`);
    assert.ok(Date.now() < deadline, `the new key was not used within ${deadlineMs} ms: ${statuses.length} tries`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('tokens verified with a key set', () => {
  test('keys of the set sign publishers and subscribers; the kid picks the key; anything else is 401', async (t) => {
    const publisherKey = signingKey('es256');
    const subscriberKey = signingKey('rs256');
    // A shared secret published in the set: whoever reads the set could sign with it.
    const secret = { kid: 'shared', jwk: { kty: 'oct', kid: 'shared', k: Buffer.from('s'.repeat(48)).toString('base64url') } };
    const idp = await jwksServer(t, [publisherKey, subscriberKey, secret]);
    // The publisher's set through MERCURE_EXTRA_DIRECTIVES, as with the reference's Docker image.
    const hub = await hubWith(t, {
      MERCURE_EXTRA_DIRECTIVES: `publisher_jwks_url ${idp.url}`,
      SUBSCRIBER_JWKS_URL: idp.url,
    });
    assert.ok(hub.stderr().includes(`publisher key set: 2 keys from ${idp.url}`), hub.output());

    const topic = `https://example.com/jwks/${randomUUID()}`;
    const sub = closer.add(await subscribeOk(hub, [topic], { token: await tokenOf(subscriberKey, { subscribe: [topic] }) }));
    const publisherToken = await tokenOf(publisherKey, { publish: [topic] });
    await publishOk(hub, [['topic', topic], ['data', 'for members'], ['private', 'on']], { token: publisherToken });
    await sub.waitForEvent((e) => e.data === 'for members');

    const stranger = signingKey('es256', publisherKey.kid); // another key under the same kid
    const refused = {
      'another key under a kid of the set': await tokenOf(stranger, { publish: [topic] }),
      'a kid the set does not have': await tokenOf(publisherKey, { publish: [topic] }, { kid: 'unknown' }),
      'the public RSA key of the set as an HMAC secret': await mint(
        { mercure: { publish: [topic] } },
        { key: createPublicKey(subscriberKey.privateKey).export({ type: 'spki', format: 'pem' }), alg: 'HS256', header: { kid: subscriberKey.kid } },
      ),
      'a configured-key token (no key is configured)': await mint({ mercure: { publish: [topic] } }),
      'an HS256 token signed with the secret published in the set': await mint(
        { mercure: { publish: [topic] } },
        { key: 's'.repeat(48), alg: 'HS256', header: { kid: 'shared' } },
      ),
    };
    for (const [what, token] of Object.entries(refused)) {
      const res = await publish(hub, [['topic', topic], ['data', what]], { token });
      assert.equal(res.status, 401, what);
    }
    assert.ok(!sub.events.some((e) => e.data !== 'for members'), 'nothing refused reached the subscriber');
  });

  test('a key published after start-up is used once a token names it; a dropped key stops verifying', async (t) => {
    const first = signingKey('eddsa');
    const idp = await jwksServer(t, [first]);
    const hub = await hubWith(t, { PUBLISHER_JWKS_URL: idp.url, SUBSCRIBER_JWT_KEY: 'subscriber-secret-subscriber-secret' });
    assert.equal(idp.requests, 1, 'fetched once at start-up');
    const topic = `https://example.com/rotated/${randomUUID()}`;
    const firstToken = await tokenOf(first, { publish: ['*'] });
    await publishOk(hub, [['topic', topic], ['data', 'first key']], { token: firstToken });

    // The provider rotates: a new key in, the first one out.
    const rotated = signingKey('es256');
    idp.keys = [rotated];
    // The first token naming the new kid waits for the fetch it causes, as with the reference.
    await publishOk(hub, [['topic', topic], ['data', 'new key']], { token: await tokenOf(rotated, { publish: ['*'] }) });
    assert.equal(idp.requests, 2, 'fetched again once');
    const old = await publish(hub, [['topic', topic], ['data', 'dropped key']], { token: firstToken });
    assert.equal(old.status, 401, 'a key dropped from the set no longer verifies, even a token accepted before');

    // A flood of unknown kids does not make the hub hammer the provider (one fetch per 30 s).
    for (let i = 0; i < 50; i += 1) {
      const res = await publish(hub, [['topic', topic], ['data', 'unknown']], { token: await tokenOf(rotated, { publish: ['*'] }, { kid: `k${i}` }) });
      assert.equal(res.status, 401);
    }
    await publishOk(hub, [['topic', topic], ['data', 'still fine']], { token: await tokenOf(rotated, { publish: ['*'] }) });
    assert.ok(idp.requests <= 3, `${idp.requests} fetches`);
  });

  test('requests naming a new kid wait for the one fetch they cause (publishers and subscribers); others are not held up', async (t) => {
    const [pubKey, subKey] = [signingKey('es256'), signingKey('rs256')];
    const [pubIdp, subIdp] = [await jwksServer(t, [pubKey]), await jwksServer(t, [subKey])];
    const hub = await hubWith(t, { PUBLISHER_JWKS_URL: pubIdp.url, SUBSCRIBER_JWKS_URL: subIdp.url, SUBSCRIPTIONS: '1' });
    const topic = `https://example.com/waiting/${randomUUID()}`;
    const [newPub, newSub] = [signingKey('eddsa'), signingKey('es256')];
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    pubIdp.gate = gate;
    subIdp.gate = gate;
    pubIdp.keys = [pubKey, newPub];
    subIdp.keys = [subKey, newSub];

    const subscribing = subscribe(hub, [topic], { token: await tokenOf(newSub, { subscribe: [topic] }), timeoutMs: 3 * DEFAULT_TIMEOUT_MS });
    const api = request(hub, {
      path: '/.well-known/mercure/subscriptions',
      headers: { Authorization: `Bearer ${await tokenOf(newSub, { subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'] })}` },
      timeoutMs: 3 * DEFAULT_TIMEOUT_MS,
    });
    const newToken = await tokenOf(newPub, { publish: [topic] });
    const publishing = [1, 2, 3].map((i) => publish(hub, [['topic', topic], ['data', `waited ${i}`]], { token: newToken, timeoutMs: 3 * DEFAULT_TIMEOUT_MS }));
    await withDeadline(Promise.all([pubIdp.requestsReach(2), subIdp.requestsReach(2)]), DEFAULT_TIMEOUT_MS, 'the fetches asked for by the new kids');
    // While the fetches are held by the provider, tokens of known keys are served as usual.
    const other = closer.add(await subscribeOk(hub, [topic], { token: await tokenOf(subKey, { subscribe: [topic] }) }));
    await publishOk(hub, [['topic', topic], ['data', 'known key']], { token: await tokenOf(pubKey, { publish: [topic] }) });
    await other.waitForEvent((e) => e.data === 'known key');
    let settled = false;
    Promise.all([subscribing, api, ...publishing]).finally(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'the requests naming the new kids wait for the fetch');

    release();
    const sub = closer.add(await subscribing);
    assert.equal(sub.status, 200, sub.text);
    for (const res of await Promise.all(publishing)) assert.equal(res.status, 200, res.text);
    const listed = await api;
    assert.equal(listed.status, 200, `the subscriptions API waited too: ${listed.text}`);
    assert.deepEqual([pubIdp.requests, subIdp.requests], [2, 2], 'one fetch per key set for all the waiting requests');
    await publishOk(hub, [['topic', topic], ['data', 'after']], { token: newToken });
    await sub.waitForEvent((e) => e.data === 'after');
    await other.waitForEvent((e) => ['waited 1', 'waited 2', 'waited 3'].every((d) => other.events.some((x) => x.data === d)));
  });

  test('SIGTERM while a subscribe waits for the fetch its kid caused: a draining hub serves it when the set comes', async (t) => {
    const [pubKey, subKey, newSub] = [signingKey('es256'), signingKey('es256'), signingKey('es256')];
    const [pubIdp, subIdp] = [await jwksServer(t, [pubKey]), await jwksServer(t, [subKey])];
    const hub = await hubWith(t, { PUBLISHER_JWKS_URL: pubIdp.url, SUBSCRIBER_JWKS_URL: subIdp.url, GRACE_PERIOD: '30s', WRITE_TIMEOUT: '3s' });
    const topic = `https://example.com/draining/${randomUUID()}`;
    const open = closer.add(await subscribeOk(hub, [topic], { token: await tokenOf(subKey, { subscribe: [topic] }) }));
    let release;
    subIdp.gate = new Promise((resolve) => (release = resolve));
    subIdp.keys = [subKey, newSub];
    const subscribing = subscribe(hub, [topic], { token: await tokenOf(newSub, { subscribe: [topic] }), timeoutMs: 3 * DEFAULT_TIMEOUT_MS });
    await withDeadline(subIdp.requestsReach(2), DEFAULT_TIMEOUT_MS, 'the fetch asked for by the new kid');

    hub.process.kill('SIGTERM');
    await hub.waitForLog(/draining 1 event stream: no new connection/);
    release();
    const late = closer.add(await subscribing);
    assert.equal(late.status, 200, `a valid token is not refused because the hub is draining: ${late.text}`);
    for (const s of [open, late]) await s.waitForEnd({ timeoutMs: 10_000, what: 'the end of life of a drained stream' });
    assert.equal((await hub.exited).code, 0, hub.output());
  });

  test('a fetch that fails, or does not end within 5 s: the waiting request gets its 401', async (t) => {
    const key = signingKey('es256');
    const failing = await jwksServer(t, [key]);
    const hub = await hubWith(t, { PUBLISHER_JWKS_URL: failing.url, ALLOW_ANONYMOUS: '1' });
    const topic = `https://example.com/unfetched/${randomUUID()}`;
    failing.status = 500;
    const refused = await publish(hub, [['topic', topic], ['data', 'x']], { token: await tokenOf(signingKey('es256'), { publish: [topic] }) });
    assert.equal(refused.status, 401);
    assert.match(refused.text, /no key with kid/);
    assert.equal(failing.requests, 2, 'the new kid made the hub fetch once');
    assert.match(hub.stderr(), /publisher key set: cannot refresh from .*HTTP status 500.*the keys already loaded are kept/);

    const hung = await jwksServer(t, [key]);
    const second = await hubWith(t, { PUBLISHER_JWKS_URL: hung.url, ALLOW_ANONYMOUS: '1' });
    let release;
    hung.gate = new Promise((resolve) => (release = resolve));
    t.after(() => release());
    const t0 = Date.now();
    const waiting = publish(second, [['topic', topic], ['data', 'y']], { token: await tokenOf(signingKey('es256'), { publish: [topic] }), timeoutMs: 4 * DEFAULT_TIMEOUT_MS });
    await withDeadline(hung.requestsReach(2), DEFAULT_TIMEOUT_MS, 'the fetch asked for by the new kid');
    await publishOk(second, [['topic', topic], ['data', 'known key']], { token: await tokenOf(key, { publish: [topic] }) });
    const late = await waiting;
    const waited = Date.now() - t0;
    assert.equal(late.status, 401, late.text);
    assert.ok(waited >= 4_500 && waited < 9_000, `answered after ${waited} ms (the wait is bounded at 5 s)`);
  });

  test('a provider that does not answer at start-up: the hub starts, refuses its tokens, and loads the set when it answers', async (t) => {
    const key = signingKey('es256');
    const idp = await jwksServer(t, [key]);
    const port = idp.server.address().port;
    const url = idp.url;
    await idp.close();
    const hub = await hubWith(t, { PUBLISHER_JWKS_URL: url, ALLOW_ANONYMOUS: '1' });
    assert.match(hub.stderr(), /publisher key set .* not loaded yet: .*retrying/);
    const topic = `https://example.com/late/${randomUUID()}`;
    const token = await tokenOf(key, { publish: [topic] });
    const early = await publish(hub, [['topic', topic], ['data', 'early']], { token });
    assert.equal(early.status, 401);
    await jwksServer(t, [key], port);
    await publishUntilAccepted(hub, [['topic', topic], ['data', 'late']], token);
  });

  test('a file:// key set', async (t) => {
    const key = signingKey('rs256');
    const file = join(tempDir(t, 'jwks-'), 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
    const hub = await hubWith(t, { PUBLISHER_JWKS_URL: pathToFileURL(file).href, ALLOW_ANONYMOUS: '1' });
    const topic = `https://example.com/file/${randomUUID()}`;
    const sub = closer.add(await subscribeOk(hub, [topic]));
    await publishOk(hub, [['topic', topic], ['data', 'from a file key']], { token: await tokenOf(key, { publish: [topic] }) });
    await sub.waitForEvent((e) => e.data === 'from a file key');
  });
});

describe('key set start-up errors (a setting to fix): exit status 2 and a message naming the URL', () => {
  async function assertRefused(env, url, reason) {
    const run = await runHubUntilExit({ env: { JWT_KEY: 'subscriber-secret', ...env } });
    const details = `${JSON.stringify({ code: run.code, ready: run.ready, timedOut: run.timedOut })}\n${run.stderr}${run.stdout}`;
    assert.equal(run.ready, false, `the hub started anyway: ${details}`);
    assert.equal(run.code, 2, details);
    assert.ok(run.stderr.includes(`cannot load the publisher key set from ${url}: ${reason}`), details);
  }

  test('the URL answers 404, or something that is not a key set, or a set without a usable key', async (t) => {
    const idp = await jwksServer(t, []);
    idp.status = 404;
    await assertRefused({ PUBLISHER_JWKS_URL: idp.url }, idp.url, 'HTTP status 404');
    idp.status = 200;
    idp.body = '<html>login</html>';
    await assertRefused({ PUBLISHER_JWKS_URL: idp.url }, idp.url, 'not a JSON Web Key Set');
    idp.body = JSON.stringify({ keys: [{ kty: 'RSA', use: 'enc', n: 'AQAB', e: 'AQAB' }] });
    await assertRefused({ PUBLISHER_JWKS_URL: idp.url }, idp.url, 'no usable key (key 1: "use" is "enc", not "sig")');
  });

  test('a file:// URL naming another machine or a missing file', async (t) => {
    const missing = pathToFileURL(join(tempDir(t, 'jwks-'), 'missing.json')).href;
    await assertRefused({ PUBLISHER_JWKS_URL: missing }, missing, 'cannot read');
    await assertRefused({ PUBLISHER_JWKS_URL: 'file://idp.example/jwks.json' }, 'file://idp.example/jwks.json', 'a file:// URL names a file of this machine');
    // A FIFO would block the start for ever: only regular files are read.
    const fifo = join(tempDir(t, 'jwks-'), 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assertRefused({ PUBLISHER_JWKS_URL: pathToFileURL(fifo).href }, pathToFileURL(fifo).href, 'not a regular file');
  });
});
