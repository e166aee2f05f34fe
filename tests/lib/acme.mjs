// A local ACME CA for the automatic HTTPS tests: Debian's pebble (RFC 8555 test server, installed
// by scripts/install-deps) with pebble-challtestsrv as its DNS server, answering 127.0.0.1 for
// every name, so that pebble's TLS-ALPN-01 validator connects to 127.0.0.1:<tlsPort> (the hub),
// sending SNI = the domain and ALPN acme-tls/1. Every listener is on a free loopback port; both
// processes are killed, and their temp dir removed, by stop() or when the test process exits.

import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { withDeadline } from './http.mjs';
import { freePort } from './hub.mjs';
import { makeTempDir } from './store.mjs';

const live = new Set(); // { kill() } of every running pebble pair
process.on('exit', () => {
  for (const p of live) p.kill();
});

/** A port free a moment ago on 127.0.0.1 for both TCP and UDP (a DNS server listens on both). */
async function freeTcpUdpPort(exclude) {
  for (let i = 0; i < 20; i++) {
    const [port] = await freePorts(1, exclude);
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise((resolve) => (ok ? udp.close(resolve) : resolve()));
    if (ok) return port;
  }
  throw new Error('no port free for both TCP and UDP on 127.0.0.1');
}

/** `n` distinct ports free a moment ago on 127.0.0.1, none of them in `exclude`. */
async function freePorts(n, exclude) {
  const ports = new Set();
  while (ports.size < n) {
    const p = await freePort();
    if (!exclude.includes(p)) ports.add(p);
  }
  return [...ports];
}

