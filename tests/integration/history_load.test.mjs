// Lossless reconnection under load: while several publishers publish continuously, a
// subscriber disconnects and resumes by id again and again; what it received over all its
// connections must be exactly what an uninterrupted subscriber received (the hub's order), and
// each publisher's own sequence must be complete and in order.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Closer, publishOk, subscribeOk } from '../lib/http.mjs';
import { KeepAlivePublisher, anyPublisherToken, assertSameSequence, duplicates, useStoreHub, waitForId } from '../lib/store.mjs';

const hub = useStoreHub();
const closer = new Closer();
after(() => closer.closeAll());

const PUBLISHERS = Number(process.env.HISTORY_LOAD_PUBLISHERS || 4);
const PER_PUBLISHER = Number(process.env.HISTORY_LOAD_PER_PUBLISHER || 2500);
const RESUME_EVERY = 2000;
const END = 'END-OF-TEST';

test(`a subscriber resuming every ~${RESUME_EVERY} events while ${PUBLISHERS} publishers publish ${PUBLISHERS * PER_PUBLISHER}: no gap, duplicate or reordering`, async (t) => {
  const topic = `https://example.com/history-load/${randomUUID()}`;
  const token = await anyPublisherToken();
  const t0 = Date.now();

  // The reference: one subscriber that never disconnects.
  const steady = closer.add(await subscribeOk(hub, [topic]));

  // The resuming subscriber: alternates the header and the query form of the resume id.
  const resumed = [];
  const connections = [];
  let firstOpen;
  const opened = new Promise((resolve) => (firstOpen = resolve));
  const runResumer = async () => {
    let last;
    for (let c = 0; ; c++) {
      const opts =
        last === undefined ? {} : c % 2 === 1 ? { headers: { 'Last-Event-ID': last } } : { extra: [['lastEventID', last]] };
      const sub = closer.add(await subscribeOk(hub, [topic], opts));
      if (last !== undefined) {
        assert.equal(sub.headers['last-event-id'], last, `connection ${c}: the stored resume id is echoed`);
      } else {
        assert.equal(sub.headers['last-event-id'], undefined);
        firstOpen(); // subscribed without a resume id: it must be there before the first publish
      }
      // Stay until ~RESUME_EVERY events arrived (a little jitter) or the end marker.
      const want = RESUME_EVERY - 300 + ((c * 211) % 600);
      let i = 0;
      let ended = false;
      await sub.waitFor(
        (r) => {
          for (; i < r.events.length; i++) if (r.events[i].data === END) ended = true;
          return ended || r.events.length >= want;
        },
        { timeoutMs: 30_000, what: `${want} events or the end marker on resuming connection ${c}` },
      );
      await sub.close();
      // Whatever was fully received before the close counts; the rest is replayed next time.
      const ids = sub.events.map((e) => e.id);
      connections.push(ids.length);
      resumed.push(...ids);
      if (sub.events.some((e) => e.data === END)) return;
      assert.ok(ids.length > 0, `connection ${c} received nothing`);
      last = ids.at(-1);
    }
  };
  const resumerDone = runResumer();
  resumerDone.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
  await Promise.race([opened, resumerDone]);

  const publishers = Array.from({ length: PUBLISHERS }, () => new KeepAlivePublisher(hub, { token }));
  t.after(() => publishers.forEach((p) => p.close()));
  const acked = publishers.map(() => []);
  await Promise.all(
    publishers.map(async (pub, k) => {
      for (let n = 0; n < PER_PUBLISHER; n++) {
        const r = await pub.publish({ topic, id: `p${k}-${n}`, data: `${k}:${n}` });
        if (r.status !== 200) throw new Error(`publisher ${k}, update ${n}: ${JSON.stringify(r)}`);
        acked[k].push(r.id);
      }
    }),
  );
  const publishMs = Date.now() - t0;
  const endId = await publishOk(hub, { topic, data: END }, { token });

  await waitForId(steady, endId, { timeoutMs: 30_000 });
  await resumerDone;
  t.diagnostic(
    `published ${PUBLISHERS * PER_PUBLISHER} in ${publishMs} ms; resuming subscriber used ${connections.length} connections (${connections.join(', ')} events)`,
  );

  const hubOrder = steady.events.map((e) => e.id);
  assert.equal(hubOrder.at(-1), endId);
  assert.equal(hubOrder.length, PUBLISHERS * PER_PUBLISHER + 1, 'the uninterrupted subscriber got every update once');
  assert.deepEqual(duplicates(hubOrder), []);
  for (const [k, ids] of acked.entries()) {
    assertSameSequence(
      hubOrder.filter((id) => id.startsWith(`p${k}-`)),
      ids,
      `publisher ${k}'s updates as the uninterrupted subscriber saw them`,
    );
  }
  assert.ok(connections.length >= 4, `the subscriber should have resumed several times (${connections.length} connections)`);
  assertSameSequence(resumed, hubOrder, 'ids received over all the resuming connections');

  // Resuming from more than 10,000 events back (the reference hub fails there).
  const far = closer.add(await subscribeOk(hub, [topic], { headers: { 'Last-Event-ID': hubOrder[0] } }));
  assert.equal(far.headers['last-event-id'], hubOrder[0]);
  await waitForId(far, endId, { timeoutMs: 30_000 });
  assertSameSequence(
    far.events.map((e) => e.id),
    hubOrder.slice(1),
    `replay from ${hubOrder.length - 1} events back`,
  );
});
