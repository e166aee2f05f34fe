// A test file that stops making progress is ended with a report instead of holding its suite
// until ctest's timeout. Every wait in the tests has its own deadline, so a file still running
// after MERCURE_TEST_WATCHDOG_S seconds (default 300; the slowest file takes ~17 s, under a
// sanitizer) is blocked somewhere none of them covers. The report (on stderr, which Node's test
// runner shows as the file's diagnostics) names the tests under way, the processes this file
// started and still runs, and the handles keeping it alive; then the file exits with status 1,
// its children killed by their owners' 'exit' handlers. 0 turns the watchdog off (long runs such
// as scripts/crash-test-long). It runs only in the files of a `node --test` run (NODE_TEST_CONTEXT
// is set): a script importing the test library (bench/resume_storm.mjs) has no limit and no test
// hooks. Imported for its effect by tests/lib/hub.mjs.

import { beforeEach, afterEach } from 'node:test';

const startedAt = Date.now();
const running = new Map(); // test name -> start time (ms)
const children = new Map(); // ChildProcess -> description

/** Registers a child process to be listed by the report while it runs. */
export function watchChild(child, description) {
  children.set(child, { description, since: Date.now() });
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
}

/** The watchdog's report, as it would print it now. */
export function watchdogReport(limitS) {
  const now = Date.now();
  const lines = [`# watchdog: this test file has run ${((now - startedAt) / 1000).toFixed(0)} s (limit ${limitS} s)`];
  if (running.size === 0) lines.push('#   no test under way (blocked in a hook or after the last test)');
  for (const [name, t0] of running) lines.push(`#   test under way for ${((now - t0) / 1000).toFixed(1)} s: ${name}`);
  for (const [child, { description, since }] of children) {
    lines.push(`#   child pid ${child.pid} alive for ${((now - since) / 1000).toFixed(1)} s: ${description}`);
  }
  lines.push(`#   handles keeping the process alive: ${process.getActiveResourcesInfo().join(', ') || 'none'}`);
  return `${lines.join('\n')}\n`;
}

const limitS = Number(process.env.MERCURE_TEST_WATCHDOG_S ?? 300);
if (process.env.NODE_TEST_CONTEXT && Number.isFinite(limitS) && limitS > 0) {
  beforeEach((t) => {
    running.set(t.name, Date.now());
  });
  afterEach((t) => {
    running.delete(t.name);
  });
  setTimeout(() => {
    process.stderr.write(watchdogReport(limitS));
    process.exit(1);
  }, limitS * 1000).unref();
}
