// HTTPS on the main listener (CERT_FILE + KEY_FILE): certificates and start-up errors, TLS
// versions and ALPN, everything the plain hub serves served the same over TLS (through
// tlsTunnel, so the helpers of http.mjs drive it unchanged), event streams under back pressure,
// clients that send plain HTTP, garbage or nothing, shutdown, and real clients (curl,
// node:https, the eventsource package). Certificates: tests/lib/tls.mjs (openssl).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from '../lib/hub.mjs';
import { Closer, Connection, DEFAULT_TIMEOUT_MS, HUB_PATH, formEncode, publishOk, request, subscribeOk, withDeadline } from '../lib/http.mjs';
import { parseRaw, rawSocket } from '../lib/raw_socket.mjs';
import { scrape, waitForMetrics } from '../lib/prometheus.mjs';
import { lmdbUrl, makeTempDir, runHubUntilExit, tempDir } from '../lib/store.mjs';
import { nowSeconds, publisherToken, subscriberToken } from '../lib/tokens.mjs';
import { httpsRequest, makeCerts, pemBodyLines, tlsConnect, tlsTunnel } from '../lib/tls.mjs';

let certs;
before(() => {
  certs = makeCerts();
});
const closer = new Closer();
after(async () => {
  await closer.closeAll();
  certs?.remove();
});
const token = await publisherToken();
const READY_TLS_RE = /listening on https:\/\/127\.0\.0\.1:(\d+) \(\d+ workers?\)/;
// The first bytes of a TLS 1.2+ ClientHello record, announcing 512 bytes that never come.
const HALF_CLIENT_HELLO = Buffer.from('160301020001000200fc03030102030405', 'hex');

/**
 * A TLS hub (certs.ec unless `pair`), anonymous subscribers allowed, and a tunnel to it; both
 * closed after the test `t` (the hub must then exit with status 0), or after the file.
 */
async function startTlsHub(t, { env = {}, pair = certs.ec, ...rest } = {}) {
  const hub = await startHub({ ...rest, env: { ALLOW_ANONYMOUS: '1', CERT_FILE: pair.cert, KEY_FILE: pair.key, ...env } });
  closer.add(() => hub.kill());
  const tunnel = closer.add(await tlsTunnel(hub, { ca: pair.ca }));
  t?.after(async () => {
    await tunnel.close();
    await hub.stop();
  });
  return { hub, tunnel };
}

/** Sends `GET path` with Connection: close on a TLS socket; the parsed response once closed. */
async function getOver(socket, path = '/healthz') {
  const chunks = [];
  socket.on('data', (d) => chunks.push(d));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await withDeadline(closed, DEFAULT_TIMEOUT_MS, `the response to GET ${path}`);
  return parseRaw(Buffer.concat(chunks).toString('latin1'));
}

/** Runs a command to completion: {code, stdout, stderr}. */
function run(file, args, { timeoutMs = DEFAULT_TIMEOUT_MS, env } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, env }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr }));
  });
}

/** A child process whose stdout is watched: waitFor(pred, what) with a deadline; killed after the file. */
function watched(file, args, { env } = {}) {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  closer.add(() => child.kill('SIGKILL'));
  const w = { out: '', err: '', waiters: new Set() };
  const check = () => {
    for (const x of w.waiters) if (x.pred(w.out)) (w.waiters.delete(x), x.resolve(w.out));
  };
  child.stdout.setEncoding('utf8').on('data', (d) => ((w.out += d), check()));
  child.stderr.setEncoding('utf8').on('data', (d) => (w.err += d));
  w.waitFor = (pred, what, ms = DEFAULT_TIMEOUT_MS) =>
    withDeadline(new Promise((resolve) => (w.waiters.add({ pred, resolve }), check())), ms, what, () => `stdout: ${w.out}\nstderr: ${w.err}`);
  return w;
}

