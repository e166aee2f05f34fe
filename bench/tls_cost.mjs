// What serving TLS costs the hub: the same fan-out against a plain hub and a TLS hub (CERT_FILE,
// a fresh P-256 certificate), one worker pinned to core 0, these clients on core 1. Reports the
// hub's RSS per idle subscriber, its CPU per new subscriber (connection, handshake, request,
// registration: utime + stime from /proc over the connect phase, 100 connections at a time) and
// its CPU per delivery (over the deliveries), with the ratio TLS / plain.
//
// Usage: node bench/tls_cost.mjs [build/release/mercure-hub] [subscribers=1000] [events=200]
//        [data_bytes=100]    (RATE=events/s, default 20)
// Events are published at a fixed rate low enough for both hubs and these clients to keep up,
// so each event is one write per subscriber in both runs (a client that falls behind lets the
// hub coalesce events into fewer writes, which would flatter the slower run). Every subscriber
// must receive every event (checked: the run fails otherwise).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import https from 'node:https';

const bin = process.argv[2] || 'build/release/mercure-hub';
const N = Number(process.argv[3] || 1000);
const EVENTS = Number(process.argv[4] || 200);
const DATA = 'x'.repeat(Number(process.argv[5] || 100));
const RATE = Number(process.env.RATE || 20);
const KEY = '!ChangeThisMercureHubJWTSecretKey!';
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

const dir = mkdtempSync(join(tmpdir(), 'mercure-tls-bench-'));
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

async function startHub(secure) {
  const env = { PATH: '/usr/bin:/bin', ADDR: '127.0.0.1:0', JWT_KEY: KEY, ALLOW_ANONYMOUS: '1', TRANSPORT_URL: 'local://',
    HEARTBEAT_INTERVAL: '0s', ...(secure ? { CERT_FILE: join(dir, 'cert.pem'), KEY_FILE: join(dir, 'key.pem') } : {}) };
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

const procStat = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
const cpuUs = (pid) => {
  const f = procStat(pid);
  return (Number(f[11]) + Number(f[12])) * TICK_US;  // utime, stime
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// One subscriber: counts "id: " lines (a line may be split across reads).
function subscribe(port, secure, counts, i) {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port };
    const socket = secure ? tls.connect({ ...opts, ca }) : net.connect(opts);
    const req = `GET /.well-known/mercure?topic=/bench HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(req));
    let tail = '';
    let headed = false;
    socket.setEncoding('latin1');
    socket.on('data', (d) => {
      const text = tail + d;
      if (!headed && text.includes('\r\n\r\n')) {
        headed = true;
        resolve(socket);
      }
      counts[i] += text.split('\nid: ').length - 1;
      tail = text.slice(-5);
    });
    socket.once('error', reject);
  });
}

async function run(secure) {
  const { hub, port } = await startHub(secure);
  const rss0 = rssKiB(hub.pid);
  const connectCpu0 = cpuUs(hub.pid);
  const counts = new Array(N).fill(0);
  const sockets = [];
  for (let i = 0; i < N; i += 100) {
    const batch = [];
    for (let k = i; k < Math.min(N, i + 100); k++) batch.push(subscribe(port, secure, counts, k));
    sockets.push(...(await deadline(Promise.all(batch), 30_000, 'subscribers connecting')));
  }
  const connectUs = (cpuUs(hub.pid) - connectCpu0) / N;
  await new Promise((r) => setTimeout(r, 1500));  // the hub trims memory once a burst of connections is quiet
  const rss1 = rssKiB(hub.pid);

  const agent = new (secure ? https : http).Agent({ keepAlive: true, maxSockets: 1, ca });
  const publish = () =>
    new Promise((resolve, reject) => {
      const body = `topic=/bench&data=${DATA}`;
      const req = (secure ? https : http).request({ host: '127.0.0.1', port, method: 'POST', path: '/.well-known/mercure', agent,
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
  if (delivered !== N * EVENTS) throw new Error(`delivered ${delivered}, expected ${N * EVENTS}`);
  agent.destroy();
  sockets.forEach((s) => s.destroy());
  hub.kill('SIGTERM');
  await new Promise((r) => hub.once('exit', r));
  return { mode: secure ? 'tls' : 'plain', rssPerSub: ((rss1 - rss0) * 1024) / N, usPerDelivery: cpu / delivered, connectUs, delivered, seconds };
}

const rows = [];
for (const secure of [false, true]) rows.push(await run(secure));
console.log(`# ${N} idle subscribers then ${EVENTS} events of ${DATA.length} bytes to all at ${RATE}/s; hub: 1 worker on core 0; ${new Date().toISOString()}`);
console.log('mode     subscribers  delivered  rss_per_subscriber_B  hub_cpu_us_per_connect  hub_cpu_us_per_delivery   seconds');
for (const r of rows) {
  console.log(`${r.mode.padEnd(8)} ${String(N).padStart(11)} ${String(r.delivered).padStart(10)} ${r.rssPerSub.toFixed(0).padStart(21)} ${r.connectUs.toFixed(0).padStart(23)} ${r.usPerDelivery.toFixed(2).padStart(24)} ${r.seconds.toFixed(2).padStart(9)}`);
}
const ratio = (k) => (rows[1][k] / rows[0][k]).toFixed(2);
console.log(`ratio tls/plain: memory ${ratio('rssPerSub')}, cpu per connection ${ratio('connectUs')}, cpu per delivery ${ratio('usPerDelivery')}`);
