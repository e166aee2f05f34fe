// Faults with the LMDB store (issue 5, "nothing lost on faults"):
//  - SIGTERM during heavy publishing: every update acknowledged with 200 is in the store after a
//    restart, exactly once and in its publisher's order; nothing answered 503 is stored; the hub
//    exits 0 within its shutdown grace period.
//  - A full disk: the hub runs under a file-size limit (RLIMIT_FSIZE through `prlimit`, soft
//    limit only, so it can be lifted again without privileges; the hub ignores SIGXFSZ, so the
//    write fails with EFBIG instead of killing it). A commit that cannot be written answers 503,
//    never 200; /healthz/ready answers 503 until the store takes writes again; a subscriber
//    connected before keeps its stream and gets the updates published once space is back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Connection, HUB_PATH, formEncode, publish, request, subscribeOk } from '../lib/http.mjs';
import { freePort } from '../lib/hub.mjs';
import {
  KeepAlivePublisher,
  anyPublisherToken,
  assertSameSequence,
  duplicates,
  readHistory,
  startStoreHub,
  tempDir,
  waitForId,
} from '../lib/store.mjs';

const BASE = 'https://example.com/faults/';
const SHUTDOWN_GRACE_MS = 5_000; // ServerOptions::shutdown_grace

async function readiness(hub) {
  const res = await request(hub, { method: 'GET', path: '/healthz/ready' });
  return { status: res.status, text: res.text };
}

/** The status of Caddy's readiness probe on the admin endpoint (the reference's Helm chart calls it). */
async function adminReadiness(port) {
  const res = await fetch(`http://127.0.0.1:${port}/mercure/health/ready`, { signal: AbortSignal.timeout(5_000) });
  await res.text();
  return res.status;
}

test('SIGTERM during heavy publishing loses no acknowledged update and exits 0 within the grace period', async (t) => {
  const PUBLISHERS = 8;
  const ACKS_BEFORE_SIGTERM = 400; // across all publishers
  const dir = tempDir(t, 'mercure-sigterm-');
  const token = await anyPublisherToken();
  const hub = await startStoreHub(dir);
  const hubs = [hub];
  t.after(() => Promise.all(hubs.map((h) => h.kill())));

  // A subscriber that follows everything from the start.
  const follower = await subscribeOk(hub, ['*'], { headers: { 'Last-Event-ID': 'earliest' } });
  t.after(() => follower.close());

  let acks = 0;
  let sigterm = null; // set when SIGTERM is sent
  let enoughAcks;
  const enough = new Promise((resolve) => {
    enoughAcks = resolve;
  });
  const anomalies = [];
  const pubs = Array.from({ length: PUBLISHERS }, (_, k) => ({
    k,
    acked: [], // 200, in order
    refused: new Set(), // 503: must not be stored
    unknown: new Set(), // sent, no response (the connection was closed at shutdown): may be stored
  }));

  const run = async (p) => {
    const pub = new KeepAlivePublisher(hub, { token });
    try {
      for (let n = 0; ; n++) {
        const id = `s${p.k}-${n}`;
        const r = await pub.publish({ topic: `${BASE}s${p.k}`, id, data: id });
        if (r.lost) {
          if (!sigterm) anomalies.push(`publisher s${p.k}: no response for ${id} before SIGTERM: ${r.reason}`);
          if (r.sent) p.unknown.add(id);
          if (!r.sent) return; // the hub no longer accepts connections
          continue;
        }
        if (r.status === 200 && r.text === id) {
          p.acked.push(id);
          if (++acks === ACKS_BEFORE_SIGTERM) enoughAcks();
        } else if (r.status === 503 && sigterm) {
          p.refused.add(id);
        } else {
          anomalies.push(`publisher s${p.k}: ${id} answered ${r.status} ${JSON.stringify(r.text)}${sigterm ? ' after SIGTERM' : ''}`);
          if (r.status >= 500) return;
        }
      }
    } finally {
      pub.close();
    }
  };
  const workers = Promise.all(pubs.map(run));

  await enough;
  sigterm = { acks };
  const exit = await hub.stop({ timeoutMs: SHUTDOWN_GRACE_MS + 2_000 });
  await workers;
  const refused = pubs.reduce((s, p) => s + p.refused.size, 0);
  const unknown = pubs.reduce((s, p) => s + p.unknown.size, 0);
  t.diagnostic(
    `acknowledged ${acks} (${sigterm.acks} before SIGTERM), refused with 503 after SIGTERM ${refused}, ` +
      `no response ${unknown}; the hub exited in ${exit.ms} ms`,
  );
  assert.equal(exit.timedOut, false, `the hub exits by itself after SIGTERM\n${hub.output()}`);
  assert.equal(exit.code, 0, `exit status after SIGTERM: ${JSON.stringify(exit)}\n${hub.output()}`);
  assert.ok(exit.ms <= SHUTDOWN_GRACE_MS, `the hub exits within its grace period (${exit.ms} ms)`);
  assert.deepEqual(anomalies, []);

  // The follower's stream ended with the hub; what it got is a prefix of the history.
  await follower.waitForEnd({ timeoutMs: 5_000 });
  const followed = follower.events.map((e) => e.id);

  const restarted = await startStoreHub(dir);
  hubs.push(restarted);
  const { events } = await readHistory(restarted, { selectors: ['*'], timeoutMs: 30_000 });
  const historyIds = events.map((e) => e.id);
  assert.deepEqual(duplicates(historyIds), [], 'no id is stored twice');
  assertSameSequence(followed, historyIds.slice(0, followed.length), 'what the follower received before the shutdown');

  for (const p of pubs) {
    const stored = events.filter((e) => e.data.startsWith(`s${p.k}-`)).map((e) => e.id);
    const ackedSet = new Set(p.acked);
    assertSameSequence(stored.filter((id) => ackedSet.has(id)), p.acked, `publisher s${p.k}'s acknowledged ids in the store`);
    const phantom = stored.filter((id) => !ackedSet.has(id) && !p.unknown.has(id));
    assert.deepEqual(phantom, [], `publisher s${p.k}: stored ids that were refused or never sent`);
    const order = stored.map((id) => Number(id.split('-')[1]));
    assert.ok(order.every((v, i) => i === 0 || v > order[i - 1]), `publisher s${p.k}'s updates are stored in sending order`);
  }
  await restarted.stop();
});

