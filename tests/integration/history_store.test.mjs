// The LMDB store itself: the history cap and its bounded trimming, restarts (SIGTERM and
// SIGKILL) that keep history, ids and resume points, duplicate ids (409), the reserved id
// `earliest` (400), transport URL forms (default, bolt://, missing directory) and start-up
// errors (exit status 2 with a message naming the store path).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from '../lib/hub.mjs';
import { publish, publishOk, subscribeOk } from '../lib/http.mjs';
import {
  KeepAlivePublisher,
  anyPublisherToken,
  assertSameSequence,
  duplicates,
  lmdbUrl,
  readHistory,
  runHubUntilExit,
  startStoreHub,
  tempDir,
  waitForId,
} from '../lib/store.mjs';

/** Starts a store hub and registers its stop on `t`. */
async function hubOn(t, dir, opts) {
  const h = await startStoreHub(dir, opts);
  t.after(() => h.stop());
  return h;
}

/** Publishes `n` updates on `topic` from `concurrency` keep-alive publishers; returns the ids in ack order per publisher. */
async function publishConcurrently(hub, topic, n, { concurrency = 1, prefix = 'e', data = String } = {}) {
  const token = await anyPublisherToken();
  const pubs = Array.from({ length: concurrency }, () => new KeepAlivePublisher(hub, { token }));
  const acked = pubs.map(() => []);
  let next = 0;
  try {
    await Promise.all(
      pubs.map(async (pub, k) => {
        for (let i = next++; i < n; i = next++) {
          const r = await pub.publish({ topic, id: `${prefix}-${i}`, data: data(i) });
          if (r.status !== 200) throw new Error(`publish ${prefix}-${i}: ${JSON.stringify(r)}`);
          acked[k].push(r.id);
        }
      }),
    );
  } finally {
    pubs.forEach((p) => p.close());
  }
  return acked;
}

