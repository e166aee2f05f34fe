// The test watchdog (tests/lib/watchdog.mjs): a test file blocked outside every deadline is ended
// with a report naming the test and the processes it started, which do not outlive it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withDeadline } from '../lib/http.mjs';

const FIXTURE = fileURLToPath(new URL('../data/watchdog/hang.mjs', import.meta.url));

/** Whether `pid` still runs (a killed process not yet reaped by its new parent does not). */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}

test('a blocked test file is ended by the watchdog, with a report, and its hub does not outlive it', async () => {
  // The fixture runs as a test file of its own (not a subtest of this one: no NODE_TEST_CONTEXT).
  const env = { ...process.env, MERCURE_TEST_WATCHDOG_S: '3' };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--test', FIXTURE], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const code = await withDeadline(
    new Promise((resolve) => child.once('exit', (c) => resolve(c))),
    30_000,
    'the blocked test file to be ended by its watchdog',
    () => output,
  );
  assert.notEqual(code, 0, output);
  assert.match(output, /watchdog: this test file has run 3 s \(limit 3 s\)/, output);
  assert.match(output, /test under way for [\d.]+ s: waits forever on a hub/, output);
  assert.match(output, /child pid \d+ alive for [\d.]+ s: hub .*mercure-hub/, output);
  const pid = Number(/child pid (\d+)/.exec(output)[1]);
  // SIGKILLed by the file's exit handler: gone within moments.
  const deadline = Date.now() + 5_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(pid), false, `the hub (pid ${pid}) outlived its test file`);
});