test('a full disk answers 503 to publishers, never 200, and the hub keeps serving subscribers', async (t) => {
  const dir = tempDir(t, 'mercure-full-disk-');
  const token = await anyPublisherToken();
  const LIMIT = 3 << 20; // bytes the hub may write to any file: data.mdb fills up at 3 MiB
  const DATA = 'x'.repeat(100 << 10);
  const topic = `${BASE}disk`;
  // A 1 MiB map that must grow twice before the file reaches the limit.
  const adminPort = await freePort();
  const hub = await startStoreHub(dir, {
    params: { map_size: 1 << 20, size: 0 },
    wrapper: ['prlimit', `--fsize=${LIMIT}:`],
    env: { CADDY_ADMIN: `127.0.0.1:${adminPort}` },
  });
  const hubs = [hub];
  t.after(() => Promise.all(hubs.map((h) => h.kill())));

  const sub = await subscribeOk(hub, [topic]);
  t.after(() => sub.close());
  assert.equal((await readiness(hub)).status, 200);
  assert.equal(await adminReadiness(adminPort), 200);

  // Publish 100 KiB updates until the store refuses one.
  const acked = [];
  const refused = [];
  for (let n = 0; refused.length === 0; n++) {
    assert.ok(n < 2 * (LIMIT / DATA.length), `a commit fails once data.mdb reaches ${LIMIT} bytes (${acked.length} acknowledged)`);
    const id = `d-${n}`;
    const res = await publish(hub, { topic, id, data: DATA }, { token });
    if (res.status === 200) {
      assert.equal(res.text, id);
      acked.push(id);
    } else {
      assert.equal(res.status, 503, `a failed commit answers 503: ${res.status} ${res.text}`);
      assert.match(res.text, /history store write failed/);
      refused.push(id);
    }
  }
  assert.ok(acked.length >= 10, `the store filled up normally first (${acked.length} acknowledged)`);
  assert.match(hub.stderr(), /map grown to 4 MiB/, 'the map grew on the way');
  assert.equal(hub.exitInfo(), null, `the hub survives the write past its file-size limit\n${hub.output()}`);

  // While the disk is full: not ready, every publish refused, the subscriber still connected.
  const notReady = await readiness(hub);
  assert.equal(notReady.status, 503, `readiness while commits fail: ${notReady.text}`);
  assert.match(notReady.text, /does not accept publishes/);
  assert.equal(await adminReadiness(adminPort), 503, 'the admin endpoint\'s readiness agrees');
  for (let n = 0; n < 3; n++) {
    const id = `refused-${n}`;
    const res = await publish(hub, { topic, id, data: DATA }, { token });
    assert.equal(res.status, 503, `publish while the disk is full: ${res.status} ${res.text}`);
    refused.push(id);
  }
  // On a kept-alive connection too, a 503 closes it: the client reconnects.
  const conn = await Connection.open(hub, { parseSse: false });
  try {
    const id = 'refused-keep-alive';
    const res = await conn.request({
      method: 'POST',
      path: HUB_PATH,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: formEncode({ topic, id, data: DATA }),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.connection, 'close');
    refused.push(id);
  } finally {
    conn.close();
  }
  assert.equal((await request(hub, { method: 'GET', path: '/healthz' })).status, 200, 'the hub is alive');
  assert.equal((await readiness(hub)).status, 503, 'still not ready: the writer probes and fails');
  await waitForId(sub, acked.at(-1), { timeoutMs: 10_000 });
  assert.equal(sub.ended, false, 'the subscriber connected before keeps its stream');
  const another = await subscribeOk(hub, [topic]);
  another.close();

  // Space is back: the idle writer's probe passes on its own, then publishing works again.
  execFileSync('prlimit', ['--pid', String(hub.pid), '--fsize=unlimited:']);
  await hub.waitForLog(/the history store takes writes again/, 10_000);
  assert.equal((await readiness(hub)).status, 200, 'ready again once the store takes writes');
  assert.equal(await adminReadiness(adminPort), 200);
  const afterId = await publish(hub, { topic, id: 'after', data: 'space is back' }, { token });
  assert.equal(afterId.status, 200, `publish once space is back: ${afterId.status} ${afterId.text}`);
  await waitForId(sub, 'after', { timeoutMs: 10_000 });
  const received = sub.events.map((e) => e.id);
  assertSameSequence(received, [...acked, 'after'], 'what the subscriber received');
  sub.close();

  const exit = await hub.stop();
  assert.equal(exit.code, 0);
  const restarted = await startStoreHub(dir);
  hubs.push(restarted);
  const { events } = await readHistory(restarted, { selectors: [topic], timeoutMs: 30_000 });
  assertSameSequence(
    events.map((e) => e.id),
    [...acked, 'after'],
    'the store holds every acknowledged update and none of the refused ones',
  );
  await restarted.stop();
});
