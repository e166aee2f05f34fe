import net from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
// Interim measurement until the C++ load generator of issue 6 exists: opens N idle SSE
// subscribers (one topic each) on a one-worker hub and reports the RSS growth per subscriber.
// Usage: node bench/idle_memory.mjs build/release/mercure-hub 5000  (SETTLE_MS: wait before sampling; BATCH)
const bin = process.argv[2] || "build/release/mercure-hub";
const N = Number(process.argv[3] || 2000);
const hub = spawn(bin, ['--workers', '1'], { env: { ADDR: '127.0.0.1:0', CADDY_ADMIN: 'off', JWT_KEY: 'k', ALLOW_ANONYMOUS: '1', PATH: '/usr/bin', ...(process.env.HUB_DEBUG ? { DEBUG: '1' } : {}) }, stdio: ['ignore', 'ignore', 'pipe'] });
if (process.env.HUB_DEBUG) hub.stderr.on('data', (d) => { for (const l of String(d).split('\n')) if (/trimmed/.test(l)) console.log(l); });
const port = await new Promise((res) => { let e = ''; hub.stderr.on('data', (d) => { e += d; const m = /listening on http:\/\/127.0.0.1:(\d+)/.exec(e); if (m) res(Number(m[1])); }); });
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${hub.pid}/status`, 'utf8'))[1]);
const before = rss();
const socks = [];
let opened = 0;
await new Promise(async (done) => {
  for (let i = 0; i < N; i++) {
    // BATCH=n: connect n at a time (a pause between batches), so the figure is the streams' steady cost
    // rather than what a burst of simultaneous requests leaves in the allocator.
    if (process.env.BATCH && i % Number(process.env.BATCH) === 0) await new Promise((r) => setTimeout(r, 20));
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /.well-known/mercure?topic=/t/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
    s.once('data', () => { if (++opened === N) done(); });
    socks.push(s);
  }
});
await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS ?? 1500)));  // the hub trims memory once a burst is quiet
const after = rss();
console.log(`${N} idle subscribers: RSS ${before} KiB -> ${after} KiB, ${((after - before) * 1024 / N).toFixed(0)} bytes per subscriber`);
socks.forEach((s) => s.destroy());
await new Promise((r) => setTimeout(r, Number(process.env.SETTLE_MS ?? 1500) + 500));
console.log(`after they all left: RSS ${rss()} KiB`);
hub.kill('SIGTERM');
