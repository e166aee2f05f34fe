// The load generator of issue 6 (bench/sse_load.cpp, built as bench_sse_load beside the hub)
// tested against the real hub for a few seconds: its own checks (missing, duplicated, reordered
// and misrouted updates) must all come out zero, so a broken generator or a broken hub fails CI.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HUB_BIN, JWT_SECRET, startHub } from '../lib/hub.mjs';

const GEN = process.env.BENCH_SSE_LOAD_BIN || join(dirname(HUB_BIN), 'bench_sse_load');
const hubs = [];
after(() => Promise.all(hubs.map((h) => h.stop())));

function generate(args) {
  return new Promise((resolve) => {
    execFile(GEN, [...args, '--json'], { timeout: 60_000 }, (error, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      resolve({ code: error ? (error.code ?? 'killed') : 0, report: line ? JSON.parse(line) : null, stdout, stderr });
    });
  });
}

function assertClean({ code, report, stdout, stderr }, subscribers) {
  const why = `exit ${code}\n${stdout}\n${stderr}`;
  assert.ok(report, `no JSON report: ${why}`);
  assert.equal(report.connected, subscribers, why);
  assert.ok(report.published > 0 && report.expected > 0, why);
  assert.equal(report.delivered, report.expected, why);
  for (const k of ['missing', 'duplicated', 'reordered', 'wrong_topic', 'bad_payload', 'disconnects', 'post_errors']) {
    assert.equal(report[k], 0, `${k}: ${why}`);
  }
  assert.equal(code, 0, why);
}

test('bench_sse_load against the hub: 50 subscribers on two workers, two processes, nothing lost', { skip: !existsSync(GEN) && `${GEN} not built` }, async () => {
  const hub = await startHub({ workers: 2, env: { ALLOW_ANONYMOUS: '1' } });
  hubs.push(hub);
  const token = execFileSync(HUB_BIN, ['token', '--key', JWT_SECRET, '--publish', '*']).toString().trim();
  const common = ['--port', String(hub.port), '--token', token, '--server-pid', String(hub.pid), '--warmup', '0.3', '--duration', '2'];

  // Fan-out, open loop, over two generator processes and two source addresses.
  const fanout = await generate([...common, '--subscribers', '50', '--publishers', '2', '--rate', '200', '--procs', '2', '--src-addrs', '2']);
  assertClean(fanout, 50);
  assert.ok(fanout.report.rss_connected_kib > 0 && fanout.report.server_cpu_us > 0, 'server figures read from /proc');
  assert.ok(fanout.report.e2e_p50_us > 0 && fanout.report.e2e_max_us >= fanout.report.e2e_p99_us);

  // One topic per subscriber, closed-loop publishers to random topics.
  const topics = await generate([...common, '--subscribers', '50', '--topics', '50', '--pick', 'random', '--publishers', '4', '--rate', '0']);
  assertClean(topics, 50);

  // One broadcast to every idle subscriber.
  const broadcast = await generate([...common, '--subscribers', '50', '--messages', '1']);
  assertClean(broadcast, 50);
  assert.equal(broadcast.report.delivered, 50);
});
