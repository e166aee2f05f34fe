// What the protocol costs the hub: the same fan-out to subscribers over HTTP/1.1 (one
// connection each) and over HTTP/2 (STREAMS event streams per connection), in clear text (h2c,
// prior knowledge) and over TLS (CERT_FILE, a fresh P-256 certificate; ALPN h2 or http/1.1),
// in one run. One worker pinned to core 0, these clients on core 1. Reports the hub's RSS per
// idle subscriber, its CPU per new subscriber (connection, handshake, request, registration:
// utime + stime from /proc over the connect phase) and its CPU per delivery (over the
// deliveries), with each mode's ratios to HTTP/1.1 in clear text.
//
// Usage: node bench/protocol_cost.mjs [build/release/mercure-hub] [subscribers=1000] [events=200]
//        [data_bytes=100]    (RATE=events/s, default 20; STREAMS per h2 connection, default 100;
//        MODES, default "h1 h2c h1-tls h2-tls")
// Events are published at a fixed rate low enough for every mode to keep up, so each event is
// one write per connection (HTTP/1.1: per subscriber; HTTP/2: per connection, its streams' frames
// together). Every subscriber must receive every event (checked: the run fails otherwise).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import http2 from 'node:http2';

const bin = process.argv[2] || 'build/release/mercure-hub';
const N = Number(process.argv[3] || 1000);
const EVENTS = Number(process.argv[4] || 200);
const DATA = 'x'.repeat(Number(process.argv[5] || 100));
const RATE = Number(process.env.RATE || 20);
const STREAMS = Number(process.env.STREAMS || 100);
const MODES = (process.env.MODES || 'h1 h2c h1-tls h2-tls').split(/\s+/).filter(Boolean);
const KEY = '!ChangeThisMercureHubJWTSecretKey!';
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const dir = mkdtempSync(join(tmpdir(), 'mercure-protocol-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1',
  '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
const ca = readFileSync(join(dir, 'cert.pem'));
const token = execFileSync(bin, ['token', '--key', KEY, '--publish', '*']).toString().trim();
try {
  execFileSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
} catch {
  // not pinned: the figures are noisier
}

const deadline = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);
const procStat = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
const cpuUs = (pid) => {
  const f = procStat(pid);
  return (Number(f[11]) + Number(f[12])) * TICK_US;  // utime, stime
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

async function startHub(secure) {
  const env = { PATH: '/usr/bin:/bin', ADDR: '127.0.0.1:0', CADDY_ADMIN: 'off', JWT_KEY: KEY, ALLOW_ANONYMOUS: '1', TRANSPORT_URL: 'local://',
    HEARTBEAT_INTERVAL: '0s', PROTOCOLS: 'h1 h2 h2c',
    ...(secure ? { CERT_FILE: join(dir, 'cert.pem'), KEY_FILE: join(dir, 'key.pem') } : {}) };
  const hub = spawn('taskset', ['-c', '0', bin, '--workers', '1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await deadline(new Promise((resolve, reject) => {
    hub.stderr.on('data', (d) => {
      log += d;
      const m = /listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    hub.once('exit', (code) => reject(new Error(`hub exited (${code}): ${log}`)));
  }), 10_000, 'hub start');
  return { hub, port };
}

// Counts "id: " lines of one subscriber's bytes (a line may be split across chunks).
function counter(counts, i) {
  let tail = '';
  return (d) => {
    const text = tail + d;
    counts[i] += text.split('\nid: ').length - 1;
    tail = text.slice(-5);
  };
}

// HTTP/1.1: one connection per subscriber.
function subscribeH1(port, secure, counts, i) {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port };
    const socket = secure ? tls.connect({ ...opts, ca, ALPNProtocols: ['http/1.1'] }) : net.connect(opts);
    socket.once(secure ? 'secureConnect' : 'connect', () =>
      socket.write('GET /.well-known/mercure?topic=/bench HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    socket.setEncoding('latin1');
    const count = counter(counts, i);
    let headed = false;
    socket.on('data', (d) => {
      if (!headed) {
        headed = true;
        resolve(socket);
      }
      count(d);
    });
    socket.once('error', reject);
  });
}

// HTTP/2: `n` streams on one connection.
async function subscribeH2(port, secure, counts, first, n) {
  const session = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, secure ? { ca } : {});
  await new Promise((resolve, reject) => {
    session.once('remoteSettings', resolve);
    session.once('error', reject);
  });
  const streams = [];
  for (let i = first; i < first + n; i++) {
    streams.push(new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/.well-known/mercure?topic=/bench' });
      req.setEncoding('latin1');
      const count = counter(counts, i);
      let headed = false;
      req.on('data', (d) => {
        if (!headed) {
          headed = true;
          resolve();
        }
        count(d);
      });
      req.once('error', reject);
    }));
  }
  await Promise.all(streams);
  return session;
}

