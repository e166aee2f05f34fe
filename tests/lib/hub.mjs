// Starts the real hub binary on an ephemeral port and guarantees it never outlives the test
// process. Contract: the hub logs `listening on http://127.0.0.1:<port>` to stderr when ready
// (`https://` when it serves TLS: CERT_FILE and KEY_FILE), and exits with status 0 shortly after
// SIGTERM.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { withDeadline } from './http.mjs';
import { watchChild } from './watchdog.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HUB_BIN =
  process.env.MERCURE_HUB_BIN || fileURLToPath(new URL('../../build/release/mercure-hub', import.meta.url));
export const ARTIFACTS_DIR = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** The development key everyone copies from the docs; HS256 for both roles by default. */
export const JWT_SECRET = '!ChangeThisMercureHubJWTSecretKey!';

const READY_RE = /listening on ((https?):\/\/127\.0\.0\.1:(\d+))/;
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

// Sanitizer builds (ctest --preset asan-ubsan / tsan): the options set by the test preset reach
// every hub, and a sanitizer report on a hub's stderr fails the test run (see sanitizerReport).
const SANITIZER_ENV = ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'TSAN_OPTIONS', 'LSAN_OPTIONS'];
const SANITIZER_RE = /^(?:==\d+==)?(?:ERROR|WARNING|SUMMARY): \w*Sanitizer|: runtime error: /m;

