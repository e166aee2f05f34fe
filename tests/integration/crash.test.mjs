// Crash test: concurrent publishers over keep-alive connections while the hub is killed with
// SIGKILL at random moments and restarted on the same store, CRASH_KILLS times (default 3).
// Every update acknowledged with 200 must survive exactly once and in each publisher's order;
// an update whose response never came ("unknown") may be stored at most once; ids are never
// reused, hub-made ones included. A subscriber that follows along and resumes by id after each
// crash must end up with exactly the final history.
//
// The kill moments come from a seeded PRNG: the seed is printed (test diagnostic); rerun with
// CRASH_SEED=<seed> to replay the same schedule. Long run: CRASH_KILLS=20.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { publishOk, subscribeOk } from '../lib/http.mjs';
import {
  KeepAlivePublisher,
  anyPublisherToken,
  assertSameSequence,
  duplicates,
  mulberry32,
  readHistory,
  seedFrom,
  startStoreHub,
  tempDir,
} from '../lib/store.mjs';

const KILLS = Number(process.env.CRASH_KILLS || 3);
const SEED = seedFrom('CRASH_SEED');
const KILL_MIN_MS = Number(process.env.CRASH_KILL_MIN_MS || 100);
const KILL_MAX_MS = Number(process.env.CRASH_KILL_MAX_MS || 800);
const ID_PUBLISHERS = 6; // even ones retry an unknown update with the same id, odd ones move on
const GEN_PUBLISHERS = 2; // send no id: the hub makes urn:uuid ids
const BASE = 'https://example.com/crash/';
const END = 'END-OF-CRASH-TEST';

