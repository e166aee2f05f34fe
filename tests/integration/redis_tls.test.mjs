// The Redis transport over TLS (rediss://): a cluster of two hubs on a Redis that listens with
// TLS (certificates of a test CA), publishing, fan-out and resume through it; the server's
// certificate checked (unknown CA, wrong name) unless tls_insecure_skip_verify; a client
// certificate for a Redis that asks for one; a Redis restart healed; start-up errors name the
// file or the cause and exit 2, never hang on a server that speaks no TLS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Closer, publishOk, request, subscribeOk } from '../lib/http.mjs';
import { startHub } from '../lib/hub.mjs';
import { removeRedis, startRedis } from '../lib/redis.mjs';
import { anyPublisherToken, runHubUntilExit, waitForId } from '../lib/store.mjs';

const closer = new Closer();
let redis; // TLS with client certificates optional
const hubs = [];
before(async () => {
  redis = await startRedis({ tls: { authClients: 'optional' } });
});
after(async () => {
  await closer.closeAll();
  for (const h of hubs) await h.stop();
  if (redis) await removeRedis(redis);
});

async function hubOn(url, env = {}) {
  const h = await startHub({ env: { ALLOW_ANONYMOUS: '1', TRANSPORT_URL: url, ...env } });
  hubs.push(h);
  return h;
}

const freshTopic = () => `https://example.com/tls/${randomUUID()}`;

/** Polls `check` (bounded) for state that announces itself by no event (readiness). */
async function until(check, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('two hubs over rediss://: updates cross hubs, a resume on the other hub replays, stored in Redis', async () => {
  const stream = `tls-${randomUUID()}`;
  const a = await hubOn(redis.tlsUrl({ stream }));
  const b = await hubOn(redis.tlsUrl({ stream }));
  assert.match(a.stderr(), /\(TLS\)/, 'the start-up line says TLS');
  const topic = freshTopic();
  const onB = closer.add(await subscribeOk(b, [topic]));
  const token = await anyPublisherToken();
  const ids = [];
  // 300 updates of 20 KiB: many TLS records each way, pipelined batches of the writer.
  const big = 'x'.repeat(20 * 1024);
  await Promise.all(
    Array.from({ length: 4 }, async (_, k) => {
      for (let i = 0; i < 75; i++) ids.push(await publishOk(a, { topic, id: `t${k}-${i}-${randomUUID()}`, data: `${k}/${i} ${big}` }, { token }));
    }),
  );
  const last = await publishOk(a, { topic, data: 'last' }, { token });
  await waitForId(onB, last, { timeoutMs: 20_000 });
  assert.equal(onB.events.length, 301);
  assert.deepEqual(new Set(onB.events.slice(0, 300).map((e) => e.id)), new Set(ids));
  assert.ok(onB.events.slice(0, 300).every((e) => e.data.endsWith(big)));
  assert.equal(Number(await redis.command('XLEN', stream)), 301, 'stored in the stream (seen over the plain port)');

  const from = onB.events[100].id;
  const resumed = closer.add(await subscribeOk(a, [topic], { headers: { 'Last-Event-ID': from } }));
  await waitForId(resumed, last, { timeoutMs: 20_000 });
  assert.deepEqual(resumed.events.map((e) => e.id), onB.events.slice(101).map((e) => e.id));
});

test('Redis restarted under the hubs: not ready meanwhile, then publishing again over new TLS connections', async () => {
  const own = await startRedis({ tls: true });
  try {
    const stream = `tls-outage-${randomUUID()}`;
    const a = await hubOn(own.tlsUrl({ stream }));
    const b = await hubOn(own.tlsUrl({ stream }));
    const topic = freshTopic();
    const sub = closer.add(await subscribeOk(b, [topic]));
    const ready = async (h) => (await request(h, { path: '/healthz/ready' })).status;
    await own.stop();
    await until(async () => (await ready(a)) === 503, 'hub a not ready while Redis is down');
    await own.start();
    await until(async () => (await ready(a)) === 200 && (await ready(b)) === 200, 'both hubs ready again');
    const id = await publishOk(a, { topic, data: 'after the restart' }, { token: await anyPublisherToken() });
    await waitForId(sub, id, { timeoutMs: 10_000 });
    assert.deepEqual(sub.events.map((e) => e.data), ['after the restart']);
  } finally {
    await removeRedis(own);
  }
});

test('the certificate is checked: an unknown CA or another name stop the hub (exit 2); skipping the check works, with a warning', async () => {
  // No tls_ca_file: the system's CAs do not know the test CA.
  const unknown = await runHubUntilExit({ env: { TRANSPORT_URL: redis.tlsUrl({ tls_ca_file: undefined }) } });
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /127\.0\.0\.1:\d+\/0 \(TLS\): cannot connect: TLS handshake failed: certificate verify failed \(.*\)/);

  // The right CA, but the certificate is for 127.0.0.1 and localhost only.
  const wrongName = await runHubUntilExit({ env: { TRANSPORT_URL: redis.tlsUrl({ tls_server_name: 'redis.example.com' }) } });
  assert.equal(wrongName.code, 2, wrongName.stderr);
  assert.match(wrongName.stderr, /certificate verify failed .*redis\.example\.com/);

  // A name the certificate holds, through another address form.
  const byName = await hubOn(redis.tlsUrl({ stream: `n-${randomUUID()}` }, { host: 'localhost' }));
  await publishOk(byName, { topic: freshTopic(), data: 'x' }, { token: await anyPublisherToken() });

  const insecure = await hubOn(redis.tlsUrl({ stream: `i-${randomUUID()}`, tls_ca_file: undefined, tls_insecure_skip_verify: 'true' }));
  assert.match(insecure.stderr(), /tls_insecure_skip_verify=true: the certificate of Redis at .* is not checked/);
  await publishOk(insecure, { topic: freshTopic(), data: 'y' }, { token: await anyPublisherToken() });
});