/** Stops a hub with `signal` (SIGTERM must exit 0) and returns the exit info. */
async function stopWith(hub, signal) {
  const exit = await hub.stop({ signal, timeoutMs: 8000 });
  if (signal === 'SIGTERM') {
    assert.equal(exit.timedOut, false, `no exit within 8 s of SIGTERM\n${hub.output()}`);
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${hub.output()}`);
  } else {
    assert.equal(exit.signal, signal);
  }
  return exit;
}

describe('history cap (size)', () => {
  test('size=50: the newest events are kept, older ones are evicted; an evicted resume id answers `earliest`', async (t) => {
    const dir = tempDir(t);
    const hub = await hubOn(t, dir, { params: { size: 50 } });
    const topic = `https://example.com/cap/${randomUUID()}`;
    const [ids] = await publishConcurrently(hub, topic, 200, { prefix: 'cap' });

    const { events, header } = await readHistory(hub, { selectors: [topic] });
    assert.equal(header, 'earliest');
    const kept = events.map((e) => e.id);
    // With sequential publishing every commit may delete accepted+1024 events, far more than
    // needed: the cap is enforced at each commit.
    assert.ok(kept.length >= 1 && kept.length <= 50, `kept ${kept.length} events with size=50`);
    assertSameSequence(kept, ids.slice(ids.length - kept.length), 'the kept events are the newest ones, in order');

    // Resuming from an evicted id: `earliest`, nothing replayed, live updates follow.
    const evicted = closer(t, await subscribeOk(hub, [topic], { headers: { 'Last-Event-ID': ids[0] } }));
    assert.equal(evicted.headers['last-event-id'], 'earliest');
    // Resuming from a kept id still replays the rest.
    const keptSub = closer(t, await subscribeOk(hub, [topic], { headers: { 'Last-Event-ID': ids[195] } }));
    assert.equal(keptSub.headers['last-event-id'], ids[195]);
    const live = await publishOk(hub, { topic, data: 'live' }, { token: await anyPublisherToken() });
    await waitForId(evicted, live);
    await waitForId(keptSub, live);
    assert.deepEqual(evicted.events.map((e) => e.id), [live]);
    assert.deepEqual(keptSub.events.map((e) => e.id), [...ids.slice(196), live]);
  });

  test('size=50 under concurrent publishing (group commits): never more than 50 kept', async (t) => {
    const dir = tempDir(t);
    const hub = await hubOn(t, dir, { params: { size: 50 } });
    const topic = `https://example.com/cap/${randomUUID()}`;
    const acked = await publishConcurrently(hub, topic, 1000, { concurrency: 8, prefix: 'cc' });
    const { events } = await readHistory(hub, { selectors: [topic] });
    const kept = events.map((e) => e.id);
    assert.ok(kept.length >= 1 && kept.length <= 50, `kept ${kept.length} events with size=50`);
    const all = new Set(acked.flat());
    for (const id of kept) assert.ok(all.has(id), `unexpected id ${id}`);
    assert.deepEqual(duplicates(kept), []);
  });

  // A history shorter than what is published during a replay: while a slow stream replays large
  // events, small updates posted meanwhile push them, and some of the new ones, out of the store
  // before the replay reads them. Every update posted after the stream opened still reaches it,
  // once and in its publisher's order.
  test('size=40, a stalled replay racing 8 publishers: every update posted after the stream opened arrives once, in order', async (t) => {
    const dir = tempDir(t);
    const hub = await hubOn(t, dir, { params: { size: 40 } });
    const topic = `https://example.com/cap/${randomUUID()}`;
    const token = await anyPublisherToken();
    const big = 'x'.repeat(500_000); // 40 of them fill more than the socket buffers
    const until = async (pred) => {
      const deadline = performance.now() + 10_000;
      while (!pred()) {
        if (performance.now() > deadline) throw new Error('the publishers made no progress');
        await new Promise((r) => setImmediate(r));
      }
    };
    const pubs = Array.from({ length: 8 }, () => new KeepAlivePublisher(hub, { token }));
    t.after(() => pubs.forEach((p) => p.close()));
    let next = 0;
    let gaps = 0;
    for (let round = 0; round < 4; round++) {
      const [stored] = await publishConcurrently(hub, topic, 40, { prefix: `big-${round}`, data: () => big });
      const sub = await subscribeOk(hub, [topic], { headers: { 'Last-Event-ID': stored[0] } });
      try {
        assert.equal(sub.headers['last-event-id'], stored[0]);
        // A slow reader: its replay stalls while more than `size` updates are published, so the
        // store trims events after its cursor, posted after it opened.
        sub.conn.pause();
        const posted = [];
        let stop = false;
        const flood = Promise.all(
          pubs.map(async (pub, k) => {
            while (!stop) {
              const id = `small-${k}-${next++}`;
              posted.push(id);
              const r = await pub.publish({ topic, id, data: 'small' });
              if (r.status !== 200) throw new Error(`publish ${id}: ${JSON.stringify(r)}`);
            }
          }),
        );
        flood.catch(() => {}); // awaited below
        try {
          await until(() => posted.length >= 200);
        } finally {
          stop = true;
          await flood;
        }
        sub.conn.resume();
        const marker = await publishOk(hub, { topic, id: `end-${round}`, data: 'end' }, { token });
        await waitForId(sub, marker, { timeoutMs: 20_000 });
        const got = sub.events.map((e) => e.id);
        assert.deepEqual(duplicates(got), [], `round ${round}`);
        const have = new Set(got);
        assert.deepEqual(
          posted.filter((id) => !have.has(id)),
          [],
          `round ${round}: updates posted after the stream opened are missing`,
        );
        for (let k = 0; k < pubs.length; k++) {
          const seqs = got.filter((id) => id.startsWith(`small-${k}-`)).map((id) => Number(id.split('-')[2]));
          assert.ok(
            seqs.every((v, j) => j === 0 || v > seqs[j - 1]),
            `round ${round}: publisher ${k} out of order: ${seqs}`,
          );
        }
        if (got.filter((id) => id.startsWith(`big-${round}-`)).length < stored.length - 1) gaps++;
      } finally {
        sub.close();
      }
    }
    // The race this is about happened: big events were trimmed before the replay sent them.
    assert.ok(gaps >= 2, `only ${gaps} of 4 replays were overtaken by the store's trimming`);
  });

  test('lowering size on restart: trimming converges to the new cap within a few commits', async (t) => {
    const dir = tempDir(t);
    const topic = `https://example.com/cap/${randomUUID()}`;
    let hub = await startStoreHub(dir);
    try {
      await publishConcurrently(hub, topic, 3000, { concurrency: 8, prefix: 'big' });
      const before = await readHistory(hub, { selectors: [topic] });
      assert.equal(before.events.length, 3000);
      await stopWith(hub, 'SIGTERM');

      hub = await startStoreHub(dir, { params: { size: 50 } });
      // At most accepted+1024 deletions per commit: 3000+ events over the cap need 3 commits.
      const [after] = await publishConcurrently(hub, topic, 10, { prefix: 'small' });
      const { events } = await readHistory(hub, { selectors: [topic] });
      const kept = events.map((e) => e.id);
      assert.ok(kept.length >= 1 && kept.length <= 50, `kept ${kept.length} events with size=50 after 10 more commits`);
      assert.deepEqual(kept.slice(-10), after);
    } finally {
      await hub.stop();
    }
  });

  test('cleanup_frequency=0 disables trimming', async (t) => {
    const dir = tempDir(t);
    const hub = await hubOn(t, dir, { params: { size: 10, cleanup_frequency: 0 } });
    const topic = `https://example.com/cap/${randomUUID()}`;
    const [ids] = await publishConcurrently(hub, topic, 40, { prefix: 'nc' });
    const { events } = await readHistory(hub, { selectors: [topic] });
    assert.deepEqual(events.map((e) => e.id), ids);
  });
});

