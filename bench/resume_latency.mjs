// Time from sending a resuming subscribe request to receiving the first replayed event
// (the bytes of its `id:` line; the `:` comment sent with the headers does not count).
//   node bench/resume_latency.mjs --port P --topic T --last-event-id ID [--runs 20] [--expect-id NEXT]
//                                 [--count N]
// --count N: the time to the N-th replayed event instead (a whole replay).
// Prints p50/p99/max in milliseconds (and JSON with --json).

import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    topic: { type: 'string' },
    'last-event-id': { type: 'string' },
    'expect-id': { type: 'string' },
    runs: { type: 'string', default: '20' },
    count: { type: 'string', default: '1' },
    label: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
if (!o.port || !o.topic || !o['last-event-id']) {
  console.error('usage: resume_latency.mjs --port P --topic T --last-event-id ID [--runs N] [--expect-id NEXT]');
  process.exit(2);
}

function once() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: o.host, port: Number(o.port) }, () => {
      socket.setNoDelay(true);
      const path = `/.well-known/mercure?topic=${encodeURIComponent(o.topic)}`;
      const start = process.hrtime.bigint();
      let text = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`not replayed within 10 s (got ${JSON.stringify(text.slice(0, 300))})`));
      }, 10_000);
      const want = Number(o.count);
      let seen = 0;
      let tail = '';
      socket.on('data', (chunk) => {
        if (want > 1) {
          // Counts `id:` lines (across chunk boundaries) until the N-th.
          const part = tail + chunk.toString('latin1');
          for (let i = part.indexOf('\nid: '); i >= 0; i = part.indexOf('\nid: ', i + 1)) seen++;
          tail = part.slice(-4);
          if (seen < want) return;
          clearTimeout(timer);
          socket.destroy();
          resolve(Number(process.hrtime.bigint() - start) / 1e6);
          return;
        }
        text += chunk.toString('latin1');
        const at = text.search(/\nid: /);
        if (at < 0) return;
        const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
        clearTimeout(timer);
        const line = text.slice(at + 5).split('\n')[0];
        socket.destroy();
        if (o['expect-id'] && line !== o['expect-id'] && text.indexOf('\n', at + 5) >= 0) {
          reject(new Error(`first replayed id is ${line}, expected ${o['expect-id']}`));
        } else {
          resolve(elapsed);
        }
      });
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${o.host}\r\nLast-Event-ID: ${o['last-event-id']}\r\n\r\n`);
    });
    socket.on('error', reject);
  });
}

const times = [];
await once(); // warm the page cache and the connection path once, unmeasured
for (let i = 0; i < Number(o.runs); i++) times.push(await once());
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor(p * (times.length - 1)))];
const r = { label: o.label, runs: times.length, p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: times.at(-1) };
if (o.json) console.log(JSON.stringify(r));
else
  console.log(
    `${o.label || 'resume'}: ${Number(o.count) > 1 ? `${o.count} replayed events` : 'first replayed event'} after p50 ${r.p50_ms.toFixed(3)} ms, p99 ${r.p99_ms.toFixed(3)} ms, max ${r.max_ms.toFixed(3)} ms (${r.runs} runs)`,
  );