/** GET over HTTPS trusting `ca` (PEM text): {status, headers, text}. */
export function httpsGet(url, ca, timeoutMs = 5_000) {
  let req;
  const p = new Promise((resolve, reject) => {
    req = https.get(url, { ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return withDeadline(p, timeoutMs, `GET ${url}`).finally(() => req.destroy());
}

/** Retries `attempt` (resolving truthy when done) every 50 ms until `deadline`; throws `what` with the last error. */
async function pollUntil(attempt, { timeoutMs, what, failed = () => null, details = () => '' }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    const failure = failed();
    if (failure) throw new Error(`${what}: ${failure}\n${details()}`);
    try {
      const v = await attempt();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last.message})` : ''}\n${details()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Spawns `file` (output appended to `log[name]`); unref'd: the exit hook kills it, and the kernel
 * does if this process is killed without running it (setpriv --pdeathsig).
 */
function spawnLogged(file, args, env, log, name) {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', file, ...args], { env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.exitInfo = null;
  child.once('exit', (code, signal) => (child.exitInfo = { code, signal }));
  child.once('error', (e) => (child.exitInfo = { error: e.message }));
  for (const s of [child.stdout, child.stderr]) {
    s.setEncoding('utf8').on('data', (d) => (log[name] += d));
    s.unref();
  }
  child.unref();
  return child;
}

async function killChild(child) {
  if (!child || child.exitInfo || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.ref(); // an unref'd child's exit would not keep the event loop alive while awaited
  child.kill('SIGKILL');
  await gone;
}

/**
 * Starts pebble (ACME directory on a free loopback port, validating TLS-ALPN-01 on 127.0.0.1:
 * `tlsPort` and HTTP-01 on 127.0.0.1:`httpPort`, a free port unless given) and its DNS server. `nonceReject`: the percentage of good nonces pebble rejects as
 * badNonce; `validitySeconds`: the lifetime of issued certificates (pebble's default: 5 years). Resolves once GET /dir answers with {directoryUrl, caRootFile (PEM of pebble's HTTPS
 * API), httpPort, managementUrl, issuerRoot(), intermediates() (PEM of the CA that signs issued
 * certificates), dnsServer, output() (both processes' output), stop()}.
 */
export async function startPebble({ tlsPort, httpPort: givenHttpPort, nonceReject = 0, validitySeconds, timeoutMs = 15_000 } = {}) {
  if (!tlsPort) throw new Error('startPebble: tlsPort (the port of the hub) is required');
  const dir = makeTempDir('mercure-pebble-');
  const log = { pebble: '', 'pebble-challtestsrv': '' };
  let dns;
  let pebble;
  const handle = {
    kill() {
      dns?.kill('SIGKILL');
      pebble?.kill('SIGKILL');
      dir.remove();
    },
  };
  live.add(handle);
  const output = () => Object.entries(log).map(([name, text]) => `--- ${name} ---\n${text}`).join('\n');
  const stopAll = async () => {
    await Promise.all([killChild(dns), killChild(pebble)]);
  };
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=mercure-hub test pebble API',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
    const caRootFile = join(dir.path, 'cert.pem');
    const ca = readFileSync(caRootFile, 'utf8');

    let lastError;
    for (let attempt = 0; attempt < 5; attempt++) {
      await stopAll();
      for (const name of Object.keys(log)) log[name] = '';
      // Distinct, and never the hub's port (not bound yet: freePort could hand it out again).
      const dnsPort = await freeTcpUdpPort([tlsPort]);
      const [dnsMgmt, listen, mgmt, freeHttpPort] = await freePorts(4, [tlsPort, dnsPort, givenHttpPort ?? tlsPort]);
      const httpPort = givenHttpPort ?? freeHttpPort;
      // Every listener is given an address: an empty -management means Go's default, port 80.
      dns = spawnLogged('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '',
        '-tlsalpn01', '', '-management', `127.0.0.1:${dnsMgmt}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
        {}, log, 'pebble-challtestsrv');
      const configFile = join(dir.path, 'pebble-config.json');
      writeFileSync(configFile, JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${listen}`,
          managementListenAddress: `127.0.0.1:${mgmt}`,
          certificate: caRootFile,
          privateKey: join(dir.path, 'key.pem'),
          httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          ...(validitySeconds ? { certificateValidityPeriod: validitySeconds } : {}),
        },
      }, null, 2));
      pebble = spawnLogged('pebble', ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`, '-strict=false'], {
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: String(nonceReject),
        PEBBLE_AUTHZREUSE: '0',
      }, log, 'pebble');
      const failed = () => {
        // challtestsrv only logs a DNS bind failure and keeps running.
        if (/bind: address already in use/.test(log['pebble-challtestsrv'])) return 'a port was taken';
        for (const [name, child] of [['pebble-challtestsrv', dns], ['pebble', pebble]]) {
          if (child.exitInfo?.error) throw new Error(`cannot run ${name} (Debian's pebble, installed by scripts/install-deps): ${child.exitInfo.error}`);
          if (child.exitInfo) return `${name} exited: ${JSON.stringify(child.exitInfo)}`;
        }
        return null;
      };
      const directoryUrl = `https://127.0.0.1:${listen}/dir`;
      // Polled: pebble logs "Listening on" before it binds (and exits 1 if the port is taken).
      try {
        const resolver = new Resolver({ timeout: 500, tries: 1 });
        resolver.setServers([`127.0.0.1:${dnsPort}`]);
        await pollUntil(async () => (await resolver.resolve4('probe.mercure.test')).includes('127.0.0.1'), {
          timeoutMs, what: 'pebble-challtestsrv to answer DNS queries', failed, details: output,
        });
        await pollUntil(async () => {
          const res = await httpsGet(directoryUrl, ca, 1_000);
          return res.status === 200 && JSON.parse(res.text).newOrder;
        }, { timeoutMs, what: `pebble to answer GET ${directoryUrl}`, failed, details: output });
      } catch (e) {
        lastError = e;
        if (/a port was taken|exited/.test(e.message)) continue; // a race on a port: try others
        throw e;
      }
      const managementUrl = `https://127.0.0.1:${mgmt}`;
      const getPem = async (path) => {
        const res = await httpsGet(`${managementUrl}${path}`, ca);
        if (res.status !== 200) throw new Error(`GET ${managementUrl}${path}: ${res.status} ${res.text}`);
        return res.text;
      };
      return {
        directoryUrl,
        caRootFile,
        /** Where pebble's HTTP-01 validator connects (the hub's http_port). */
        httpPort,
        managementUrl,
        dnsServer: `127.0.0.1:${dnsPort}`,
        /** PEM of the root that (through the intermediate) signs the issued certificates. */
        issuerRoot: () => getPem('/roots/0'),
        /** PEM of the intermediate that signs the issued certificates. */
        intermediates: () => getPem('/intermediates/0'),
        output,
        async stop() {
          await stopAll();
          dir.remove();
          live.delete(handle);
        },
      };
    }
    throw lastError;
  } catch (e) {
    await stopAll();
    dir.remove();
    live.delete(handle);
    throw e;
  }
}
