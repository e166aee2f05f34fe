// A Caddyfile that puts the mercure block under a path: `handle_path /hub/* { mercure { } }`
// (or `handle /hub/* { uri strip_prefix /hub ... }`). Caddy removes the prefix before the hub
// sees the request, so the clients of such a deployment use /hub/.well-known/mercure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from '../lib/hub.mjs';
import { H2Client } from '../lib/h2.mjs';
import { Closer, Connection, DEFAULT_TIMEOUT_MS, HUB_PATH, formEncode, request, subscribeQuery, withDeadline } from '../lib/http.mjs';
import { tempDir } from '../lib/store.mjs';
import { publisherToken, subscriberToken } from '../lib/tokens.mjs';

const closer = new Closer();
after(() => closer.closeAll());

async function hubWithFile(t, text) {
  const dir = tempDir(t, 'mercure-caddyfile-');
  const config = join(dir, 'Caddyfile');
  writeFileSync(config, text);
  const hub = await startHub({ args: ['--config', config], env: { TRANSPORT_URL: 'local://' } });
  t.after(() => hub.stop());
  return hub;
}

async function subscribeAt(hub, path, topics, token) {
  const conn = closer.add(await Connection.open(hub));
  const res = conn.send({ method: 'GET', path: path + subscribeQuery(topics), headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` } });
  await withDeadline(res.headPromise, DEFAULT_TIMEOUT_MS, 'subscription response head');
  return res;
}

function publishAt(hub, path, fields, token) {
  return request(hub, {
    method: 'POST',
    path,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${token}` },
    body: formEncode(fields),
  });
}

for (const [form, block] of [
  ['handle_path /hub/*', 'handle_path /hub/* {\n\t\tmercure {\n\t\t\tsubscriptions\n\t\t}\n\t}'],
  ['handle /hub/* with uri strip_prefix /hub', 'handle /hub/* {\n\t\turi strip_prefix /hub\n\t\tmercure {\n\t\t\tsubscriptions\n\t\t}\n\t}'],
]) {
  test(`${form}: the hub answers under /hub/.well-known/mercure, subscriptions API included`, async (t) => {
    const hub = await hubWithFile(t, `:0 {\n\t${block}\n\trespond 404\n}\n`);
    await hub.waitForLog(/hub on http:\/\/[^ ]+\/hub\/\.well-known\/mercure/);
    const topic = `https://example.com/books/${Date.now()}`;
    const sub = await subscribeAt(hub, `/hub${HUB_PATH}`, [topic], await subscriberToken(['*']));
    assert.equal(sub.status, 200, sub.text);
    const pub = await publishAt(hub, `/hub${HUB_PATH}`, { topic, data: 'under a path' }, await publisherToken(['*']));
    assert.equal(pub.status, 200, pub.text);
    const event = await sub.waitForEvent((e) => e.id === pub.text);
    assert.equal(event.data, 'under a path');

    const list = await request(hub, {
      path: `/hub${HUB_PATH}/subscriptions`,
      headers: { Authorization: `Bearer ${await subscriberToken(['*'])}` },
    });
    assert.equal(list.status, 200, list.text);
    const doc = JSON.parse(list.text);
    assert.ok(doc.subscriptions.some((s) => s.topic === topic), list.text);
    // Ids as the hub sees them (as the reference behind handle_path); the Link as clients reach it.
    assert.equal(doc.id, `${HUB_PATH}/subscriptions`);
    assert.equal(list.headers.link, `</hub${HUB_PATH}>; rel="mercure"`);

    // Only whole segments are a prefix; the hub's own path still answers (Caddy would 404 it).
    assert.equal((await publishAt(hub, `/hubs${HUB_PATH}`, { topic, data: 'x' }, await publisherToken(['*']))).status, 404);
    assert.equal((await publishAt(hub, HUB_PATH, { topic, data: 'root' }, await publisherToken(['*']))).status, 200);
  });
}

test('a handle matcher that Caddy would not route to the hub is named at start-up', async (t) => {
  const hub = await hubWithFile(t, ':0 {\n\thandle /push/* {\n\t\tmercure {\n\t\t\tanonymous\n\t\t}\n\t}\n}\n');
  assert.match(hub.stderr(), /handle \/push\/\* does not match the hub's path \/\.well-known\/mercure/);
  const res = await request(hub, { path: `/push${HUB_PATH}?topic=x` });
  assert.equal(res.status, 404);
});

test('a uri strip_prefix inside handle_path applies when present, as Caddy\'s; HTTP/2 requests too', async (t) => {
  const hub = await hubWithFile(t, ':0 {\n\thandle_path /hub/* {\n\t\turi strip_prefix /v1\n\t\tmercure {\n\t\t\tprotocols h1 h2c\n\t\t}\n\t}\n}\n');
  const token = await publisherToken(['*']);
  for (const path of [`/hub${HUB_PATH}`, `/hub/v1${HUB_PATH}`, `/HUB${HUB_PATH}`]) {
    const res = await publishAt(hub, path, { topic: 'https://example.com/v', data: 'x' }, token);
    assert.equal(res.status, 200, `${path}: ${res.text}`);
  }
  assert.equal((await publishAt(hub, `/v1/hub${HUB_PATH}`, { topic: 'https://example.com/v', data: 'x' }, token)).status, 404);
  const h2 = await H2Client.connect(hub);
  t.after(() => h2.close());
  const res = await h2.request({
    method: 'POST',
    path: `/hub/v1${HUB_PATH}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
    body: formEncode({ topic: 'https://example.com/v', data: 'h2' }),
  });
  assert.equal(res.status, 200, res.text);
});
