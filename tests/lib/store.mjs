// Helpers for the durable-history tests: temporary LMDB stores, hubs started on them, hubs that
// are expected to refuse to start, keep-alive publishers that survive a hub crash, reading the
// whole history back, comparing long id sequences with short diagnostics, a seeded PRNG.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { before, after } from 'node:test';
import { HUB_BIN, JWT_SECRET, sanitizerEnv, startHub, watchSanitizerReport } from './hub.mjs';
import { Connection, DEFAULT_TIMEOUT_MS, HUB_PATH, formEncode, publishOk, subscribeOk, withDeadline } from './http.mjs';
import { publisherToken } from './tokens.mjs';
import { startRedis } from './redis.mjs';

/** A fresh empty directory under the system temp dir; removed by the returned function. */
export function makeTempDir(prefix = 'mercure-store-') {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A temp dir removed after the test `t` (a TestContext), even when the test fails. */
export function tempDir(t, prefix) {
  const d = makeTempDir(prefix);
  t.after(d.remove);
  return d.path;
}

/** `lmdb:///abs/dir?k=v...` for an absolute directory. */
export function lmdbUrl(dir, params = {}) {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
  return `lmdb://${dir}${qs ? `?${qs}` : ''}`;
}

// MERCURE_TEST_TRANSPORT=redis (ctest's integration-redis test) runs the history suites on the
// Redis transport: one redis-server for the test file, one stream per store directory;
// MERCURE_TEST_TRANSPORT=rediss (integration-rediss) the same over TLS (rediss://).
const REDIS_MODE = ['redis', 'rediss'].includes(process.env.MERCURE_TEST_TRANSPORT);
const REDIS_TLS = process.env.MERCURE_TEST_TRANSPORT === 'rediss';
let sharedRedis;

/**
 * Whether the store tells a replay where events after its cursor were trimmed: LMDB always;
 * Redis from version 7 (XINFO STREAM's max-deleted-entry-id).
 */
export function storeReportsTrimming() {
  if (!REDIS_MODE) return true;
  const m = /v=(\d+)\./.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }));
  return m !== null && Number(m[1]) >= 7;
}

/** The transport URL of the store named by `dir`: LMDB in it, or (Redis mode) a stream named after it. */
async function storeUrl(dir, params) {
  if (!REDIS_MODE) return lmdbUrl(dir, params);
  sharedRedis ??= startRedis({ tls: REDIS_TLS });
  const { map_size: _m, sync: _s, cleanup_frequency: _c, ...redisParams } = params;
  const server = await sharedRedis;
  return REDIS_TLS ? server.tlsUrl({ stream: basename(dir), ...redisParams }) : server.url({ stream: basename(dir), ...redisParams });
}

/**
 * Starts a hub on the LMDB store in `dir` (anonymous subscribers allowed unless `env` says
 * otherwise). `params`: query parameters of the transport URL (size, max_batch, ...).
 */
export async function startStoreHub(dir, { params = {}, env = {}, ...rest } = {}) {
  const url = await storeUrl(dir, params);
  return startHub({ ...rest, env: { ALLOW_ANONYMOUS: '1', TRANSPORT_URL: url, ...env } });
}

/**
 * Registers before/after hooks that create a temp store, start one hub on it, and always stop
 * the hub and remove the store. Returns a fixture filled in once ready (`.storeDir` included).
 */
export function useStoreHub(options = {}) {
  const fixture = {};
  let dir;
  before(async () => {
    dir = makeTempDir('mercure-history-');
    fixture.storeDir = dir.path;
    Object.assign(fixture, await startStoreHub(dir.path, options));
  });
  after(async () => {
    try {
      if (fixture.stop) await fixture.stop();
    } finally {
      dir?.remove();
    }
  });
  return fixture;
}

const READY_RE = /listening on https?:\/\/127\.0\.0\.1:\d+/;
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;
const exitWatch = new Set();
process.on('exit', () => {
  for (const c of exitWatch) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/**
 * Runs the hub expecting it NOT to start. Resolves with {code, signal, stderr, stdout, ready,
 * timedOut}: `ready` is true when it logged its readiness line instead (it is then killed).
 */
export function runHubUntilExit({ env = {}, args = [], cwd, timeoutMs = 10_000 } = {}) {
  // CADDY_ADMIN=off: no admin endpoint on localhost:2019 (tests give it a free port when they test it).
  const childEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', ADDR: '127.0.0.1:0', JWT_KEY: JWT_SECRET, CADDY_ADMIN: 'off', GRACE_PERIOD: '0', ...sanitizerEnv() };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || v === null) delete childEnv[k];
    else childEnv[k] = String(v);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(HUB_BIN, args, { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    exitWatch.add(child);
    let stderr = '';
    let stdout = '';
    let ready = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const check = () => {
      if (!ready && READY_RE.test((stderr + stdout).replace(ANSI_RE, ''))) {
        ready = true;
        child.kill('SIGKILL');
      }
    };
    child.stderr.setEncoding('utf8');
    child.stdout.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      stderr += d;
      check();
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      check();
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      exitWatch.delete(child);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      exitWatch.delete(child);
      watchSanitizerReport(stderr, `${HUB_BIN} ${args.join(' ')}`);
      resolve({ code, signal, stderr: stderr.replace(ANSI_RE, ''), stdout: stdout.replace(ANSI_RE, ''), ready, timedOut });
    });
  });
}

let cachedPubToken;
/** A publisher token for every topic (cached). */
export async function anyPublisherToken() {
  cachedPubToken ??= await publisherToken(['*']);
  return cachedPubToken;
}

