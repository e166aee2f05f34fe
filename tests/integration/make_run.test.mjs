// `make run` prints a token and two curl commands; they must work exactly as printed.
// Runs scripts/run-dev (what `make run` execs) on a free loopback port and pastes its commands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, REPO_ROOT, freePort } from '../lib/hub.mjs';

// Resolves when `text()` satisfies `predicate`, re-checked on every `signal` event.
function waitFor(emitter, event, text, predicate, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got:\n${text()}`)), ms);
    const check = () => {
      if (predicate(text())) {
        clearTimeout(timer);
        emitter.off(event, check);
        resolve(text());
      }
    };
    emitter.on(event, check);
    check();
  });
}

test('the curl examples printed by make run work as printed', async (t) => {
  const port = await freePort();
  const children = [];
  t.after(() => children.forEach((c) => c.kill('SIGKILL')));

  // The history store goes to a temporary directory, not the repository's ./mercure.lmdb (a
  // developer's `make run` may hold that one).
  const store = mkdtempSync(join(tmpdir(), 'mercure-make-run-'));
  t.after(() => rmSync(store, { recursive: true, force: true }));
  const dev = spawn('bash', ['scripts/run-dev', HUB_BIN], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ADDR: `127.0.0.1:${port}`, TRANSPORT_URL: `lmdb://${store}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(dev);
  let out = '';
  const bus = new EventEmitter();
  for (const s of [dev.stdout, dev.stderr]) {
    s.on('data', (d) => {
      out += d;
      bus.emit('data');
    });
  }
  await waitFor(bus, 'data', () => out, (s) => /listening on/.test(s), 15_000, 'the hub to listen');

  const lines = out.split('\n').map((l) => l.trim());
  const subscribeCmd = lines.find((l) => l.startsWith('curl -N '));
  const publishCmd = lines.find((l) => l.startsWith('curl -d '));
  assert.ok(subscribeCmd, `no subscribe example in:\n${out}`);
  assert.ok(publishCmd, `no publish example in:\n${out}`);
  assert.match(out, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'a token is printed');

  const sub = spawn('sh', ['-c', subscribeCmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(sub);
  let got = '';
  sub.stdout.on('data', (d) => (got += d));
  await waitFor(sub.stdout, 'data', () => got, (s) => s.startsWith(':'), 5_000, 'the stream to open');

  const pub = spawn('sh', ['-c', publishCmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  let id = '';
  pub.stdout.on('data', (d) => (id += d));
  const code = await new Promise((resolve) => pub.on('exit', resolve));
  assert.equal(code, 0, 'the publish command succeeds');
  assert.match(id, /^urn:uuid:[0-9a-f-]{36}$/);

  const stream = await waitFor(sub.stdout, 'data', () => got, (s) => s.includes('data: {"title":"Hello"}'), 5_000,
    'the published update');
  assert.ok(stream.includes(`id: ${id}\n`), 'the event carries the id the publisher got');
});
