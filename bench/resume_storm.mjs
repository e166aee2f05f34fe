// A reconnection storm against a distant Redis: what it costs the subscribers that are not
// resuming. For each hub binary, in turn: a fresh redis-server behind a proxy that holds every
// chunk DELAY ms each way (a round trip of 2 x DELAY), a hub with 2 workers on it, HISTORY
// updates stored; then LIVE subscribers receive an update every 50 ms (the publish time in its
// data) while RESUMES subscribers resume at once from BACK events before the end. Prints the
// time until every resume had its BACK events, and the live updates' latency (publish sent to
// event received) before and during the storm, p50/p99/max. Every delivery is checked.
//   node bench/resume_storm.mjs [hub binary...]   (env: DELAY=20 HISTORY=1500 BACK=1000 RESUMES=40 LIVE=20)

import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { startDelayProxy, startRedis, removeRedis } from '../tests/lib/redis.mjs';

const DELAY = Number(process.env.DELAY ?? 20);
const HISTORY = Number(process.env.HISTORY ?? 1500);
const BACK = Number(process.env.BACK ?? 1000);
const RESUMES = Number(process.env.RESUMES ?? 40);
const LIVE = Number(process.env.LIVE ?? 20);
const KEY = '!ChangeThisMercureHubJWTSecretKey!';
const bins = process.argv.length > 2 ? process.argv.slice(2) : ['build/release/mercure-hub'];

function startHub(bin, url) {
  const child = spawn(bin, ['--workers', '2'], {
    env: { ...process.env, ADDR: '127.0.0.1:0', CADDY_ADMIN: 'off', GRACE_PERIOD: '0', JWT_KEY: KEY, ALLOW_ANONYMOUS: '1', TRANSPORT_URL: url },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub not ready: ${err}`)), 60_000);
    let ready = false;
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), log: () => err });
      }
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}): ${err}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function publish(port, token, fields) {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/.well-known/mercure', method: 'POST', agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// A raw event stream: calls onEvent(id, data, receivedAt) for each event.
function subscribe(port, topic, lastEventId, onEvent) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let text = '';
  socket.on('data', (d) => {
    const now = performance.now();
    text += d.toString('latin1');
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const id = /(?:^|\n)id: (.*)/.exec(block)?.[1];
      const data = /(?:^|\n)data: (.*)/.exec(block)?.[1];
      if (id !== undefined) onEvent(id, data, now);
    }
  });
  const resume = lastEventId ? `Last-Event-ID: ${lastEventId}\r\n` : '';
  socket.write(`GET /.well-known/mercure?topic=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: x\r\n${resume}\r\n`);
  return socket;
}

const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${pct(s, 50).toFixed(1)} / ${pct(s, 99).toFixed(1)} / ${s.at(-1)?.toFixed(1)} ms`;
};

async function run(bin) {
  const redis = await startRedis();
  const proxy = await startDelayProxy(redis.port, DELAY);
  const hub = await startHub(bin, `redis://127.0.0.1:${proxy.port}/0?stream=storm`);
  const token = execFileSync(bin, ['token', '--key', KEY, '--publish', '*']).toString().trim();
  const sockets = [];
  try {
    // Concurrent publishes are stored in any order: the id resumed from is published alone, so
    // exactly BACK events follow it.
    const publishRange = async (first, end) => {
      for (let i = first; i < end; i += 64) {
        const batch = Array.from({ length: Math.min(64, end - i) }, (_, k) => publish(hub.port, token, { topic: 'stored', id: `e${i + k}`, data: 'x'.repeat(100) }));
        await Promise.all(batch);
      }
    };
    const from = `e${HISTORY - BACK - 1}`;
    await publishRange(0, HISTORY - BACK - 1);
    await publish(hub.port, token, { topic: 'stored', id: from, data: 'x'.repeat(100) });
    await publishRange(HISTORY - BACK, HISTORY);

    const latencies = { before: [], during: [] };
    let phase = 'before';
    let expected = 0;
    let received = 0;
    for (let i = 0; i < LIVE; i++) {
      sockets.push(subscribe(hub.port, 'live', null, (_id, data, at) => {
        received++;
        latencies[phase].push(at - Number(data));
      }));
    }
    let live = true;
    const ticker = (async () => {
      while (live) {
        const sent = performance.now();
        expected += LIVE;
        await publish(hub.port, token, { topic: 'live', data: String(sent) });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500)); // the live streams' baseline

    phase = 'during';
    const t0 = performance.now();
    const done = await Promise.all(
      Array.from({ length: RESUMES }, () =>
        new Promise((resolve) => {
          let n = 0;
          const socket = subscribe(hub.port, 'stored', from, () => {
            if (++n === BACK) resolve(performance.now() - t0);
          });
          // A stream that ends (or stalls 60 s) before its replay counts as failed.
          const fail = () => resolve(n === BACK ? performance.now() - t0 : NaN);
          socket.on('close', fail);
          setTimeout(fail, 60_000).unref();
          sockets.push(socket);
        }),
      ),
    );
    latencies.after = [];
    phase = 'after';
    live = false;
    await ticker;
    const deadline = performance.now() + 5000;
    while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const missing = expected - received;
    const ok = done.filter((ms) => !Number.isNaN(ms));
    console.log(
      `${bin.padEnd(36)} storm ${(Math.max(...ok) / 1000).toFixed(2)} s (first ${(Math.min(...ok) / 1000).toFixed(2)} s)` +
        ` | live before ${summary(latencies.before)} | during ${summary(latencies.during)} | missing ${missing}` +
        (ok.length < done.length ? ` | ${done.length - ok.length} resumes FAILED (see the hub's log)` : ''),
    );
    if (ok.length < done.length) console.log(hub.log().split('\n').filter((l) => /disconnected|error|warn/i.test(l)).slice(0, 5).join('\n'));
  } finally {
    for (const s of sockets) s.destroy();
    hub.child.kill('SIGTERM');
    await new Promise((r) => hub.child.once('exit', r));
    await proxy.close();
    const keepAlive = setInterval(() => {}, 1000); // redis-server's child is unref'd: wait for its exit
    await removeRedis(redis);
    clearInterval(keepAlive);
  }
}

console.log(`Redis round trip ${2 * DELAY} ms, ${HISTORY} stored, ${RESUMES} resumes of ${BACK} events, ${LIVE} live subscribers; latency p50 / p99 / max`);
for (const bin of bins) await run(bin);
agent.destroy();