test('a Redis that asks for client certificates: refused without one, served with one', async () => {
  // TLS 1.2: the refusal comes in the handshake (with 1.3, at the first read after it).
  const strict = await startRedis({ tls: { authClients: 'yes' }, args: ['--tls-protocols', 'TLSv1.2'] });
  try {
    const without = await runHubUntilExit({ env: { TRANSPORT_URL: strict.tlsUrl() } });
    assert.equal(without.code, 2, without.stderr);
    assert.match(without.stderr, /\(TLS\): (cannot connect|.*no reply)/);
    // Without the check of the server's certificate, the failure is still the missing client
    // certificate, not a verification that was not made.
    const insecure = await runHubUntilExit({ env: { TRANSPORT_URL: strict.tlsUrl({ tls_ca_file: undefined, tls_insecure_skip_verify: 'true' }) } });
    assert.equal(insecure.code, 2, insecure.stderr);
    assert.match(insecure.stderr, /\(TLS\): (cannot connect|.*no reply)/);
    assert.doesNotMatch(insecure.stderr, /certificate verify failed/);
    const { cert, key } = strict.certs.client;
    const h = await hubOn(strict.tlsUrl({ stream: `mtls-${randomUUID()}`, tls_cert_file: cert, tls_key_file: key }));
    const topic = freshTopic();
    const sub = closer.add(await subscribeOk(h, [topic]));
    const id = await publishOk(h, { topic, data: 'mutual' }, { token: await anyPublisherToken() });
    await waitForId(sub, id);
  } finally {
    await removeRedis(strict);
  }
});

test('start-up errors name the file or the cause: unreadable CA, key of another certificate, a server without TLS, TLS to a plain port', async () => {
  const dir = redis.certs.server.cert.replace(/\/[^/]*$/, '');
  const notPem = join(dir, 'not-pem.txt');
  writeFileSync(notPem, 'not a certificate\n');
  // A key with a passphrase: refused at once, never a prompt waiting on the terminal.
  const encrypted = join(dir, 'client-key-encrypted.pem');
  execFileSync('openssl', ['pkey', '-in', redis.certs.client.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted]);
  const cases = [
    [redis.tlsUrl({ tls_ca_file: join(dir, 'missing.pem') }), /cannot read tls_ca_file ".*missing\.pem": No such file or directory/],
    [redis.tlsUrl({ tls_ca_file: dir }), /cannot read tls_ca_file ".*": it is a directory/],
    [redis.tlsUrl({ tls_ca_file: notPem }), /tls_ca_file ".*not-pem\.txt": not a PEM file of certificates/],
    [redis.tlsUrl({ tls_cert_file: notPem, tls_key_file: redis.certs.client.key }), /tls_cert_file ".*not-pem\.txt": not a PEM certificate chain/],
    [redis.tlsUrl({ tls_cert_file: redis.certs.client.cert, tls_key_file: encrypted }), /tls_key_file ".*encrypted\.pem": not an unencrypted PEM private key/],
    [redis.tlsUrl({ tls_cert_file: redis.certs.client.cert, tls_key_file: redis.certs.server.key }), /tls_key_file ".*" is not the key of tls_cert_file/],
    [redis.tlsUrl({ tls_cert_file: redis.certs.client.cert }), /go together/],
    [redis.url({ tls_ca_file: redis.certs.ca }), /needs a rediss:\/\/ URL/],
  ];
  for (const [url, reason] of cases) {
    const r = await runHubUntilExit({ env: { TRANSPORT_URL: url } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr + r.stdout, /-----BEGIN|Enter PEM pass phrase/);
  }
  // rediss:// to the plain port: the handshake fails at once (Redis answers the hello as a
  // command), and the hub says so rather than waiting.
  const plainPort = redis.tlsUrl().replace(`:${redis.tlsPort}/`, `:${redis.port}/`);
  const t0 = Date.now();
  const r = await runHubUntilExit({ env: { TRANSPORT_URL: plainPort } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /TLS handshake failed/);
  assert.ok(Date.now() - t0 < 8000, `exited after ${Date.now() - t0} ms`);
});
