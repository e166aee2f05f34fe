// Automatic HTTPS (ACME, RFC 8555, TLS-ALPN-01 of RFC 8737, HTTP-01): SERVER_NAME set to a domain
// without CERT_FILE/KEY_FILE. A local pebble (tests/lib/acme.mjs) issues the certificate after
// validating the challenge on the hub's own port (or on its HTTP port); the hub serves it, stores it in ACME_DIR and reuses it on a
// restart; an unreachable CA or a CA rejecting nonces does not stop it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startPebble } from '../lib/acme.mjs';
import { freePort, startHub } from '../lib/hub.mjs';
import { publishOk, subscribeOk, withDeadline } from '../lib/http.mjs';
import { makeTempDir, runHubUntilExit } from '../lib/store.mjs';
import { tlsConnect, tlsTunnel } from '../lib/tls.mjs';
import { publisherToken } from '../lib/tokens.mjs';
import { scrape } from '../lib/prometheus.mjs';

const DOMAIN = 'hub.mercure.test';
const OBTAINED_RE = /acme: obtained a certificate for "hub\.mercure\.test"/;
const STORED_RE = /acme: using the stored certificate for "hub\.mercure\.test"/;
const CANNOT_RE = /acme: cannot obtain a certificate for "hub\.mercure\.test": (.+); trying again in \S/;
// eslint-disable-next-line no-control-regex
const clean = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Registers cleanups run after the test `t` in reverse order (streams, hub, pebble, dirs), even on failure. */
function cleanups(t) {
  const stack = [];
  t.after(async () => {
    let first;
    while (stack.length) {
      try {
        await stack.pop()();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  });
  return (fn) => stack.push(fn);
}

/** The folder of ACME_DIR where the hub keeps what it got from the CA at `directoryUrl` (one per CA). */
const caFolder = (acmeDir, directoryUrl) => {
  const u = new URL(directoryUrl);
  return join(acmeDir, `${u.hostname}-${u.port}${u.pathname.replace(/[^A-Za-z0-9._-]+/g, '-')}`.replace(/-+$/, ''));
};

/** A temp dir removed by `defer`. */
function tempDirFor(defer, prefix) {
  const d = makeTempDir(prefix);
  defer(d.remove);
  return d.path;
}

/**
 * Starts a hub doing ACME for DOMAIN on 127.0.0.1:port against the CA `ca`, its HTTP port (redirects,
 * HTTP-01) on 127.0.0.1:httpPort (a free port unless given: never port 80); stopped by `defer`.
 */
async function startAcmeHub(defer, { port, httpPort, acmeDir, ca, caRoot, env = {} }) {
  const hub = await startHub({
    env: {
      GLOBAL_OPTIONS: `http_port ${httpPort ?? (await freePort())}`,
      SERVER_NAME: DOMAIN,
      ADDR: `127.0.0.1:${port}`,
      ACME_CA: ca,
      ACME_CA_ROOT: caRoot,
      ACME_EMAIL: 'ops@mercure.test',
      ACME_DIR: acmeDir,
      ALLOW_ANONYMOUS: '1',
      ...env,
    },
  });
  defer(() => hub.stop());
  return hub;
}

/**
 * Resolves with the match of `re` in the hub's stderr once it appears (checked on every chunk it
 * writes); rejects when the hub exits first or after `timeoutMs`, with the hub's (and pebble's) output.
 */
function waitForLog(hub, re, { timeoutMs, what, pebble }) {
  let stop = () => {};
  const found = new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(clean(hub.stderr()));
      if (m) resolve(m);
    };
    hub.process.stderr.on('data', check); // after hub.mjs's own listener: hub.stderr() has the chunk
    stop = () => hub.process.stderr.off('data', check);
    hub.exited.then((info) => reject(new Error(`the hub exited (${JSON.stringify(info)}) before logging ${what}\n${hub.output()}`)));
    check();
  });
  const details = () => `${hub.output()}${pebble ? `\n${pebble.output()}` : ''}`;
  return withDeadline(found, timeoutMs, what, details).finally(stop);
}

/** A TLS handshake with the hub as DOMAIN, trusting `ca`; the peer certificate with its chain. */
async function handshake(hub, ca) {
  const socket = await tlsConnect(hub, { ca, servername: DOMAIN });
  try {
    return socket.getPeerCertificate(true);
  } finally {
    socket.destroy();
  }
}

