// A real redis-server for the cluster tests: started on a free loopback port in a temporary
// directory (nothing saved), a minimal RESP client to look inside it, and hub URLs that point at
// it. Every server is killed, and its directory removed, when the test process exits.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDeadline } from './http.mjs';
import { freePort } from './hub.mjs';
import { watchChild } from './watchdog.mjs';

const servers = new Set();
process.on('exit', () => {
  for (const s of servers) s.kill();
});

/** Encodes a command as a RESP array of bulk strings. */
function encodeCommand(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const b = Buffer.from(String(a));
    out += `$${b.length}\r\n${b.toString('latin1')}\r\n`;
  }
  return Buffer.from(out, 'latin1');
}

/** Parses one RESP reply at `pos`; returns [value, next] or null when incomplete. */
function parseReply(buf, pos = 0) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const head = buf.toString('latin1', pos + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[pos])) {
    case '+':
      return [head, next];
    case '-':
      return [new Error(head), next];
    case ':':
      return [Number(head), next];
    case '$': {
      const n = Number(head);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(head);
      if (n < 0) return [null, next];
      const items = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, at);
        if (!r) return null;
        items.push(r[0]);
        at = r[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`bad RESP reply: ${JSON.stringify(buf.toString('latin1', pos, pos + 40))}`);
  }
}

/** Sends one command to 127.0.0.1:port; resolves with its reply (an Error reply rejects). */
export function redisCommand(port, ...args) {
  return withDeadline(
    new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      sock.once('error', reject);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const r = parseReply(buf);
        if (!r) return;
        sock.destroy();
        if (r[0] instanceof Error) reject(r[0]);
        else resolve(r[0]);
      });
      sock.write(encodeCommand(args));
    }),
    5_000,
    `redis ${args[0]}`,
  );
}

/**
 * Makes, in `dir`, a test CA and two certificates it signs: the server's (127.0.0.1, localhost)
 * and a client's. Returns their paths.
 */
function makeRedisCerts(dir) {
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mercure-hub test redis CA');
  const leaf = (name, ext) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run('req', '-new', ...ec, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=mercure-hub test redis ${name}`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2',
      '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
  };
  return {
    ca: join(dir, 'ca.pem'),
    server: leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: leaf('client', 'extendedKeyUsage=clientAuth\n'),
  };
}

/**
 * Spawns redis-server on `port` and waits for its "Ready to accept connections" line. The
 * child and its pipes are unref'd: a test file's process exits when its tests end (the exit
 * hook kills the server).
 */
function spawnServer(port, dir, extraArgs, tls) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (tls) {
    args.push('--tls-port', String(tls.port), '--tls-cert-file', tls.certs.server.cert, '--tls-key-file',
      tls.certs.server.key, '--tls-ca-cert-file', tls.certs.ca, '--tls-auth-clients', tls.authClients);
  }
  const child = spawn('redis-server', [...args, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  watchChild(child, `redis-server on port ${port}`);
  let output = '';
  const ready = new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start redis-server (installed by scripts/install-deps): ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-400)}`)));
    const onData = (d) => {
      output += d;
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
  });
  child.unref();
  child.stdout.unref();
  child.stderr.unref();
  return { child, ready: withDeadline(ready, 10_000, 'redis-server start') };
}

/**
 * Starts a redis-server (extra command-line arguments in `args`, e.g. ['--requirepass', 'x']).
 * Resolves with { port, url(params), command(...args), stop(), start() }: stop() kills it (the
 * data is gone: nothing is saved), start() starts it again on the same port.
 * With `tls` ({ authClients: 'no' | 'optional' | 'yes' }, or true for 'no'), it also listens with
 * TLS on `tlsPort`, with certificates of a test CA (`certs`: { ca, server, client }, paths);
 * `tlsUrl(params)` is a rediss:// URL trusting that CA (`command` keeps the plain port).
 */