/** The sanitizer options of the test process, to be merged into a hub's environment. */
export function sanitizerEnv() {
  const env = {};
  for (const k of SANITIZER_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

/** The sanitizer report in a hub's output (from its first line), or null. */
export function sanitizerReport(output) {
  const m = SANITIZER_RE.exec(output.replace(ANSI_RE, ''));
  if (!m) return null;
  const start = output.lastIndexOf('\n', m.index) + 1;
  return output.slice(start, start + 8000);
}

/**
 * Called with the whole stderr of every hub once it is closed: a sanitizer report is printed and
 * makes this test process exit non-zero (the test runner then fails the file), whoever stopped
 * the hub and however (stop() also throws it).
 */
export function watchSanitizerReport(stderr, command) {
  const report = sanitizerReport(stderr);
  if (!report) return null;
  process.exitCode = 1;
  process.stderr.write(`\n# sanitizer report from ${command}:\n${report}\n`);
  return report;
}

const liveHubs = new Set();

function killAllHubs() {
  for (const child of liveHubs) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  liveHubs.clear();
}

// Whatever ends this test process, no hub survives it.
process.on('exit', killAllHubs);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
]) {
  process.once(signal, () => {
    killAllHubs();
    process.exit(code);
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a hub. `env` is merged over the defaults (a key set to `undefined` or `null` removes
 * a default); the child gets no other environment than PATH. `cwd`: the hub's working
 * directory (default: the test process's). Resolves once the readiness line
 * was logged, rejects (with the captured output) if the hub exits first or takes too long.
 */
export async function startHub({ env = {}, args = [], workers, readyTimeoutMs = 10_000, cwd, wrapper = [] } = {}) {
  if (!existsSync(HUB_BIN)) {
    throw new Error(`hub binary not found at ${HUB_BIN} (set MERCURE_HUB_BIN or build the release preset)`);
  }
  const childEnv = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    ADDR: '127.0.0.1:0',
    JWT_KEY: JWT_SECRET,
    TRANSPORT_URL: 'local://',
    // Caddy's admin endpoint defaults to localhost:2019, one port for every hub of a parallel
    // test run: off unless a test gives it a free port.
    CADDY_ADMIN: 'off',
    // No drain of the event streams on SIGTERM (a Redis hub's default): stop() ends them at once.
    GRACE_PERIOD: '0',
    ...sanitizerEnv(),
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || v === null) delete childEnv[k];
    else childEnv[k] = String(v);
  }
  const argv = [...args];
  if (workers !== undefined) argv.push('--workers', String(workers));

  // `wrapper`: a command that execs the hub (e.g. prlimit), so the pid is the hub's.
  const [file, ...fileArgs] = [...wrapper, HUB_BIN, ...argv];
  const child = spawn(file, fileArgs, { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  liveHubs.add(child);
  watchChild(child, `hub ${HUB_BIN} ${argv.join(' ')} (TRANSPORT_URL=${childEnv.TRANSPORT_URL})`);

  let stderr = '';
  let stdout = '';
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      liveHubs.delete(child);
      exitInfo = { code, signal, at: Date.now() };
      resolve(exitInfo);
    });
  });
  child.once('error', () => liveHubs.delete(child));
  // 'close': the process exited and its output was read to the end.
  let sanitizerFailure = null;
  const closed = new Promise((resolve) => {
    child.once('close', () => {
      sanitizerFailure = watchSanitizerReport(stderr, `${HUB_BIN} ${argv.join(' ')}`);
      resolve();
    });
  });

  const describeOutput = () =>
    `command: ${HUB_BIN} ${argv.join(' ')}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`;

  const ready = new Promise((resolve, reject) => {
    const check = (stream) => {
      const text = (stream === 'stderr' ? stderr : stdout).replace(ANSI_RE, '');
      const m = READY_RE.exec(text);
      if (m) resolve({ url: m[1], tls: m[2] === 'https', port: Number(m[3]), stream });
    };
    child.stderr.setEncoding('utf8');
    child.stdout.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      stderr += d;
      check('stderr');
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      check('stdout');
    });
    child.once('error', (e) => reject(new Error(`cannot spawn hub: ${e.message}\n${describeOutput()}`)));
    exited.then((info) =>
      reject(new Error(`hub exited before it was ready (code ${info.code}, signal ${info.signal})\n${describeOutput()}`)),
    );
  });

  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`hub not ready within ${readyTimeoutMs} ms\n${describeOutput()}`)),
      readyTimeoutMs,
    );
  });
  let readyInfo;
  try {
    readyInfo = await Promise.race([ready, timeout]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }

  const signalAndWait = async (signal, timeoutMs) => {
    if (exitInfo) return { ...exitInfo, timedOut: false, ms: 0 };
    const t0 = Date.now();
    child.kill(signal);
    let t;
    const res = await Promise.race([
      exited.then((i) => ({ ...i, timedOut: false })),
      new Promise((r) => {
        t = setTimeout(() => r(null), timeoutMs);
      }),
    ]);
    clearTimeout(t);
    if (res) return { ...res, ms: res.at - t0 };
    child.kill('SIGKILL');
    const i = await exited;
    return { ...i, timedOut: true, ms: Date.now() - t0 };
  };

  const hub = {
    url: readyInfo.url,
    port: readyInfo.port,
    host: '127.0.0.1',
    /** True when the main listener serves HTTPS (then url, origin and hubUrl are https://). */
    tls: readyInfo.tls,
    origin: readyInfo.url,
    hubUrl: `${readyInfo.url}/.well-known/mercure`,
    /** Which stream carried the readiness line ('stderr' per contract). */
    readyStream: readyInfo.stream,
    pid: child.pid,
    process: child,
    exited,
    env: childEnv,
    args: argv,
    stderr: () => stderr,
    stdout: () => stdout,
    output: describeOutput,
    exitInfo: () => exitInfo,
    /** The sanitizer report on the hub's stderr once it is closed, or null. */
    sanitizerReport: () => sanitizerFailure,
    /**
     * SIGTERM, then SIGKILL after `timeoutMs`. Resolves to {code, signal, timedOut, ms} once the
     * hub's output is read to the end; throws when the hub printed a sanitizer report or exited
     * with a non-zero status (a sanitizer's `exitcode`, or a failed shutdown).
     */
    async stop({ signal = 'SIGTERM', timeoutMs = 5_000 } = {}) {
      const res = await signalAndWait(signal, timeoutMs);
      await closed;
      if (sanitizerFailure) throw new Error(`the hub printed a sanitizer report:\n${sanitizerFailure}`);
      if (res.code !== null && res.code !== 0) {
        throw new Error(`the hub exited with status ${res.code}: ${JSON.stringify(res)}\n${describeOutput()}`);
      }
      return res;
    },
    kill() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
    /**
     * Resolves once the hub's stderr (what it wrote so far included) matches `re`; rejects after
     * `timeoutMs` or when the hub exits first, with its output.
     */
    waitForLog(re, timeoutMs = 5_000) {
      let check;
      const found = new Promise((resolve, reject) => {
        check = () => re.test(stderr) && resolve();
        child.stderr.on('data', check); // after this module's own listener: stderr has the chunk
        exited.then(() => (re.test(stderr) ? resolve() : reject(new Error(`the hub exited before logging ${re}`))));
        check();
      });
      return withDeadline(found, timeoutMs, `the hub to log ${re}`, describeOutput).finally(() => child.stderr.off('data', check));
    },
  };
  return hub;
}

/**
 * Registers before/after hooks in the current suite (or file) that start one hub and always
 * stop it. Returns an object filled in once the hub is ready: use its properties inside tests.
 */
export function useHub(options = {}) {
  const fixture = {};
  before(async () => {
    Object.assign(fixture, await startHub(options));
  });
  after(async () => {
    if (fixture.stop) await fixture.stop();
  });
  return fixture;
}