/**
 * pebble validating on a fresh port, and a hub on that port, until the hub says it obtained its
 * certificate. `tlsValidated` false: pebble's TLS-ALPN-01 validator connects to a port where
 * nothing listens (only HTTP-01, on the hub's http_port, can succeed).
 */
async function obtain(defer, { acmeDir, nonceReject = 0, validitySeconds, env, tlsValidated = true }) {
  const port = await freePort(); // before pebble: its validator connects to this port
  const tlsPort = tlsValidated ? port : await freePort();
  const pebble = await startPebble({ tlsPort, nonceReject, validitySeconds });
  defer(() => pebble.stop());
  const hub = await startAcmeHub(defer, { port, httpPort: pebble.httpPort, acmeDir, ca: pebble.directoryUrl, caRoot: pebble.caRootFile, env });
  await waitForLog(hub, OBTAINED_RE, { timeoutMs: 60_000, what: 'the hub to obtain its certificate', pebble });
  return { hub, pebble, root: await pebble.issuerRoot(), intermediate: await pebble.intermediates() };
}

describe('a certificate obtained, then reused', () => {
  let shared; // test 1 -> test 2: { dir, acmeDir, caRootCopy, directoryUrl, root, fingerprint }
  before(() => {
    const d = makeTempDir('mercure-acme-');
    shared = { dir: d, acmeDir: join(d.path, 'acme'), caRootCopy: join(d.path, 'pebble-api.pem') };
  });
  after(() => shared?.dir.remove());

  test('obtains a certificate from the ACME server and serves it', async (t) => {
    const defer = cleanups(t);
    const { hub, pebble, root, intermediate } = await obtain(defer, { acmeDir: shared.acmeDir });

    // Only the root is trusted: the hub must send the intermediate after the leaf.
    const peer = await handshake(hub, [root]);
    assert.ok(peer.subjectaltname.split(', ').includes(`DNS:${DOMAIN}`), peer.subjectaltname);
    assert.equal(peer.issuerCertificate?.fingerprint256, new X509Certificate(intermediate).fingerprint256, 'issued through pebble\'s intermediate');

    // Stored: the chain as downloaded (leaf first) and its key, the account key; the keys 0600.
    // Kept per CA: ACME_DIR/<CA>/, both folders 0700.
    const stored = caFolder(shared.acmeDir, pebble.directoryUrl);
    assert.deepEqual(readdirSync(shared.acmeDir), [stored.slice(shared.acmeDir.length + 1)]);
    const files = readdirSync(stored);
    assert.deepEqual(files.sort(), ['account.key', `${DOMAIN}.crt`, `${DOMAIN}.key`], 'no temporary file left');
    for (const [f, mode] of [['account.key', '600'], [`${DOMAIN}.key`, '600'], ['', '700'], ['..', '700']]) {
      assert.equal((statSync(join(stored, f)).mode & 0o777).toString(8), mode, `mode of ${f || 'the CA folder'}`);
    }
    const pems = readFileSync(join(stored, `${DOMAIN}.crt`), 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    assert.ok(pems.length >= 2, `${pems.length} certificates in ${DOMAIN}.crt`);
    const leaf = new X509Certificate(pems[0]);
    assert.equal(leaf.fingerprint256, peer.fingerprint256, 'the stored leaf is the one served');
    assert.equal(new X509Certificate(pems[1]).fingerprint256, peer.issuerCertificate.fingerprint256);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(stored, `${DOMAIN}.key`)))), 'the stored key matches');

    // Publish and subscribe over HTTPS, the hub verified as DOMAIN.
    const tunnel = await tlsTunnel(hub, { ca: [root], servername: DOMAIN });
    defer(() => tunnel.close());
    const topic = `https://example.com/acme/${randomUUID()}`;
    const sub = await subscribeOk(tunnel, [topic]);
    defer(() => sub.close());
    const id = await publishOk(tunnel, { topic, data: 'over ACME' }, { token: await publisherToken() });
    const event = await sub.waitForEvent((e) => e.id === id);
    assert.equal(event.data, 'over ACME');

    copyFileSync(pebble.caRootFile, shared.caRootCopy); // pebble's temp dir goes with it
    Object.assign(shared, { directoryUrl: pebble.directoryUrl, root, fingerprint: peer.fingerprint256 });
  });

  test('a restart uses the stored certificate without the ACME server', async (t) => {
    assert.ok(shared.fingerprint, 'needs the certificate obtained by the previous test');
    const defer = cleanups(t);
    // pebble is gone; a listener on its old address counts the connections the hub makes there.
    const caConnections = [];
    const trap = net.createServer((s) => {
      caConnections.push(s.remotePort);
      s.destroy();
    });
    await new Promise((resolve, reject) => {
      trap.once('error', reject);
      trap.listen(Number(new URL(shared.directoryUrl).port), '127.0.0.1', resolve);
    });
    defer(() => new Promise((resolve) => trap.close(resolve)));

    const hub = await startAcmeHub(defer, { port: await freePort(), acmeDir: shared.acmeDir, ca: shared.directoryUrl, caRoot: shared.caRootCopy });
    await waitForLog(hub, STORED_RE, { timeoutMs: 10_000, what: 'the hub to use its stored certificate' });
    const peer = await handshake(hub, [shared.root]);
    assert.equal(peer.fingerprint256, shared.fingerprint, 'the stored certificate is served');
    const stderr = clean(hub.stderr());
    assert.doesNotMatch(stderr, CANNOT_RE);
    assert.doesNotMatch(stderr, OBTAINED_RE);
    assert.deepEqual(caConnections, [], 'the hub connected to the ACME server');
  });

  test('another ACME CA does not serve the certificate of the first (staging then production)', async (t) => {
    assert.ok(shared.fingerprint, 'needs the certificate obtained by the first test');
    const defer = cleanups(t);
    const other = `https://127.0.0.1:${await freePort()}/directory`;
    const hub = await startAcmeHub(defer, { port: await freePort(), acmeDir: shared.acmeDir, ca: other });
    await waitForLog(hub, CANNOT_RE, { timeoutMs: 30_000, what: 'the hub to ask the other CA (unreachable here)' });
    assert.doesNotMatch(clean(hub.stderr()), STORED_RE);
    await assert.rejects(handshake(hub, [shared.root]), 'no certificate served before the other CA issues one');
  });
});