describe('start-up', () => {
  test('the readiness line says https with the workers, and hub.url follows; a plain hub still says http', async (t) => {
    const { hub } = await startTlsHub(t, { workers: 3 });
    assert.match(hub.stderr(), READY_TLS_RE);
    assert.match(hub.stderr(), /listening on https:\/\/127\.0\.0\.1:\d+ \(3 workers\)/);
    // The test certificate is valid for 2 days: the served certificate is named, with a warning.
    assert.match(hub.stderr(), /WARN TLS: serving "CN=mercure-hub test ec", valid until \d{4}-\d\d-\d\d [\d:]+ UTC \(expires in [12] days?: renew it, then send SIGHUP\)/);
    assert.equal(hub.tls, true);
    assert.equal(hub.url, `https://127.0.0.1:${hub.port}`);
    assert.equal(hub.hubUrl, `https://127.0.0.1:${hub.port}${HUB_PATH}`);
    const plain = await startHub();
    t.after(() => plain.stop());
    assert.equal(plain.tls, false);
    assert.match(plain.stderr(), /listening on http:\/\/127\.0\.0\.1:\d+ \(\d+ workers?\)/);
    assert.equal((await request(plain, { path: '/healthz' })).status, 200);
    const exit = await hub.stop();
    assert.equal(exit.code, 0);
  });

  test('EC and RSA certificates, a traditional EC key, a chain with an intermediate: verified by IP and by name', async () => {
    const variants = [
      ['EC P-256', certs.ec, (peer) => assert.equal(peer.asn1Curve, 'prime256v1')],
      ['RSA 2048', certs.rsa, (peer) => assert.equal(peer.bits, 2048)],
      ['EC key as BEGIN EC PRIVATE KEY', { ...certs.ec, key: certs.ecTraditionalKey }, () => {}],
      // The client trusts the root only: the hub must send the intermediate from the chain file.
      ['leaf + intermediate', certs.chain, (peer) => assert.equal(peer.issuer.CN, 'mercure-hub test intermediate')],
    ];
    for (const [name, pair, check] of variants) {
      const hub = await startHub({ env: { CERT_FILE: pair.cert, KEY_FILE: pair.key } });
      try {
        for (const servername of [undefined, 'localhost']) {
          const res = await httpsRequest(hub, { ca: pair.ca, path: '/healthz', servername });
          assert.equal(res.status, 200, `${name} (${servername ?? 'IP'})`);
          assert.deepEqual(JSON.parse(res.text), { status: 'ok' });
          check(res.peer);
        }
      } finally {
        await hub.stop();
      }
    }
  });

  test("--cert-file/--key-file, cert_file/key_file and Caddy's `tls <cert> <key>` turn TLS on too", async (t) => {
    const dir = tempDir(t, 'mercure-tls-config-');
    const [config, site] = [join(dir, 'Caddyfile'), join(dir, 'Caddyfile.site')];
    writeFileSync(config, `mercure {\n\tcert_file ${certs.ec.cert}\n\tkey_file ${certs.ec.key}\n}\n`);
    writeFileSync(site, `localhost:3000 {\n\ttls ${certs.ec.cert} ${certs.ec.key}\n\tmercure {\n\t\tanonymous\n\t}\n}\n`);
    for (const args of [['--cert-file', certs.ec.cert, '--key-file', certs.ec.key], ['--config', config], ['--config', site]]) {
      const hub = await startHub({ args });
      try {
        assert.equal(hub.tls, true, `${args.join(' ')}:\n${hub.output()}`);
        assert.equal((await httpsRequest(hub, { ca: certs.ec.ca, path: '/healthz' })).status, 200);
      } finally {
        await hub.stop();
      }
    }
  });

  test('SIGHUP reads renewed files for new connections; open streams go on; unusable files keep the old ones', async (t) => {
    const dir = tempDir(t, 'mercure-tls-reload-');
    const live = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    copyFileSync(certs.ec.cert, live.cert);
    copyFileSync(certs.ec.key, live.key);
    const { hub, tunnel } = await startTlsHub(t, { pair: { ...certs.ec, ...live } });
    const logged = (re, what) =>
      withDeadline(
        new Promise((resolve) => {
          const check = () => re.test(hub.stderr()) && (hub.process.stderr.off('data', check), resolve());
          hub.process.stderr.on('data', check);
          check();
        }),
        DEFAULT_TIMEOUT_MS,
        what,
        hub.output,
      );
    const fingerprint = async (ca) => (await httpsRequest(hub, { ca, path: '/healthz' })).peer.fingerprint256;
    const ecPrint = await fingerprint(certs.ec.ca);
    const topic = `/reload/${randomUUID()}`;
    const sub = closer.add(await subscribeOk(tunnel, [topic]));

    copyFileSync(certs.rsa.cert, live.cert);
    copyFileSync(certs.rsa.key, live.key);
    hub.process.kill('SIGHUP');
    await logged(/TLS certificate and key read again/, 'the reload log line');
    const rsaPrint = await fingerprint(certs.rsa.ca);
    assert.notEqual(rsaPrint, ecPrint);
    await assert.rejects(httpsRequest(hub, { ca: certs.ec.ca, path: '/healthz' }), /certificate|self.signed/i);
    // The stream opened with the old certificate still delivers (published with the new one).
    const id = (await httpsRequest(hub, {
      ca: certs.rsa.ca,
      method: 'POST',
      path: HUB_PATH,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: formEncode({ topic, data: 'after the reload' }),
    })).text;
    const [ev] = await sub.waitForEvents(1);
    assert.deepEqual([ev.id, ev.data], [id, 'after the reload']);

    writeFileSync(live.key, 'not a key any more\n');
    hub.process.kill('SIGHUP');
    await logged(/TLS files not reloaded, the previous certificate stays in use: KEY_FILE/, 'the failed reload log line');
    assert.equal(await fingerprint(certs.rsa.ca), rsaPrint);
  });

  test('PROTOCOLS=h1: ALPN answers http/1.1 to h2 + http/1.1 and never h2; HTTP/1.1 served', async (t) => {
    const { hub, tunnel } = await startTlsHub(t, { env: { PROTOCOLS: 'h1' } });
    const s = await tlsConnect(hub, { ca: certs.ec.ca, alpn: ['h2', 'http/1.1'] });
    assert.equal(s.alpnProtocol, 'http/1.1');
    assert.equal((await getOver(s)).status, 200);
    // Offered h2 alone, the hub either refuses the handshake or chooses no protocol: never h2.
    const only = await tlsConnect(hub, { ca: certs.ec.ca, alpn: ['h2'], timeoutMs: 3_000 }).then(
      (socket) => {
        const chosen = socket.alpnProtocol;
        socket.destroy();
        return chosen;
      },
      (e) => `refused: ${e.message}`,
    );
    assert.notEqual(only, 'h2');
    assert.equal((await request(tunnel, { path: '/healthz' })).status, 200);
  });

  test('SERVER_NAME=https://... without a certificate warns that port 443 serves plain HTTP', async () => {
    // A bad transport stops the hub after the warning, before it binds the privileged port.
    const env = { ADDR: undefined, SERVER_NAME: 'https://localhost', TRANSPORT_URL: 'bogus://' };
    const r = await runHubUntilExit({ env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /port 443 in plain HTTP: set CERT_FILE and KEY_FILE/);
    // Any port: an https:// site address served in plain HTTP is worth a line.
    const other = await runHubUntilExit({ env: { ...env, SERVER_NAME: 'https://localhost:3001' } });
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /port 3001 in plain HTTP: set CERT_FILE and KEY_FILE to serve HTTPS \(the site address says https:\/\/\)/);
    const withTls = await runHubUntilExit({ env: { ...env, CERT_FILE: certs.ec.cert, KEY_FILE: certs.ec.key } });
    assert.equal(withTls.code, 2, withTls.stderr);
    assert.doesNotMatch(withTls.stderr, /plain HTTP/);
    // A public name: its certificate is obtained (ACME), nothing to warn about.
    const acmeDir = join(certs.dir, 'acme');
    const acme = await runHubUntilExit({ env: { ...env, SERVER_NAME: 'https://example.com', ACME_DIR: acmeDir } });
    assert.equal(acme.code, 2, acme.stderr);
    assert.doesNotMatch(acme.stderr, /plain HTTP/);
    assert.match(acme.stderr, /acme: automatic HTTPS for "example\.com"/);
  });

  test('bad TLS settings: exit 2 before listening, one stderr line naming the path and the fault, no key material', async () => {
    const c = certs;
    const missing = join(c.dir, 'no-such-file.pem');
    const directory = join(c.dir, 'a-directory');
    mkdirSync(directory, { recursive: true });
    const cases = [
      ['only CERT_FILE', { CERT_FILE: c.ec.cert }, 'KEY_FILE', /missing|both|without|needs/i],
      ['only KEY_FILE', { KEY_FILE: c.ec.key }, 'CERT_FILE', /missing|both|without|needs/i],
      ['a missing certificate', { CERT_FILE: missing, KEY_FILE: c.ec.key }, missing, /no such file|not found|does not exist|cannot (open|read)/i],
      ['a missing key', { CERT_FILE: c.ec.cert, KEY_FILE: missing }, missing, /no such file|not found|does not exist|cannot (open|read)/i],
      ['a directory as the key', { CERT_FILE: c.ec.cert, KEY_FILE: directory }, directory, /director|regular file|cannot read/i],
      ['a certificate that is not PEM', { CERT_FILE: c.notPem, KEY_FILE: c.ec.key }, c.notPem, /PEM|certificate/i],
      ['a key that is not PEM', { CERT_FILE: c.ec.cert, KEY_FILE: c.secretNotPem }, c.secretNotPem, /PEM|private key/i],
      ['an encrypted key', { CERT_FILE: c.ec.cert, KEY_FILE: c.encryptedKey }, c.encryptedKey, /encrypt|passphrase|password/i],
      ['a certificate as the key', { CERT_FILE: c.ec.cert, KEY_FILE: c.rsa.cert }, c.rsa.cert, /private key/i],
      ['a key as the certificate', { CERT_FILE: c.rsa.key, KEY_FILE: c.rsa.key }, c.rsa.key, /certificate/i],
      ['a key of another certificate', { CERT_FILE: c.ec.cert, KEY_FILE: c.otherKey }, c.otherKey, /match/i],
      ['an RSA key for an EC certificate', { CERT_FILE: c.ec.cert, KEY_FILE: c.rsa.key }, c.rsa.key, /match/i],
    ];
    const secrets = [c.ec.key, c.rsa.key, c.otherKey, c.encryptedKey].flatMap(pemBodyLines).concat('SECRET-KEY-MATERIAL');
    const problems = []; // every case is run, then all faults are shown
    for (const [name, env, named, fault] of cases) {
      const res = await runHubUntilExit({ env: { TRANSPORT_URL: 'local://', ...env }, cwd: c.dir, timeoutMs: 5_000 });
      const lines = res.stderr.trim().split('\n');
      // The fault must be said in words, not read from the file names.
      const words = Object.values(env).reduce((line, path) => line.replaceAll(path, ''), lines[0]);
      const bad = [
        res.ready && 'started',
        res.code !== 2 && `exit ${res.code}`,
        lines.length !== 1 && `${lines.length} lines`,
        !lines[0].includes(named) && `does not name ${named}`,
        !fault.test(words) && `does not say ${fault}`,
        secrets.some((s) => (res.stderr + res.stdout).includes(s)) && 'key material echoed',
      ].filter(Boolean);
      if (bad.length) problems.push(`${name}: ${bad.join(', ')}: ${JSON.stringify(res.stderr)}`);
    }
    assert.deepEqual(problems, []);
  });
});