/** Registers the closing of a subscription on `t`. */
function closer(t, sub) {
  t.after(() => sub.close());
  return sub;
}

describe('restart keeps history, ids and resume points', () => {
  for (const signal of ['SIGTERM', 'SIGKILL']) {
    test(`${signal}, then restart on the same store`, async (t) => {
      const dir = tempDir(t);
      const topic = `https://example.com/restart/${randomUUID()}`;
      const token = await anyPublisherToken();
      let hub = await startStoreHub(dir);
      try {
        const before = [];
        for (let i = 1; i <= 20; i++) before.push(await publishOk(hub, { topic, id: `r-${i}`, data: `before ${i}` }, { token }));
        for (let i = 1; i <= 5; i++) before.push(await publishOk(hub, { topic, data: `generated ${i}` }, { token }));
        for (const id of before.slice(20)) assert.match(id, /^urn:uuid:[0-9a-f-]{36}$/);
        await stopWith(hub, signal);

        hub = await startStoreHub(dir);
        // Everything is still there, in the same order.
        const all = await readHistory(hub, { selectors: [topic] });
        assert.equal(all.header, 'earliest');
        assertSameSequence(all.events.map((e) => e.id), before, 'history after restart');
        assert.deepEqual(all.events.slice(0, 2).map((e) => e.data), ['before 1', 'before 2']);

        // Resuming from an id of before the restart replays exactly the rest.
        const mid = closer(t, await subscribeOk(hub, [topic], { headers: { 'Last-Event-ID': 'r-10' } }));
        assert.equal(mid.headers['last-event-id'], 'r-10');
        // Resuming from the last id before the restart: nothing missing, nothing replayed.
        const last = closer(t, await subscribeOk(hub, [topic], { extra: [['lastEventID', before.at(-1)]] }));
        assert.equal(last.headers['last-event-id'], before.at(-1));

        // Publishing continues; hub-made ids never repeat.
        const afterIds = [];
        afterIds.push(await publishOk(hub, { topic, id: 'r-after', data: 'after' }, { token }));
        for (let i = 1; i <= 5; i++) afterIds.push(await publishOk(hub, { topic, data: `generated after ${i}` }, { token }));
        await waitForId(mid, afterIds.at(-1));
        await waitForId(last, afterIds.at(-1));
        assertSameSequence(mid.events.map((e) => e.id), [...before.slice(10), ...afterIds], 'resume from r-10');
        assertSameSequence(last.events.map((e) => e.id), afterIds, 'resume from the last id before the restart');
        assert.deepEqual(duplicates([...before, ...afterIds]), []);

        // And once more: a second restart keeps both generations.
        await stopWith(hub, signal);
        hub = await startStoreHub(dir);
        const again = await readHistory(hub, { selectors: [topic] });
        assertSameSequence(again.events.map((e) => e.id), [...before, ...afterIds], 'history after a second restart');
      } finally {
        await hub.stop();
      }
    });
  }
});