/** Resolves once `res` (an SSE Response) received an event with this id; incremental scan. */
export function waitForId(res, id, opts = {}) {
  let i = 0;
  return res.waitFor(
    (r) => {
      for (; i < r.events.length; i++) if (r.events[i].id === id) return true;
      return false;
    },
    { what: `the event with id ${JSON.stringify(id)}`, ...opts },
  );
}

/** Events of `res` before the one with id `id` (all of them when it is absent). */
export function eventsBefore(res, id) {
  const i = res.events.findIndex((e) => e.id === id);
  return i < 0 ? [...res.events] : res.events.slice(0, i);
}

/**
 * Reads the history a subscriber with `selectors` can see from `lastEventId` (default
 * `earliest`): subscribes, publishes a marker on a fresh topic, collects until the marker.
 * Resolves with {events (marker excluded), header (the Last-Event-ID response header)}.
 */
export async function readHistory(hub, { selectors = ['*'], token, lastEventId = 'earliest', timeoutMs = 20_000 } = {}) {
  const markerTopic = `urn:history-end:${randomUUID()}`;
  const headers = lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId };
  const sub = await subscribeOk(hub, [...selectors, markerTopic], { token, headers });
  try {
    const markerId = await publishOk(hub, { topic: markerTopic, data: 'end' }, { token: await anyPublisherToken() });
    await waitForId(sub, markerId, { timeoutMs });
    return { events: eventsBefore(sub, markerId), header: sub.headers['last-event-id'], markerId };
  } finally {
    sub.close();
  }
}

/**
 * Sequential publishes over one keep-alive connection. `target`: a hub, or a function returning
 * the current hub (the connection is reopened when it changes or was closed). `publish`
 * resolves with {status, text, id} for a complete response, or {lost: true, reason} when no
 * response was received (the update may or may not have been stored).
 */
export class KeepAlivePublisher {
  constructor(target, { token, timeoutMs = DEFAULT_TIMEOUT_MS * 2 } = {}) {
    this.getTarget = typeof target === 'function' ? target : () => target;
    this.token = token;
    this.timeoutMs = timeoutMs;
    this.conn = null;
    this.connTarget = null;
    this.connections = 0;
  }

  async connection() {
    const target = this.getTarget();
    if (this.conn && (this.conn.closed || this.connTarget !== target)) this.drop();
    if (!this.conn) {
      this.conn = await Connection.open(target, { parseSse: false });
      this.connTarget = target;
      this.connections++;
    }
    return this.conn;
  }

  drop() {
    if (this.conn) this.conn.close();
    this.conn = null;
    this.connTarget = null;
  }

  async publish(fields) {
    const token = this.token ?? (await anyPublisherToken());
    let conn;
    try {
      conn = await this.connection();
    } catch (e) {
      this.drop();
      return { lost: true, sent: false, reason: `connect: ${e.message}` };
    }
    const res = conn.send({
      method: 'POST',
      path: HUB_PATH,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: formEncode(fields),
    });
    try {
      await withDeadline(res.endPromise, this.timeoutMs, 'a publish response');
    } catch (e) {
      this.drop();
      return { lost: true, sent: true, reason: e.message };
    }
    if (!res.head || res.endReason !== 'complete') {
      this.drop();
      return { lost: true, sent: true, reason: res.endReason };
    }
    if ((res.headers.connection || '').toLowerCase() === 'close') this.drop();
    const text = res.text;
    return { status: res.status, text, id: res.status === 200 ? text : undefined };
  }

  close() {
    this.drop();
  }
}

/**
 * Compares two id sequences; returns null when identical, else a short description (first
 * difference, lengths, missing, unexpected and duplicated ids) fit for an assertion message.
 */
export function sequenceDiff(actual, expected, { show = 8 } = {}) {
  if (actual.length === expected.length && actual.every((x, i) => x === expected[i])) return null;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  const exp = new Set(expected);
  const act = new Set(actual);
  const seen = new Set();
  const dups = [];
  for (const x of actual) {
    if (seen.has(x)) dups.push(x);
    seen.add(x);
  }
  const missing = expected.filter((x) => !act.has(x));
  const extra = actual.filter((x) => !exp.has(x));
  const list = (a) => `${a.length}${a.length ? `: ${JSON.stringify(a.slice(0, show))}${a.length > show ? '...' : ''}` : ''}`;
  return [
    `got ${actual.length} ids, expected ${expected.length}`,
    `first difference at index ${i}: got ${JSON.stringify(actual.slice(i, i + 3))}, expected ${JSON.stringify(expected.slice(i, i + 3))}`,
    `missing ${list(missing)}`,
    `unexpected ${list(extra)}`,
    `duplicated ${list(dups)}`,
    missing.length === 0 && extra.length === 0 && dups.length === 0 ? 'same ids, different order' : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Throws with a sequenceDiff message unless the sequences are identical. */
export function assertSameSequence(actual, expected, what = 'id sequence') {
  const d = sequenceDiff(actual, expected);
  if (d) throw new Error(`${what} differs:\n${d}`);
}

/** Duplicated values of an array (each listed once). */
export function duplicates(values) {
  const seen = new Set();
  const dups = new Set();
  for (const v of values) {
    if (seen.has(v)) dups.add(v);
    seen.add(v);
  }
  return [...dups];
}

/** mulberry32: a small seeded PRNG; returns a function giving floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `process.env[name]` when set, else a fresh one. */
export function seedFrom(name) {
  const v = process.env[name];
  if (v !== undefined && v !== '') return Number(v) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
