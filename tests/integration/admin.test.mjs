// Caddy's admin endpoint as the reference hub's deployments use it (its Helm chart's probes and
// preStop hook, its image's HEALTHCHECK, a ServiceMonitor): /mercure/health/ready and /live,
// /metrics, POST /stop; refused to other Hosts and cross-site Origins on a loopback address; a
// port already taken is a warning, not a failed start. Readiness while the store refuses writes:
// faults.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, startHub } from '../lib/hub.mjs';
import { request, subscribeOk } from '../lib/http.mjs';

/** A request to the admin endpoint at 127.0.0.1:port (Host: 127.0.0.1:port, as wget sends, unless `headers` say otherwise). */
async function admin(port, path, { method = 'GET', headers = {} } = {}) {
  const res = await request(port, { method, path, headers: { Host: `127.0.0.1:${port}`, ...headers }, body: method === 'POST' ? '' : undefined });
  return { status: res.status, text: res.text, type: res.headers['content-type'] };
}

test('health checks, metrics and POST /stop on the admin address; other hosts and origins refused', async (t) => {
  const adminPort = await freePort();
  const hub = await startHub({ env: { CADDY_ADMIN: `127.0.0.1:${adminPort}`, METRICS_ENABLED: '1', ALLOW_ANONYMOUS: '1' } });
  t.after(() => hub.stop());
  await hub.waitForLog(new RegExp(`admin endpoint on http://127\\.0\\.0\\.1:${adminPort} `));

  for (const check of ['ready', 'live']) {
    const res = await admin(adminPort, `/mercure/health/${check}`);
    assert.equal(res.status, 200, `${check}: ${res.text}`);
    assert.deepEqual(JSON.parse(res.text), { status: 'ok' });
    assert.equal(res.type, 'application/json');
  }
  const metrics = await admin(adminPort, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /^mercure_/m);
  assert.equal((await admin(adminPort, '/config/')).status, 404, "Caddy's configuration API is not offered");
  assert.equal((await admin(adminPort, '/stop')).status, 405);

  // DNS rebinding and a web page's cross-site POST: refused, the hub keeps running.
  assert.equal((await admin(adminPort, '/mercure/health/live', { headers: { Host: 'evil.example' } })).status, 403);
  const cross = await admin(adminPort, '/stop', { method: 'POST', headers: { Origin: 'https://evil.example' } });
  assert.equal(cross.status, 403);
  assert.equal(hub.exitInfo(), null);

  // The preStop hook: a graceful shutdown, open streams ended, exit 0.
  const sub = await subscribeOk(hub, ['https://example.com/admin']);
  t.after(() => sub.close());
  assert.equal((await admin(adminPort, '/stop', { method: 'POST' })).status, 200);
  const exit = await hub.exited;
  assert.equal(exit.code, 0, hub.output());
  assert.match(hub.stderr(), /admin endpoint: POST \/stop, shutting down/);
});

test('an admin address already taken: a warning, and the hub serves', async (t) => {
  const taken = net.createServer();
  await new Promise((resolve, reject) => {
    taken.once('error', reject);
    taken.listen(0, '127.0.0.1', resolve);
  });
  t.after(() => new Promise((resolve) => taken.close(resolve)));
  const hub = await startHub({ env: { CADDY_ADMIN: `127.0.0.1:${taken.address().port}`, ALLOW_ANONYMOUS: '1' } });
  t.after(() => hub.stop());
  await hub.waitForLog(/cannot listen for the admin endpoint on 127\.0\.0\.1:\d+: .*: no admin endpoint/);
  const sub = await subscribeOk(hub, ['https://example.com/admin']);
  sub.close();
});

test("Caddy's servers { metrics } serves the metrics on the admin endpoint only, as Caddy does", async (t) => {
  const adminPort = await freePort();
  const hub = await startHub({ env: { CADDY_ADMIN: `127.0.0.1:${adminPort}`, GLOBAL_OPTIONS: 'servers {\n metrics\n}', ALLOW_ANONYMOUS: '1' } });
  t.after(() => hub.stop());
  await hub.waitForLog(/admin endpoint on/);
  const onAdmin = await admin(adminPort, '/metrics');
  assert.equal(onAdmin.status, 200);
  assert.match(onAdmin.text, /^mercure_/m);
  assert.equal((await request(hub, { path: '/metrics' })).status, 404, 'not on the public port');
});

test('a side listener holds at most 16 connections from one address: more are closed at once', async (t) => {
  const adminPort = await freePort();
  const hub = await startHub({ env: { CADDY_ADMIN: `127.0.0.1:${adminPort}`, ALLOW_ANONYMOUS: '1' } });
  t.after(() => hub.stop());
  await hub.waitForLog(/admin endpoint on/);
  const idle = [];
  t.after(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < 16; i++) {
    idle.push(
      await new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: adminPort }, () => resolve(s));
        s.once('error', reject);
      }),
    );
  }
  await assert.rejects(admin(adminPort, '/mercure/health/live'), 'the 17th connection from this address gets no answer');
  for (const s of idle.splice(0, 2)) s.destroy();
  // Served again once the listener has seen two of them close (bounded retries: no event says so).
  const deadline = Date.now() + 5_000;
  for (;;) {
    const res = await admin(adminPort, '/mercure/health/live').catch(() => null);
    if (res) {
      assert.equal(res.status, 200);
      break;
    }
    assert.ok(Date.now() < deadline, 'served again below the cap');
    await new Promise((resolve) => setImmediate(resolve));
  }
});