describe('ids are unique in the store', () => {
  test('publishing an id that is already stored -> 409 with a one-line reason, nothing dispatched; also after a restart', async (t) => {
    const dir = tempDir(t);
    const topic = `https://example.com/dup/${randomUUID()}`;
    const token = await anyPublisherToken();
    let hub = await startStoreHub(dir);
    try {
      const sub = closer(t, await subscribeOk(hub, [topic]));
      assert.equal(await publishOk(hub, { topic, id: 'dup-1', data: 'original' }, { token }), 'dup-1');
      for (const fields of [
        { topic, id: 'dup-1', data: 'original' },
        { topic, id: 'dup-1', data: 'other data' },
        { topic: `${topic}/elsewhere`, id: 'dup-1', data: 'other topic' },
      ]) {
        const res = await publish(hub, fields, { token });
        assert.equal(res.status, 409, `${JSON.stringify(fields)}: ${res.status} ${res.text}`);
        const reason = res.text.replace(/\r?\n$/, '');
        assert.ok(reason.length > 0 && !/[\r\n]/.test(reason), `one-line reason: ${JSON.stringify(res.text)}`);
      }
      // On a keep-alive connection the 409 does not break the connection.
      const ka = new KeepAlivePublisher(hub, { token });
      t.after(() => ka.close());
      assert.equal((await ka.publish({ topic, id: 'dup-1' })).status, 409);
      assert.equal((await ka.publish({ topic, id: 'dup-2', data: 'second' })).status, 200);
      assert.equal(ka.connections, 1, 'the same connection served both');
      await waitForId(sub, 'dup-2');
      assert.deepEqual(sub.events.map((e) => [e.id, e.data]), [['dup-1', 'original'], ['dup-2', 'second']]);

      await stopWith(hub, 'SIGTERM');
      hub = await startStoreHub(dir);
      const res = await publish(hub, { topic, id: 'dup-1', data: 'after restart' }, { token });
      assert.equal(res.status, 409, `after restart: ${res.status} ${res.text}`);
      const { events } = await readHistory(hub, { selectors: [topic, `${topic}/elsewhere`] });
      assert.deepEqual(events.map((e) => [e.id, e.data]), [['dup-1', 'original'], ['dup-2', 'second']]);
    } finally {
      await hub.stop();
    }
  });

  test('the same id published concurrently (one group commit): exactly one 200, the others 409', async (t) => {
    const dir = tempDir(t);
    const hub = await hubOn(t, dir);
    const topic = `https://example.com/dup/${randomUUID()}`;
    const token = await anyPublisherToken();
    for (let round = 0; round < 5; round++) {
      const id = `same-${round}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, k) => publish(hub, { topic, id, data: String(k) }, { token })),
      );
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409], `round ${round}: ${statuses}`);
    }
    const { events } = await readHistory(hub, { selectors: [topic] });
    assert.deepEqual(events.map((e) => e.id), ['same-0', 'same-1', 'same-2', 'same-3', 'same-4']);
  });

  test('id=earliest is reserved -> 400 (and nothing stored)', async (t) => {
    const dir = tempDir(t);
    const hub = await hubOn(t, dir);
    const topic = `https://example.com/reserved/${randomUUID()}`;
    const res = await publish(hub, { topic, id: 'earliest', data: 'x' }, { token: await anyPublisherToken() });
    assert.equal(res.status, 400, `${res.status} ${res.text}`);
    const { events } = await readHistory(hub, { selectors: [topic] });
    assert.deepEqual(events, []);
  });
});

describe('transport URL forms', () => {
  test('a missing store directory is created', async (t) => {
    const dir = join(tempDir(t), 'new-store');
    const hub = await hubOn(t, dir);
    assert.ok(statSync(dir).isDirectory());
    await publishOk(hub, { topic: 'https://example.com/created', data: 'x' }, { token: await anyPublisherToken() });
  });

  test('no TRANSPORT_URL: LMDB at ./mercure.lmdb in the working directory, kept across restarts', async (t) => {
    const cwd = tempDir(t, 'mercure-cwd-');
    const topic = 'https://example.com/default-store';
    const env = { TRANSPORT_URL: undefined, ALLOW_ANONYMOUS: '1' };
    let hub = await startHub({ env, cwd });
    try {
      assert.ok(statSync(join(cwd, 'mercure.lmdb')).isDirectory(), 'mercure.lmdb created in the working directory');
      const id = await publishOk(hub, { topic, data: 'kept' }, { token: await anyPublisherToken() });
      await stopWith(hub, 'SIGTERM');
      hub = await startHub({ env, cwd });
      const { events } = await readHistory(hub, { selectors: [topic] });
      assert.deepEqual(events.map((e) => e.id), [id]);
    } finally {
      await hub.stop();
    }
  });

  test('bolt:///path/x.db starts with a warning and is served by LMDB at /path/x.db.lmdb', async (t) => {
    const dir = tempDir(t);
    const bolt = join(dir, 'x.db');
    const topic = 'https://example.com/bolt';
    let hub = await startHub({ env: { TRANSPORT_URL: `bolt://${bolt}`, ALLOW_ANONYMOUS: '1' } });
    try {
      assert.match(hub.stderr() + hub.stdout(), /warn.*bolt|bolt.*warn/i, `a warning mentioning bolt:\n${hub.output()}`);
      assert.ok(existsSync(`${bolt}.lmdb`), `${bolt}.lmdb exists`);
      const id = await publishOk(hub, { topic, data: 'b' }, { token: await anyPublisherToken() });
      await stopWith(hub, 'SIGTERM');
      // The same store through its lmdb:// name.
      hub = await startStoreHub(`${bolt}.lmdb`);
      const { events } = await readHistory(hub, { selectors: [topic] });
      assert.deepEqual(events.map((e) => e.id), [id]);
    } finally {
      await hub.stop();
    }
  });
});

describe('start-up errors: exit status 2 and a message naming the store path', () => {
  function assertRefused(run, path, what) {
    const details = `${what}: ${JSON.stringify({ code: run.code, signal: run.signal, ready: run.ready, timedOut: run.timedOut })}\n--- stderr ---\n${run.stderr}\n--- stdout ---\n${run.stdout}`;
    assert.equal(run.ready, false, `the hub started anyway (${details})`);
    assert.equal(run.timedOut, false, details);
    assert.equal(run.code, 2, details);
    assert.ok(run.stderr.includes(path), `stderr names ${path} (${details})`);
  }

  test('the store path is a regular file', async (t) => {
    const file = join(tempDir(t), 'not-a-dir');
    writeFileSync(file, 'hello\n');
    const run = await runHubUntilExit({ env: { TRANSPORT_URL: lmdbUrl(file) } });
    assertRefused(run, file, 'regular file');
    assert.equal(readFileSync(file, 'utf8'), 'hello\n', 'the file is untouched');
  });

  test('the store is locked by another running hub on the same path', async (t) => {
    const dir = tempDir(t);
    const first = await hubOn(t, dir);
    const topic = 'https://example.com/locked';
    const id = await publishOk(first, { topic, data: 'first' }, { token: await anyPublisherToken() });
    const run = await runHubUntilExit({ env: { TRANSPORT_URL: lmdbUrl(dir) } });
    assertRefused(run, dir, 'second hub on the same store');
    // The first hub is unaffected.
    const { events } = await readHistory(first, { selectors: [topic] });
    assert.deepEqual(events.map((e) => e.id), [id]);
  });

  test('the store is locked by another running hub reaching it through a symlink', async (t) => {
    const root = tempDir(t);
    const dir = join(root, 'real');
    mkdirSync(dir);
    const link = join(root, 'link');
    symlinkSync(dir, link);
    await hubOn(t, dir);
    const run = await runHubUntilExit({ env: { TRANSPORT_URL: lmdbUrl(link) } });
    assert.equal(run.ready, false, `a second hub started on the same store through a symlink:\n${run.stderr}`);
    assert.equal(run.code, 2, run.stderr);
  });

  test('a data.mdb that is not an LMDB file: refused, and left as it was', async (t) => {
    const dir = tempDir(t);
    const garbage = randomBytes(64 * 1024);
    writeFileSync(join(dir, 'data.mdb'), garbage);
    const run = await runHubUntilExit({ env: { TRANSPORT_URL: lmdbUrl(dir) } });
    assertRefused(run, dir, 'garbage data.mdb');
    assert.ok(readFileSync(join(dir, 'data.mdb')).equals(garbage), 'data.mdb is unchanged');
  });

  test('a truncated data.mdb (a few zero bytes) is refused too', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'data.mdb'), Buffer.alloc(100));
    const run = await runHubUntilExit({ env: { TRANSPORT_URL: lmdbUrl(dir) } });
    assertRefused(run, dir, 'truncated data.mdb');
    assert.equal(statSync(join(dir, 'data.mdb')).size, 100, 'data.mdb is unchanged');
  });
});