async function run(mode) {
  const secure = mode.endsWith('-tls');
  const h2 = mode.startsWith('h2');
  const { hub, port } = await startHub(secure);
  const rss0 = rssKiB(hub.pid);
  const connectCpu0 = cpuUs(hub.pid);
  const counts = new Array(N).fill(0);
  const closers = [];
  if (h2) {
    for (let i = 0; i < N; i += STREAMS * 10) {
      const batch = [];
      for (let k = i; k < Math.min(N, i + STREAMS * 10); k += STREAMS) {
        batch.push(subscribeH2(port, secure, counts, k, Math.min(STREAMS, N - k)));
      }
      for (const s of await deadline(Promise.all(batch), 30_000, 'h2 subscribers')) closers.push(() => s.destroy());
    }
  } else {
    for (let i = 0; i < N; i += 100) {
      const batch = [];
      for (let k = i; k < Math.min(N, i + 100); k++) batch.push(subscribeH1(port, secure, counts, k));
      for (const s of await deadline(Promise.all(batch), 30_000, 'subscribers')) closers.push(() => s.destroy());
    }
  }
  const connectUs = (cpuUs(hub.pid) - connectCpu0) / N;
  await new Promise((r) => setTimeout(r, 1500));  // the hub trims memory once a burst of connections is quiet
  const rss1 = rssKiB(hub.pid);

  // Publishing over HTTP/1.1 keep-alive in every mode (in clear: the TLS hub also takes h1 over TLS).
  const publisher = secure ? await import('node:https') : http;
  const agent = new publisher.Agent({ keepAlive: true, maxSockets: 1, ca });
  const publish = () =>
    new Promise((resolve, reject) => {
      const body = `topic=/bench&data=${DATA}`;
      const req = publisher.request({ host: '127.0.0.1', port, method: 'POST', path: '/.well-known/mercure', agent,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`publish: ${res.statusCode}`))));
      });
      req.once('error', reject);
      req.end(body);
    });
  const cpu0 = cpuUs(hub.pid);
  const t0 = process.hrtime.bigint();
  for (let e = 0; e < EVENTS; e++) {
    const due = t0 + BigInt(Math.round((e * 1e9) / RATE));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await publish();
  }
  await deadline(new Promise((resolve) => {
    const check = () => (counts.every((c) => c >= EVENTS) ? resolve() : setTimeout(check, 5));
    check();
  }), 60_000, `every subscriber's ${EVENTS} events (${counts.filter((c) => c >= EVENTS).length}/${N} done)`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuUs(hub.pid) - cpu0;
  const delivered = counts.reduce((a, b) => a + b, 0);
  if (delivered !== N * EVENTS) throw new Error(`${mode}: delivered ${delivered}, expected ${N * EVENTS}`);
  agent.destroy();
  closers.forEach((c) => c());
  hub.kill('SIGTERM');
  await new Promise((r) => hub.once('exit', r));
  return { mode, rssPerSub: ((rss1 - rss0) * 1024) / N, connectUs, usPerDelivery: cpu / delivered, delivered, seconds };
}

const rows = [];
for (const mode of MODES) rows.push(await run(mode));
console.log(`# ${N} idle subscribers (HTTP/2: ${STREAMS} streams per connection) then ${EVENTS} events of ${DATA.length} bytes to all at ${RATE}/s; hub: 1 worker on core 0; ${new Date().toISOString()}`);
console.log('mode     subscribers  delivered  rss_per_subscriber_B  hub_cpu_us_per_connect  hub_cpu_us_per_delivery   seconds  ratios_to_h1(mem connect delivery)');
const base = rows.find((b) => b.mode === 'h1');
for (const r of rows) {
  const ratio = (k) => (r[k] / base[k]).toFixed(2);
  const ratios = base && base !== r ? `${ratio('rssPerSub')} ${ratio('connectUs')} ${ratio('usPerDelivery')}` : '';
  console.log(`${r.mode.padEnd(8)} ${String(N).padStart(11)} ${String(r.delivered).padStart(10)} ${r.rssPerSub.toFixed(0).padStart(21)} ${r.connectUs.toFixed(0).padStart(23)} ${r.usPerDelivery.toFixed(2).padStart(24)} ${r.seconds.toFixed(2).padStart(9)}  ${ratios}`);
}