export async function startRedis({ args = [], tls = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mercure-redis-'));
  let current;
  const tlsSetup = tls ? { certs: makeRedisCerts(dir), authClients: tls === true ? 'no' : tls.authClients, port: 0 } : null;
  const server = {
    port: 0,
    certs: tlsSetup?.certs,
    get tlsPort() {
      return tlsSetup?.port;
    },
    url(params = {}, { auth = '' } = {}) {
      const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
      return `redis://${auth}127.0.0.1:${server.port}/0${qs ? `?${qs}` : ''}`;
    },
    tlsUrl(params = {}, { auth = '', host = '127.0.0.1' } = {}) {
      const all = { tls_ca_file: tlsSetup.certs.ca, ...params };
      const qs = new URLSearchParams(Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])).toString();
      return `rediss://${auth}${host}:${tlsSetup.port}/0${qs ? `?${qs}` : ''}`;
    },
    command: (...a) => redisCommand(server.port, ...a),
    async stop() {
      if (!current) return;
      const child = current;
      current = undefined;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        // The child does not hold the event loop: a test with nothing else open would end first.
        const holdLoop = setInterval(() => {}, 1_000);
        try {
          await gone;
        } finally {
          clearInterval(holdLoop);
        }
      }
    },
    async start() {
      const s = spawnServer(server.port, dir, args, tlsSetup);
      current = s.child;
      await s.ready;
    },
    /** Sends `sig` to the server (SIGSTOP, SIGCONT: a stalled Redis). */
    signal(sig) {
      current?.kill(sig);
    },
    kill() {
      current?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  servers.add(server);
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    server.port = await freePort();
    if (tlsSetup) tlsSetup.port = await freePort();
    try {
      await server.start();
      return server;
    } catch (e) {
      lastError = e; // the port was taken meanwhile: try another one
      await server.stop();
    }
  }
  throw lastError;
}

/** Stops a server started by startRedis and removes its directory. */
export async function removeRedis(server) {
  await server.stop();
  server.kill();
  servers.delete(server);
}

/**
 * A TCP proxy on 127.0.0.1 to `targetPort` that holds every chunk for `delayMs` in each
 * direction (order kept): a distant Redis, a round trip costing 2 x delayMs. Resolves with
 * { port, close() }.
 */
export function startDelayProxy(targetPort, delayMs) {
  const sockets = new Set();
  const delayed = (from, to) => {
    let chain = Promise.resolve();
    from.on('data', (d) => {
      const due = Date.now() + delayMs;
      chain = chain.then(() => new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())))).then(() => {
        if (!to.destroyed) to.write(d);
      });
    });
    from.on('end', () => chain.then(() => to.end()));
    from.on('error', () => to.destroy());
    from.on('close', () => chain.then(() => to.destroy()));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    delayed(client, upstream);
    delayed(upstream, client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close() {
          for (const s of sockets) s.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    );
  });
}

/**
 * A TCP proxy on 127.0.0.1 to `targetPort` that, once armed, holds the reply to the next command
 * whose bytes contain `pattern` (e.g. 'HGET'; or any of an array of them) until release(): a store read whose answer is
 * late. arm() resolves when a reply is being held. Resolves with { port, arm(), release(), close() }.
 */
export function startHoldingProxy(targetPort, pattern) {
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  const sockets = new Set();
  let armed = null; // { held: resolve } while armed
  let releaseHeld = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let gate = null; // a promise replies wait for
    client.on('data', (d) => {
      const text = armed ? d.toString('latin1') : '';
      if (armed && patterns.some((p) => text.includes(p))) {
        const { held } = armed;
        armed = null;
        gate = new Promise((resolve) => {
          releaseHeld = resolve;
        });
        held();
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!gate) return void client.write(d);
      upstream.pause();
      gate.then(() => {
        gate = null;
        if (!client.destroyed) client.write(d);
        upstream.resume();
      });
    });
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        arm: () => new Promise((held) => (armed = { held })),
        release: () => releaseHeld?.(),
        close() {
          releaseHeld?.();
          for (const s of sockets) s.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    );
  });
}