test('an unreachable ACME server: the hub keeps running and says it will try again', async (t) => {
  const defer = cleanups(t);
  const acmeDir = tempDirFor(defer, 'mercure-acme-');
  chmodSync(acmeDir, 0o777); // a shared volume: used as it is; the CA's folder inside is the hub's, 0700
  const nobody = await freePort();
  const hub = await startAcmeHub(defer, { port: await freePort(), acmeDir, ca: `https://127.0.0.1:${nobody}/dir` });
  const m = await waitForLog(hub, CANNOT_RE, { timeoutMs: 30_000, what: 'the hub to report that it cannot obtain a certificate' });
  assert.match(m[1], /\S/, 'a reason is given');
  assert.equal(hub.exitInfo(), null, 'the hub is still running');
  // The port speaks TLS but has no certificate to offer yet: even an unverifying client fails.
  await assert.rejects(tlsConnect(hub, { servername: DOMAIN, rejectUnauthorized: false }));
  assert.equal(hub.exitInfo(), null, 'the hub is still running after a handshake it could not complete');
  assert.ok(!existsSync(join(caFolder(acmeDir, `https://127.0.0.1:${nobody}/dir`), `${DOMAIN}.crt`)), 'no certificate stored');
  assert.equal((statSync(acmeDir).mode & 0o777).toString(8), '777', 'ACME_DIR left as it was');
  assert.equal((statSync(caFolder(acmeDir, `https://127.0.0.1:${nobody}/dir`)).mode & 0o777).toString(8), '700');
  const exit = await hub.stop();
  assert.equal(exit.code, 0, hub.output());
});

test('pebble rejecting nonces at random (PEBBLE_WFE_NONCEREJECT=50) does not stop issuance', async (t) => {
  const defer = cleanups(t);
  const { hub, root } = await obtain(defer, { acmeDir: tempDirFor(defer, 'mercure-acme-'), nonceReject: 50 });
  const peer = await handshake(hub, [root]);
  assert.ok(peer.subjectaltname.split(', ').includes(`DNS:${DOMAIN}`), peer.subjectaltname);
});