test(`crash: ${KILLS} SIGKILL(s) at random moments while ${ID_PUBLISHERS + GEN_PUBLISHERS} publishers publish (seed ${SEED})`, async (t) => {
  const seedNote = `(seed ${SEED}: rerun with CRASH_SEED=${SEED} CRASH_KILLS=${KILLS})`;
  t.diagnostic(`crash test seed ${SEED}; rerun with CRASH_SEED=${SEED} CRASH_KILLS=${KILLS}`);
  console.log(`# crash test seed ${SEED} (CRASH_SEED=${SEED} CRASH_KILLS=${KILLS})`);
  const rand = mulberry32(SEED);
  const dir = tempDir(t, 'mercure-crash-');
  const token = await anyPublisherToken();

  let hub = await startStoreHub(dir);
  let generation = 0; // incremented at each kill
  let gate = Promise.resolve(); // publishers wait on it while the hub is down
  let openGate = () => {};
  let stopping = false;
  const anomalies = []; // failures found by the workers, asserted at the end
  const hubs = [hub];
  t.after(() => Promise.all(hubs.map((h) => h.kill())));

  // --- publishers -------------------------------------------------------------------------
  const idPubs = Array.from({ length: ID_PUBLISHERS }, (_, k) => ({
    k,
    retry: k % 2 === 0,
    topic: `${BASE}c${k}`,
    acked: [], // ids acknowledged (200, or 409 on a retry: stored before the crash), in order
    unknown: new Set(), // ids whose response never came and that were not retried
    retried: { ok: 0, conflict: 0 },
  }));
  const genPubs = Array.from({ length: GEN_PUBLISHERS }, (_, k) => ({
    k,
    topic: `${BASE}g${k}`,
    acked: [], // {id, tag}
    unknownTags: new Set(),
  }));

  const runIdPublisher = async (p) => {
    const pub = new KeepAlivePublisher(() => hub, { token });
    let n = 0;
    let pending = null;
    try {
      while (!stopping || pending) {
        await gate;
        const id = pending ?? `c${p.k}-${n++}`;
        const gen = generation;
        const r = await pub.publish({ topic: p.topic, id, data: id });
        if (r.lost) {
          if (gen === generation) anomalies.push(`publisher c${p.k}: no response for ${id} although the hub was not killed: ${r.reason}`);
          if (p.retry) pending = id;
          else p.unknown.add(id);
          continue;
        }
        if (r.status === 200 && r.text === id) {
          p.acked.push(id);
          if (pending) p.retried.ok++;
        } else if (r.status === 409 && pending === id) {
          p.acked.push(id); // stored before the crash: its place in the order is this one
          p.retried.conflict++;
        } else {
          anomalies.push(`publisher c${p.k}: ${id}${pending ? ' (retry)' : ''} answered ${r.status} ${JSON.stringify(r.text)}`);
        }
        pending = null;
      }
    } finally {
      pub.close();
    }
  };

  const runGenPublisher = async (p) => {
    const pub = new KeepAlivePublisher(() => hub, { token });
    try {
      for (let n = 0; !stopping; n++) {
        await gate;
        const tag = `g${p.k}-${n}`;
        const gen = generation;
        const r = await pub.publish({ topic: p.topic, data: tag });
        if (r.lost) {
          if (gen === generation) anomalies.push(`publisher g${p.k}: no response for ${tag} although the hub was not killed: ${r.reason}`);
          p.unknownTags.add(tag);
        } else if (r.status === 200 && /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(r.text)) {
          p.acked.push({ id: r.text, tag });
        } else {
          anomalies.push(`publisher g${p.k}: ${tag} answered ${r.status} ${JSON.stringify(r.text)}`);
        }
      }
    } finally {
      pub.close();
    }
  };

  // --- a subscriber that follows everything and resumes by id after each crash ---------------
  const followed = [];
  const followerConnections = [];
  const runFollower = async () => {
    let last = 'earliest';
    let failures = 0;
    for (;;) {
      await gate;
      const h = hub;
      let sub;
      try {
        sub = await subscribeOk(h, ['*'], { headers: { 'Last-Event-ID': last } });
      } catch (e) {
        if (++failures > 100) throw new Error(`follower cannot subscribe: ${e.message}`);
        if (h === hub && !h.exitInfo()) await sleep(10); // the hub is being killed: wait for the gate
        continue;
      }
      if (sub.headers['last-event-id'] !== last) {
        anomalies.push(`follower: resumed from ${last}, the hub answered Last-Event-ID ${sub.headers['last-event-id']}`);
      }
      let i = 0;
      let sawEnd = false;
      await sub.waitFor(
        (r) => {
          for (; i < r.events.length; i++) if (r.events[i].data === END) sawEnd = true;
          return sawEnd || r.ended;
        },
        { allowEnd: true, timeoutMs: 120_000, what: 'the end marker or the end of the stream' },
      );
      sub.close();
      const ids = sub.events.map((e) => e.id);
      followerConnections.push(ids.length);
      followed.push(...ids);
      if (ids.length) last = ids.at(-1);
      if (sawEnd) return;
    }
  };

  const follower = runFollower();
  follower.catch(() => {});
  const workers = [...idPubs.map(runIdPublisher), ...genPubs.map(runGenPublisher)];
  const allWorkers = Promise.all(workers);
  allWorkers.catch(() => {});

  // --- the kills ---------------------------------------------------------------------------
  const ackCount = () => idPubs.reduce((s, p) => s + p.acked.length, 0) + genPubs.reduce((s, p) => s + p.acked.length, 0);
  // Each round publishes at least MIN_ACKS_PER_ROUND before its kill, however slow the hub is
  // (a sanitizer build on a busy machine): a condition on the publishers, waited with a deadline.
  const MIN_ACKS_PER_ROUND = 50;
  const acksSince = async (from) => {
    const deadline = Date.now() + 60_000;
    while (ackCount() - from < MIN_ACKS_PER_ROUND) {
      if (Date.now() > deadline) throw new Error(`fewer than ${MIN_ACKS_PER_ROUND} acks in 60 s (${ackCount() - from})`);
      await sleep(10);
    }
  };
  const rounds = [];
  try {
    for (let round = 1; round <= KILLS; round++) {
      const delay = Math.round(KILL_MIN_MS + rand() * (KILL_MAX_MS - KILL_MIN_MS));
      const before = ackCount();
      await acksSince(before);
      await sleep(delay); // the schedule of the test, not a wait for an event
      gate = new Promise((resolve) => {
        openGate = resolve;
      });
      generation++;
      await hub.kill();
      const acksAtKill = ackCount();
      const t0 = Date.now();
      hub = await startStoreHub(dir);
      hubs.push(hub);
      rounds.push({ round, delay, acks: acksAtKill - before, restartMs: Date.now() - t0 });
      openGate();
    }
    await acksSince(ackCount());
    await sleep(Math.round(KILL_MIN_MS + rand() * (KILL_MAX_MS - KILL_MIN_MS)));
  } finally {
    stopping = true;
    openGate();
  }
  await allWorkers;
  const endId = await publishOk(hub, { topic: `${BASE}end`, data: END }, { token });
  await follower;

  // --- the verdict -------------------------------------------------------------------------
  const unknownCount = idPubs.reduce((s, p) => s + p.unknown.size, 0) + genPubs.reduce((s, p) => s + p.unknownTags.size, 0);
  const retried = idPubs.reduce((s, p) => ({ ok: s.ok + p.retried.ok, conflict: s.conflict + p.retried.conflict }), { ok: 0, conflict: 0 });
  t.diagnostic(
    `rounds: ${rounds.map((r) => `kill after ${r.delay} ms (${r.acks} acks, restart ${r.restartMs} ms)`).join('; ')}; ` +
      `acked ${ackCount()}, unknown ${unknownCount}, retried after a crash: ${retried.ok} x 200, ${retried.conflict} x 409; ` +
      `follower connections: ${followerConnections.join(', ')}`,
  );
  assert.deepEqual(anomalies, [], seedNote);

  const { events } = await readHistory(hub, { selectors: ['*'], timeoutMs: 30_000 });
  const historyIds = events.map((e) => e.id);
  assert.equal(historyIds.at(-1), endId, `the end marker is the newest event ${seedNote}`);
  assert.deepEqual(duplicates(historyIds), [], `no id is stored twice ${seedNote}`);

  for (const p of idPubs) {
    const stored = events.filter((e) => e.data.startsWith(`c${p.k}-`));
    for (const e of stored) assert.equal(e.id, e.data, `id and data agree ${seedNote}`);
    const storedIds = stored.map((e) => e.id);
    const ackedSet = new Set(p.acked);
    // Every acknowledged id exactly once, in the order of its acknowledgements.
    assertSameSequence(storedIds.filter((id) => ackedSet.has(id)), p.acked, `publisher c${p.k}'s acknowledged ids in the history ${seedNote}`);
    // Anything else stored must be an unknown one (at most once: no duplicates overall).
    const phantom = storedIds.filter((id) => !ackedSet.has(id) && !p.unknown.has(id));
    assert.deepEqual(phantom, [], `publisher c${p.k}: stored ids never sent or answered with an error ${seedNote}`);
    // A publisher's updates are stored in the order it sent them, unknown ones included.
    const seqs = storedIds.map((id) => Number(id.split('-')[1]));
    assert.ok(seqs.every((v, i) => i === 0 || v > seqs[i - 1]), `publisher c${p.k}'s updates stored in sending order ${seedNote}`);
    if (p.retry) assert.equal(p.unknown.size, 0);
  }

  const allAckedIds = [...idPubs.flatMap((p) => p.acked), ...genPubs.flatMap((p) => p.acked.map((a) => a.id))];
  assert.deepEqual(duplicates(allAckedIds), [], `the hub never acknowledged the same id twice ${seedNote}`);
  for (const p of genPubs) {
    const stored = events.filter((e) => e.data.startsWith(`g${p.k}-`));
    assert.deepEqual(duplicates(stored.map((e) => e.data)), [], `publisher g${p.k}: no update stored twice ${seedNote}`);
    const byTag = new Map(p.acked.map((a) => [a.tag, a.id]));
    const ackedStored = stored.filter((e) => byTag.has(e.data));
    assertSameSequence(ackedStored.map((e) => e.id), p.acked.map((a) => a.id), `publisher g${p.k}'s acknowledged ids in the history ${seedNote}`);
    const phantom = stored.filter((e) => !byTag.has(e.data) && !p.unknownTags.has(e.data)).map((e) => e.data);
    assert.deepEqual(phantom, [], `publisher g${p.k}: stored updates never sent ${seedNote}`);
  }

  // What the follower received over all its connections is exactly the history.
  assertSameSequence(followed, historyIds, `ids received by the resuming follower ${seedNote}`);

  assert.ok(ackCount() >= 50 * (KILLS + 1), `enough publishing happened to make the test meaningful (${ackCount()} acks)`);
  const exit = await hub.stop({ timeoutMs: 8000 });
  assert.equal(exit.code, 0, `SIGTERM after the crashes: ${JSON.stringify(exit)}\n${hub.output()}`);
});