describe('one TLS hub, as over plain HTTP', () => {
  const f = {};
  before(async () => {
    f.dir = makeTempDir('mercure-tls-history-');
    Object.assign(
      f,
      await startTlsHub(null, {
        workers: 1,
        env: {
          TRANSPORT_URL: lmdbUrl(f.dir.path),
          SUBSCRIPTIONS: '1',
          CORS_ALLOWED_ORIGINS: 'https://app.example',
          METRICS_ENABLED: '1',
          METRICS_ADDR: '127.0.0.1:0',
        },
      }),
    );
    const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(f.hub.stderr());
    assert.ok(m, `no "metrics on http://" line:\n${f.hub.stderr()}`);
    f.metrics = { host: '127.0.0.1', port: Number(m[1]) };
  });
  after(async () => {
    try {
      if (f.hub) assert.equal((await f.hub.stop()).code, 0);
    } finally {
      f.dir?.remove();
    }
  });

  test('TLS 1.2 and 1.3 accepted, 1.1 refused; ALPN chooses h2 from h2 + http/1.1 (default PROTOCOLS), http/1.1 from http/1.1, works without ALPN', async () => {
    const ca = certs.ec.ca;
    for (const [opts, protocol, alpn] of [
      [{ maxVersion: 'TLSv1.2' }, 'TLSv1.2', 'http/1.1'],
      [{ maxVersion: 'TLSv1.2', alpn: ['h2', 'http/1.1'] }, 'TLSv1.2', 'h2'],
      [{ minVersion: 'TLSv1.3', alpn: ['h2', 'http/1.1'] }, 'TLSv1.3', 'h2'],
      [{ minVersion: 'TLSv1.3', alpn: ['http/1.1'] }, 'TLSv1.3', 'http/1.1'],
      [{ alpn: [] }, 'TLSv1.3', false],
    ]) {
      const s = await tlsConnect(f.hub, { ca, ...opts });
      assert.equal(s.getProtocol(), protocol, JSON.stringify(opts));
      assert.equal(s.alpnProtocol, alpn, JSON.stringify(opts));
      if (alpn === 'h2') {
        s.destroy(); // HTTP/2 itself: http2.test.mjs
        continue;
      }
      const res = await getOver(s);
      assert.equal(res.status, 200, JSON.stringify(opts));
    }
    // SECLEVEL=0 lets this client speak TLS 1.1: only the hub can refuse it.
    await assert.rejects(tlsConnect(f.hub, { ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
  });

  test('/healthz, 404, publish, HEAD, keep-alive and pipelined requests on one TLS connection', async () => {
    const conn = await Connection.open(f.tunnel, { parseSse: false });
    try {
      const r1 = await conn.request({ path: '/healthz' });
      assert.equal(r1.status, 200);
      assert.deepEqual(r1.json(), { status: 'ok' });
      const r2 = await conn.request({
        method: 'POST',
        path: HUB_PATH,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: formEncode({ topic: 'https://example.com/tls/keepalive', data: 'x' }),
      });
      assert.equal(r2.status, 200, r2.text);
      assert.match(r2.text, /^urn:uuid:/);
      assert.equal((await conn.request({ path: '/nope' })).status, 404);
      const [a, b, c] = [conn.send({ path: '/healthz' }), conn.send({ path: '/nope' }), conn.send({ path: '/healthz' })];
      await c.waitForEnd();
      assert.deepEqual([a.status, b.status, c.status], [200, 404, 200]);
      assert.equal(conn.closed, false, 'the connection stays open');
      const pair = f.tunnel.pairFor(conn);
      // The tunnel offers http/1.1 only (it carries HTTP/1.1 bytes): the hub must not choose h2.
      assert.deepEqual([pair.protocol, pair.alpn], ['TLSv1.3', 'http/1.1']);
      // HEAD on the hub: the stream's head, no body; the hub may then close the connection.
      const head = conn.send({ method: 'HEAD', path: `${HUB_PATH}?topic=${encodeURIComponent('https://example.com/tls/head')}` });
      const next = conn.send({ path: '/healthz' });
      await head.waitForEnd();
      assert.equal(head.status, 200);
      assert.match(head.headers['content-type'], /^text\/event-stream\b/);
      await withDeadline(Promise.race([next.endPromise, conn.closedPromise]), 3_000, 'the HEAD response to end');
      if (next.head) assert.equal(next.status, 200);
    } finally {
      conn.close();
    }
  });

  test('publish (tunnel and node:https) and subscribe over TLS: every update, in order', async () => {
    const topic = `https://example.com/tls/${randomUUID()}`;
    const sub = closer.add(await subscribeOk(f.tunnel, [topic]));
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await publishOk(f.tunnel, { topic, data: `n${i}\nsecond line` }, { token }));
    const res = await httpsRequest(f.hub, {
      ca: certs.ec.ca,
      method: 'POST',
      path: HUB_PATH,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: formEncode({ topic, type: 'via-https', data: 'node https' }),
    });
    assert.equal(res.status, 200, res.text);
    ids.push(res.text);
    const events = await sub.waitForEvents(6);
    assert.deepEqual(events.map((e) => e.id), ids);
    assert.deepEqual(events.map((e) => e.data).slice(0, 2), ['n0\nsecond line', 'n1\nsecond line']);
    assert.deepEqual([events[5].type, events[5].data], ['via-https', 'node https']);
  });

  test('history: a resume with Last-Event-ID replays what followed, then goes live', async () => {
    const topic = `https://example.com/tls/history/${randomUUID()}`;
    const ids = [];
    for (let i = 1; i <= 3; i++) ids.push(await publishOk(f.tunnel, { topic, id: `urn:tls:${randomUUID()}`, data: `h${i}` }, { token }));
    const sub = closer.add(await subscribeOk(f.tunnel, [topic], { headers: { 'Last-Event-ID': ids[0] } }));
    assert.equal(sub.headers['last-event-id'], ids[0]);
    ids.push(await publishOk(f.tunnel, { topic, data: 'live' }, { token }));
    const events = await sub.waitForEvents(3);
    assert.deepEqual(events.map((e) => e.id), ids.slice(1));
  });

  test('the subscriptions API and CORS over TLS', async () => {
    const topic = `urn:tls:api:${randomUUID()}`;
    const sub = closer.add(await subscribeOk(f.tunnel, [topic], { headers: { Origin: 'https://app.example' } }));
    assert.equal(sub.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(sub.headers['access-control-allow-credentials'], 'true');
    const path = `${HUB_PATH}/subscriptions/${encodeURIComponent(topic)}`;
    // The connect event reaches the list through the store, just after the stream's head.
    const auth = { Authorization: `Bearer ${await subscriberToken(['*'])}` };
    let api;
    await withDeadline(
      (async () => {
        do api = await request(f.tunnel, { path, headers: auth });
        while (api.status === 200 && api.json().subscriptions.length === 0);
      })(),
      3_000,
      'the subscription to be listed',
    );
    assert.equal(api.status, 200, api.text);
    assert.deepEqual(api.json().subscriptions.map((s) => [s.topic, s.active]), [[topic, true]]);
    sub.close();
    const pre = await request(f.tunnel, {
      method: 'OPTIONS',
      path: `${HUB_PATH}?topic=x`,
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    assert.ok(pre.status === 200 || pre.status === 204, `preflight ${pre.status}`);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
  });

  test('the metrics listener stays plain HTTP; /metrics is not on the TLS listener', async () => {
    const e = await scrape(f.metrics);
    assert.ok(e.value('mercure_subscribers_total') >= 0);
    assert.equal((await request(f.metrics, { path: '/healthz' })).status, 200);
    await assert.rejects(tlsConnect(f.metrics, { ca: certs.ec.ca, timeoutMs: 2_000 }));
    assert.equal((await request(f.tunnel, { path: '/metrics' })).status, 404);
  });

  test('handshakes that stall (one worker) do not hold up other clients', async () => {
    const silent = closer.add(await rawSocket(f.hub));
    const half = closer.add(await rawSocket(f.hub));
    half.socket.write(HALF_CLIENT_HELLO);
    const t0 = Date.now();
    const res = await request(f.tunnel, { path: '/healthz', timeoutMs: 1_000 });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - t0 < 1_000);
    assert.equal(silent.closed || half.closed, false, 'READ_HEADER_TIMEOUT (5s) has not passed');
  });

  test('a subscriber that drops its TCP connection, or closes TLS (close_notify), is noticed at once', async () => {
    const topic = `urn:tls:close:${randomUUID()}`;
    const base = await scrape(f.metrics);
    const gone = (e) => e.family('mercure_subscriber_disconnects_total').samples.find((x) => x.labels.reason === 'client_gone').value;
    const connected = (e) => e.value('mercure_subscribers_connected');
    const listed = async () => {
      const path = `${HUB_PATH}/subscriptions/${encodeURIComponent(topic)}`;
      const res = await request(f.tunnel, { path, headers: { Authorization: `Bearer ${await subscriberToken(['*'])}` } });
      return res.json().subscriptions.length;
    };
    const a = closer.add(await subscribeOk(f.tunnel, [topic]));
    const b = closer.add(await subscribeOk(f.tunnel, [topic]));
    // The list follows the connect and disconnect events, which go through the store after the
    // gauge moved: waited for, with a deadline.
    const listing = (n) =>
      withDeadline(
        (async () => {
          while ((await listed()) !== n);
        })(),
        3_000,
        `the subscriptions API to list ${n}`,
      );
    await waitForMetrics(f.metrics, (e) => connected(e) === connected(base) + 2, { what: 'two more subscribers' });
    await listing(2);
    f.tunnel.pairFor(a.conn).secure.destroy(); // TCP closed under the TLS session, no close_notify
    await waitForMetrics(f.metrics, (e) => connected(e) === connected(base) + 1 && gone(e) === gone(base) + 1, { what: 'the destroyed one gone', timeoutMs: 3_000 });
    b.conn.socket.end(); // the tunnel closes the TLS session: close_notify, then FIN
    await waitForMetrics(f.metrics, (e) => connected(e) === connected(base) && gone(e) === gone(base) + 2, { what: 'the TLS-closed one gone', timeoutMs: 3_000 });
    await listing(0);
  });
});

describe('event streams over TLS', () => {
  test('the stream is what plain HTTP gives: headers, first comment, event bytes, heartbeats', async (t) => {
    const env = { ALLOW_ANONYMOUS: '1', HEARTBEAT_INTERVAL: '300ms' };
    const plain = await startHub({ env });
    t.after(() => plain.stop());
    const { tunnel } = await startTlsHub(t, { env });
    const shape = async (target) => {
      const topic = `https://example.com/tls/bytes/${randomUUID()}`;
      const sub = closer.add(await subscribeOk(target, [topic]));
      await publishOk(target, { topic, id: 'urn:tls:same', type: 'greeting', retry: '2500', data: 'line 1\r\nline 2\nline 3\r\r' }, { token });
      const ev = await sub.waitForEvent((e) => e.id === 'urn:tls:same');
      const after = () => sub.sse.items.slice(sub.sse.items.indexOf(ev) + 1);
      await sub.waitFor(() => after().length >= 2, { what: 'two heartbeats after the event', timeoutMs: 3_000 });
      const [h1, h2] = after();
      const before = sub.text.slice(0, sub.text.indexOf(ev.raw));
      assert.match(before, /^(:[^\n]*\n)+\n?$/, `only comments before the event: ${JSON.stringify(before)}`);
      assert.ok(h1.t - ev.t >= 240 && h2.t - h1.t >= 240, `heartbeats every 300 ms from the event: ${h1.t - ev.t}, ${h2.t - h1.t}`);
      assert.ok(h2.t - ev.t < 2_000);
      sub.close();
      return { headers: sub.headerList, first: sub.comments[0].raw, event: ev.raw, heartbeats: [h1.kind, h1.raw, h2.kind, h2.raw] };
    };
    const fromPlain = await shape(plain);
    const fromTls = await shape(tunnel);
    assert.deepEqual(fromTls, fromPlain);
    assert.equal(fromTls.heartbeats[0], 'comment');
  });

  test('a subscriber that stops reading during ~6 MiB of 100-300 KiB events gets them all, intact and in order', async (t) => {
    const { tunnel } = await startTlsHub(t, { workers: 2, env: { METRICS_ENABLED: '1', DISPATCH_TIMEOUT: '30s', HEARTBEAT_INTERVAL: '0' } });
    const topic = `https://example.com/tls/big/${randomUUID()}`;
    const base = await scrape(tunnel);
    const stalled = closer.add(await subscribeOk(tunnel, [topic]));
    const secure = tunnel.pairFor(stalled.conn).secure;
    secure.pause(); // the hub's TLS records pile up: its writes stall mid-record
    const healthy = closer.add(await subscribeOk(tunnel, [topic]));
    const sent = [];
    for (let total = 0; total < 6 * 1024 * 1024; ) {
      const size = (100 + Math.floor(Math.random() * 200)) * 1024; // 100-300 KiB, >> a 16 KiB record
      const data = randomBytes((size * 3) / 4).toString('base64url');
      sent.push({ id: await publishOk(tunnel, { topic, data }, { token }), data });
      total += size;
    }
    await healthy.waitForEvents(sent.length, { timeoutMs: 20_000 });
    const live = (e) => e.family('mercure_deliveries_total').samples.find((x) => x.labels.source === 'live').value;
    const pending = 2 * sent.length - (live(await scrape(tunnel)) - live(base));
    assert.ok(pending > 0, 'no delivery to the paused subscriber pending in the hub: the socket buffers took everything (test setup), or deliveries are counted before their TLS bytes are sent');
    assert.ok(stalled.events.length < sent.length, 'the paused subscriber cannot have everything yet');
    secure.resume();
    await stalled.waitForEvents(sent.length, { timeoutMs: 20_000 });
    assert.deepEqual(stalled.events.map((e) => e.id), sent.map((s) => s.id));
    for (const [i, s] of sent.entries()) assert.ok(stalled.events[i].data === s.data && healthy.events[i].data === s.data, `event ${i} intact`);
    assert.equal(stalled.ended, false);
    const reasons = (await scrape(tunnel)).family('mercure_subscriber_disconnects_total').samples;
    for (const r of ['slow', 'write_timeout']) {
      const before = base.family('mercure_subscriber_disconnects_total').samples.find((x) => x.labels.reason === r).value;
      assert.equal(reasons.find((x) => x.labels.reason === r).value, before, `no ${r} disconnect`);
    }
  });

  test('a TLS subscriber that never reads again is cut off as slow; the other gets everything', async (t) => {
    const { tunnel } = await startTlsHub(t, { env: { METRICS_ENABLED: '1', DISPATCH_TIMEOUT: '60s', HEARTBEAT_INTERVAL: '0' } });
    const topic = `https://example.com/tls/slow/${randomUUID()}`;
    const stalled = closer.add(await subscribeOk(tunnel, [topic]));
    const secure = tunnel.pairFor(stalled.conn).secure;
    secure.pause();
    const healthy = closer.add(await subscribeOk(tunnel, [topic]));
    const data = 'x'.repeat(64 * 1024);
    const ids = [];
    // 19 MiB: the 8 MiB outbox limit plus more than the socket buffers hold.
    for (let i = 0; i < 300; i++) ids.push(await publishOk(tunnel, { topic, data }, { token }));
    const slow = (e) => e.family('mercure_subscriber_disconnects_total').samples.find((x) => x.labels.reason === 'slow').value;
    await waitForMetrics(tunnel, (e) => slow(e) === 1, { what: 'the paused subscriber cut off as slow' });
    await healthy.waitForEvents(ids.length, { timeoutMs: 20_000 });
    assert.deepEqual(healthy.events.map((e) => e.id), ids);
    // Reading again, it gets whole updates, the first ones in order, then the end of the connection.
    secure.resume();
    await stalled.conn.waitForClose({ timeoutMs: 10_000, what: 'the cut-off stream to close' });
    assert.deepEqual(stalled.events.map((e) => e.id), ids.slice(0, stalled.events.length));
    assert.ok(stalled.events.every((e) => e.data === data));
  });

  test('a crowd of TLS subscribers on two workers gets a burst, everyone in the same order', async (t) => {
    const { tunnel } = await startTlsHub(t, { workers: 2 });
    const topic = `https://example.com/tls/crowd/${randomUUID()}`;
    const subs = [];
    for (let i = 0; i < 150; i++) subs.push(closer.add(await subscribeOk(tunnel, [topic])));
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => publishOk(tunnel, { topic, data: `n${i}` }, { token })));
    for (const s of subs) await s.waitForEvents(ids.length, { timeoutMs: 15_000 });
    const reference = subs[0].events.map((e) => e.id);
    assert.deepEqual([...reference].sort(), [...ids].sort());
    for (const s of subs) assert.deepEqual(s.events.map((e) => e.id), reference);
  });

  test('the stream ends cleanly (last chunk, TLS closed without error) when the token expires', async (t) => {
    const { tunnel } = await startTlsHub(t);
    const topic = `https://example.com/tls/exp/${randomUUID()}`;
    const sub = closer.add(await subscribeOk(tunnel, [topic], { token: await subscriberToken([topic], {}, { exp: nowSeconds() + 2 }) }));
    const id = await publishOk(tunnel, { topic, data: 'before exp' }, { token });
    await sub.waitForEvent((e) => e.id === id);
    await sub.waitForEnd({ timeoutMs: 5_000, what: 'the stream to end at the token expiry' });
    assert.equal(sub.endReason, 'complete', sub.describe());
    const pair = tunnel.pairFor(sub.conn);
    await sub.conn.waitForClose({ timeoutMs: 2_000 });
    assert.equal(pair.error, null);
    assert.equal(pair.ended, true, 'the hub closed the TLS session');
  });

  test('SIGTERM with TLS streams open: exit 0 promptly, streams ended', async (t) => {
    const { hub, tunnel } = await startTlsHub(t, { workers: 2 });
    const subs = [];
    for (let i = 0; i < 4; i++) subs.push(closer.add(await subscribeOk(tunnel, ['*'])));
    const exit = await hub.stop({ timeoutMs: 8_000 });
    assert.equal(exit.timedOut, false, hub.output());
    assert.equal(exit.code, 0);
    assert.ok(exit.ms < 5_000, `exited after ${exit.ms} ms`);
    for (const s of subs) await s.conn.waitForClose({ timeoutMs: 2_000, what: 'the stream closed by the stopping hub' });
  });
});

describe('clients that do not speak TLS', () => {
  test("plain HTTP to the TLS port gets Go's 400 and a close; the hub keeps serving", async (t) => {
    const { hub, tunnel } = await startTlsHub(t);
    for (const req of ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', `POST ${HUB_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\ntopic=a&b`]) {
      const s = closer.add(await rawSocket(hub));
      s.socket.write(req);
      await s.waitFor((st) => st.closed, 3_000, 'the connection to close');
      assert.ok(s.text.startsWith('HTTP/1.0 400 Bad Request\r\n'), JSON.stringify(s.text));
      assert.match(parseRaw(s.text).body, /client sent an HTTP request to an HTTPS server/i);
    }
    assert.equal((await request(tunnel, { path: '/healthz' })).status, 200);
  });

  test('silence, garbage, half a ClientHello, a handshake then silence: dropped within READ_HEADER_TIMEOUT', async (t) => {
    const { hub, tunnel } = await startTlsHub(t, { workers: 1, env: { READ_HEADER_TIMEOUT: '300ms', METRICS_ENABLED: '1' } });
    const silent = closer.add(await rawSocket(hub));
    const garbage = closer.add(await rawSocket(hub));
    garbage.socket.write(Buffer.concat([Buffer.from([0x00, 0xff, 0x16, 0x03]), randomBytes(200)]));
    const half = closer.add(await rawSocket(hub));
    half.socket.write(HALF_CLIENT_HELLO);
    const t0 = Date.now();
    const idle = closer.add(await tlsConnect(hub, { ca: certs.ec.ca }));
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    for (const [name, s] of [['silent', silent], ['garbage', garbage], ['half handshake', half]]) {
      await s.waitFor((st) => st.closed, 2_000, `the ${name} connection to be dropped`);
      assert.ok(s.closedAt - s.openedAt < 2_000, `${name}: ${s.closedAt - s.openedAt} ms`);
    }
    await withDeadline(idleClosed, 2_000, 'the idle TLS connection to be dropped');
    assert.ok(Date.now() - t0 < 2_000);
    assert.equal((await request(tunnel, { path: '/healthz' })).status, 200);
    // The stalled handshakes (silent, half) and the silent request count as 408s, as on plain HTTP.
    const timeouts = (await scrape(tunnel)).value('mercure_requests_rejected_total', { status: '408', reason: 'request_timeout' });
    assert.equal(timeouts, 3);
    assert.equal((hub.stderr().match(/408 TLS handshake not completed within 300ms/g) || []).length, 2, hub.stderr());
  });

  test('connections over MAX_CONNECTIONS: a few get the 429 after a handshake, the rest are closed at once', async (t) => {
    // The held connection and the first silent one fill MAX_CONNECTIONS for the whole test: a
    // long READ_HEADER_TIMEOUT keeps them from timing out (the default 5 s is too close on a slow
    // machine, and the last request would then be accepted instead of refused).
    const { hub } = await startTlsHub(t, { workers: 1, env: { MAX_CONNECTIONS: '2', READ_HEADER_TIMEOUT: '60s' } });
    const held = closer.add(await tlsConnect(hub, { ca: certs.ec.ca }));
    const fds = () => readdirSync(`/proc/${hub.pid}/fd`).length;
    const before = fds();
    const silent = [];
    for (let i = 0; i < 40; i++) silent.push(closer.add(await rawSocket(hub)));
    // Sixteen at most wait for a handshake (2 s); the others are closed without one.
    await withDeadline(
      (async () => {
        while (silent.filter((s) => s.closed).length < 40 - 16 - 1) await new Promise((r) => setImmediate(r));
      })(),
      1_500,
      'the refused connections beyond the handshake cap to be closed',
      () => `${silent.filter((s) => s.closed).length} closed`,
    );
    assert.ok(fds() <= before + 16 + 1, `${fds()} descriptors (${before} before)`);
    // The waiting ones give up after 2 s; then a refused client that does its handshake reads the 429.
    await withDeadline(
      (async () => {
        while (silent.filter((s) => s.closed).length < 39) await new Promise((r) => setTimeout(r, 20));
      })(),
      4_000,
      'the refused connections waiting for a handshake to be closed',
    );
    const refused = await httpsRequest(hub, { ca: certs.ec.ca, path: '/healthz' });
    assert.equal(refused.status, 429);
    assert.match(refused.text, /too many connections to the hub/);
    held.destroy();
  });
});

describe('real clients', () => {
  test('curl: --cacert by IP and by name, --http2 gets HTTP/2 and --http1.1 HTTP/1.1, publish with -d, stream with -N', async (t) => {
    const { hub } = await startTlsHub(t);
    const base = `https://127.0.0.1:${hub.port}`;
    const ca = ['--cacert', certs.ec.cert];
    const health = await run('curl', ['-sS', '--fail', ...ca, `${base}/healthz`]);
    assert.equal(health.code, 0, health.stderr);
    assert.deepEqual(JSON.parse(health.stdout), { status: 'ok' });
    const named = await run('curl', ['-sS', '--fail', ...ca, '--http2', '-o', '/dev/null', '-w', '%{http_version}',
      '--resolve', `localhost:${hub.port}:127.0.0.1`, `https://localhost:${hub.port}/healthz`]);
    assert.deepEqual([named.code, named.stdout], [0, '2'], named.stderr);
    const h1 = await run('curl', ['-sS', '--fail', ...ca, '--http1.1', '-o', '/dev/null', '-w', '%{http_version}', `${base}/healthz`]);
    assert.deepEqual([h1.code, h1.stdout], [0, '1.1'], h1.stderr);
    const untrusted = await run('curl', ['-sS', `${base}/healthz`]);
    assert.equal(untrusted.code, 60, 'without --cacert curl refuses the self-signed certificate');

    const topic = `https://example.com/tls/curl/${randomUUID()}`;
    const stream = watched('curl', ['-sS', '-N', ...ca, `${base}${HUB_PATH}?topic=${encodeURIComponent(topic)}`]);
    await stream.waitFor((out) => out.startsWith(':'), 'the first comment of the stream');
    const pub = await run('curl', ['-sS', '--fail', ...ca, '-H', `Authorization: Bearer ${token}`, '-d', `topic=${topic}`, '-d', 'data=from curl', `${base}${HUB_PATH}`]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stdout, /^urn:uuid:/);
    await stream.waitFor((out) => out.includes(`id: ${pub.stdout}\ndata: from curl\n\n`), 'the update on the curl stream');
  });

  test('the eventsource package (fetch with NODE_EXTRA_CA_CERTS) receives a typed update', async (t) => {
    const { hub, tunnel } = await startTlsHub(t);
    const topic = `https://example.com/tls/es/${randomUUID()}`;
    const script = `
      const { EventSource } = await import(process.argv[1]);
      const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
      const es = new EventSource(process.argv[2]);
      es.addEventListener('open', () => out({ type: 'open' }));
      es.addEventListener('error', (e) => out({ type: 'error', message: e.message }));
      es.addEventListener('book', (e) => out({ type: e.type, data: e.data, id: e.lastEventId }));`;
    const url = `${hub.hubUrl}?topic=${encodeURIComponent(topic)}`;
    const child = watched(process.execPath, ['--input-type=module', '-e', script, import.meta.resolve('eventsource'), url], {
      env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: certs.ec.cert },
    });
    await child.waitFor((out) => out.includes('"open"') || out.includes('"error"'), 'the EventSource to open');
    assert.ok(!child.out.includes('"error"'), child.out + child.err);
    const id = await publishOk(tunnel, { topic, type: 'book', data: 'Dune\nHerbert' }, { token });
    await child.waitFor((out) => out.includes('"book"'), 'the update');
    const ev = JSON.parse(child.out.split('\n').find((l) => l.includes('"book"')));
    assert.deepEqual(ev, { type: 'book', data: 'Dune\nHerbert', id });
  });
});