test('a certificate is renewed when a third of its lifetime is left, and the new one served', async (t) => {
  const defer = cleanups(t);
  // 12-second certificates: renewed 8 s after they start.
  const metricsPort = await freePort();
  const { hub, root } = await obtain(defer, {
    acmeDir: tempDirFor(defer, 'mercure-acme-'),
    validitySeconds: 12,
    env: { METRICS_ENABLED: '1', METRICS_ADDR: `127.0.0.1:${metricsPort}` },
  });
  const first = await handshake(hub, [root]);
  const renewed = new RegExp(`${OBTAINED_RE.source}[^]*${OBTAINED_RE.source}`);
  await waitForLog(hub, renewed, { timeoutMs: 30_000, what: 'the hub to renew its certificate' });
  const second = await handshake(hub, [root]);
  assert.notEqual(second.fingerprint256, first.fingerprint256, 'the renewed certificate is served');
  assert.ok(new Date(second.valid_to) > new Date(first.valid_to));
  // Monitoring sees the expiry of the certificate served (a renewal that keeps failing shows).
  const expiry = (await scrape({ port: metricsPort })).value('mercure_tls_certificate_expiry_timestamp_seconds');
  assert.ok(expiry >= Date.parse(second.valid_to) / 1000, `${expiry} vs ${second.valid_to}`);
});

test('the HTTP port redirects to HTTPS and answers HTTP-01 when TLS-ALPN-01 cannot be validated', async (t) => {
  const defer = cleanups(t);
  // 12-second certificates: the renewal 8 s later starts with the challenge that worked.
  const { hub, pebble, root } = await obtain(defer, { acmeDir: tempDirFor(defer, 'mercure-acme-'), tlsValidated: false, validitySeconds: 12 });
  const stderr = clean(hub.stderr());
  assert.match(stderr, new RegExp(`HTTP on port ${pebble.httpPort} redirects to https://hub\\.mercure\\.test and answers the ACME CA's HTTP-01 challenges`));
  assert.match(stderr, /the tls-alpn-01 challenge for "hub\.mercure\.test" failed: .*; trying the http-01 challenge/);
  const peer = await handshake(hub, [root]);
  assert.ok(peer.subjectaltname.split(', ').includes(`DNS:${DOMAIN}`), peer.subjectaltname);

  // Any other request on the HTTP port: 308 to the same target over HTTPS (method kept).
  const httpPort = { url: `http://127.0.0.1:${pebble.httpPort}` };
  for (const [method, path] of [['GET', '/.well-known/mercure?topic=%2Fa&x=1'], ['POST', '/.well-known/mercure'], ['HEAD', '/healthz']]) {
    const res = await fetch(`${httpPort.url}${path}`, { method, redirect: 'manual', signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 308, `${method} ${path}`);
    assert.equal(res.headers.get('location'), `https://${DOMAIN}${path}`);
  }
  const unknown = await fetch(`${httpPort.url}/.well-known/acme-challenge/not-a-pending-token`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(unknown.status, 404);

  const renewed = new RegExp(`${OBTAINED_RE.source}[^]*${OBTAINED_RE.source}`);
  await waitForLog(hub, renewed, { timeoutMs: 30_000, what: 'the hub to renew its certificate', pebble });
  assert.equal(clean(hub.stderr()).match(/trying the http-01 challenge/g).length, 1, 'the renewal went to HTTP-01 first');
});

test('auto_https disable_redirects: nothing listens on the HTTP port', async (t) => {
  const defer = cleanups(t);
  const httpPort = await freePort();
  const hub = await startAcmeHub(defer, {
    port: await freePort(),
    acmeDir: tempDirFor(defer, 'mercure-acme-'),
    ca: `https://127.0.0.1:${await freePort()}/dir`,
    env: { GLOBAL_OPTIONS: `http_port ${httpPort}\nauto_https disable_redirects` },
  });
  await waitForLog(hub, CANNOT_RE, { timeoutMs: 30_000, what: 'the hub to try its (unreachable) CA' });
  await assert.rejects(fetch(`http://127.0.0.1:${httpPort}/`, { signal: AbortSignal.timeout(5_000) }), 'connection refused');
  assert.doesNotMatch(clean(hub.stderr()), /redirects to https/);
});

test("a CA folder that is not the hub's own directory (a planted link) stops the hub at start-up", async (t) => {
  const defer = cleanups(t);
  const acmeDir = tempDirFor(defer, 'mercure-acme-');
  const elsewhere = tempDirFor(defer, 'mercure-acme-elsewhere-');
  const ca = `https://127.0.0.1:${await freePort()}/dir`;
  symlinkSync(elsewhere, caFolder(acmeDir, ca));
  const r = await runHubUntilExit({
    env: { SERVER_NAME: DOMAIN, ADDR: `127.0.0.1:${await freePort()}`, ACME_CA: ca, ACME_DIR: acmeDir, ALLOW_ANONYMOUS: '1' },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is not a directory of the hub's user \(a link, or another user's\)/);
  assert.deepEqual(readdirSync(elsewhere), [], 'nothing written through the link');
});
