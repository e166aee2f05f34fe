// A real third-party client: Symfony's Mercure publisher (symfony/mercure 0.6, Debian's
// php-symfony-mercure) and Symfony HttpClient's EventSourceHttpClient, run by PHP as an
// application runs them (symfony_client.php), with curl's HTTP client (HTTP/2 over TLS, as
// Symfony picks it when PHP has curl) and PHP's native one (HTTP/1.1).

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, useHub } from '../lib/hub.mjs';
import { subscribeOk, subscribeQuery, withDeadline, Closer } from '../lib/http.mjs';
import { makeCerts } from '../lib/tls.mjs';
import { makeTempDir, startStoreHub, useStoreHub } from '../lib/store.mjs';
import { mint, publisherToken, subscriberToken } from '../lib/tokens.mjs';
import { scrape } from '../lib/prometheus.mjs';

const SCRIPT = fileURLToPath(new URL('./symfony_client.php', import.meta.url));
const PHP_TIMEOUT_MS = 20_000;
const children = new Set();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * Runs `php symfony_client.php <command>` with `env`, `input` on its stdin. `lines` fills with
 * the JSON objects it prints; `waitFor(n)` resolves once n are there; `done` once it exits 0.
 */
function php(command, env, input = '') {
  const child = spawn('php', [SCRIPT, command], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const run = { lines: [], stderr: '', waiters: new Set() };
  let pending = '';
  const check = () => {
    for (const w of run.waiters) if (run.lines.length >= w.n) w.resolve(run.lines.slice(0, w.n));
  };
  child.stdout.setEncoding('utf8').on('data', (text) => {
    pending += text;
    for (let i; (i = pending.indexOf('\n')) >= 0; pending = pending.slice(i + 1)) run.lines.push(JSON.parse(pending.slice(0, i)));
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (text) => (run.stderr += text));
  child.on('error', (e) => (run.stderr += `cannot run php (scripts/install-deps installs php-cli): ${e.message}`));
  run.done = withDeadline(
    new Promise((resolve, reject) =>
      child.on('close', (code) => {
        children.delete(child);
        if (code === 0) resolve(run.lines);
        else reject(new Error(`php ${command} exited with ${code}: ${run.stderr}\nprinted: ${JSON.stringify(run.lines)}`));
      }),
    ),
    PHP_TIMEOUT_MS,
    `php ${command}`,
    () => run.stderr,
  );
  run.done.catch(() => {});
  run.waitFor = (n) =>
    withDeadline(
      Promise.race([new Promise((resolve) => { run.waiters.add({ n, resolve }); check(); }), run.done.then(() => { throw new Error(`php ${command} ended after ${run.lines.length} of ${n} lines: ${JSON.stringify(run.lines)}`); })]),
      PHP_TIMEOUT_MS,
      `${n} lines from php ${command}`,
      () => `${JSON.stringify(run.lines)} ${run.stderr}`,
    );
  child.stdin.end(input);
  return run;
}

/** Publishes `updates` with Symfony's Hub; resolves with one {id, http_version} or {error, status} each. */
function symfonyPublish(hub, updates, { token, client = 'curl', ca } = {}) {
  return php('publish', { HUB_URL: hub.hubUrl, TOKEN: token, CLIENT: client, ...(ca ? { CA_FILE: ca } : {}) }, JSON.stringify(updates)).done;
}

/** An EventSourceHttpClient subscription; wait for its {open} line before publishing. */
function symfonySubscribe(hub, topics, { count, token, lastEventId, client = 'curl', ca } = {}) {
  return php('subscribe', {
    SUBSCRIBE_URL: hub.hubUrl + subscribeQuery(topics),
    COUNT: String(count),
    CLIENT: client,
    ...(token ? { TOKEN: token } : {}),
    ...(lastEventId ? { LAST_EVENT_ID: lastEventId } : {}),
    ...(ca ? { CA_FILE: ca } : {}),
  });
}

const BOOKS = 'https://example.com/symfony/books/';

describe('Symfony Mercure publisher', () => {
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1' } });
  const closer = new Closer();
  after(() => closer.closeAll());

  for (const client of ['native', 'curl']) {
    test(`publishes every field of an Update over HTTP/1.1 (${client} HTTP client)`, async () => {
      const selector = `${BOOKS}${client}/{id}`;
      const authorized = closer.add(await subscribeOk(hub, [selector], { token: await subscriberToken([selector]) }));
      const anonymous = closer.add(await subscribeOk(hub, [selector]));
      const updates = [
        { topics: [`${BOOKS}${client}/1`], data: '{"title":"Dune"}\nline two\r\nline three' },
        {
          topics: [`${BOOKS}${client}/2`, `https://example.com/alternate/${client}/2`],
          data: 'for the authorized only',
          private: true,
          id: `urn:e2e:symfony:${client}:${Date.now()}`,
          type: 'book-updated',
          retry: 2500,
        },
        { topics: `${BOOKS}${client}/3`, data: '' },
      ];
      const results = await symfonyPublish(hub, updates, { token: await publisherToken(), client });
      assert.equal(results.length, 3, JSON.stringify(results));
      for (const r of results) assert.equal(r.http_version, '1.1', JSON.stringify(r));
      assert.match(results[0].id, /^urn:uuid:/);
      assert.equal(results[1].id, updates[1].id, 'the hub answers the id the publisher chose');

      const events = await authorized.waitForEvents(3);
      assert.deepEqual(
        events.map((e) => [e.id, e.type, e.retry, e.data]),
        [
          [results[0].id, undefined, undefined, '{"title":"Dune"}\nline two\nline three'],
          [results[1].id, 'book-updated', '2500', 'for the authorized only'],
          [results[2].id, undefined, undefined, ''],
        ],
      );
      // The private update was published before the third: had it reached the anonymous
      // subscriber, it would be there before the third.
      const seen = await anonymous.waitForEvents(2);
      assert.deepEqual(seen.map((e) => e.id), [results[0].id, results[2].id]);
      assert.equal(anonymous.events.length, 2);
    });
  }

  test('a refused publish reaches the application as an exception carrying the status', async () => {
    const topic = `${BOOKS}refused`;
    const sub = closer.add(await subscribeOk(hub, [topic]));
    const wrongKey = await symfonyPublish(hub, [{ topics: [topic], data: 'wrong key' }], {
      token: await mint({ mercure: { publish: ['*'] } }, { key: 'another key, not the hub one, 32+ bytes long' }),
    });
    assert.deepEqual(wrongKey, [{ error: 'Failed to send an update.', status: 401 }]);
    const forbidden = await symfonyPublish(hub, [{ topics: [topic], data: 'topic not allowed' }], {
      token: await publisherToken(['https://example.com/other/{id}']),
    });
    assert.deepEqual(forbidden, [{ error: 'Failed to send an update.', status: 403 }]);
    const [ok] = await symfonyPublish(hub, [{ topics: [topic], data: 'allowed' }], { token: await publisherToken() });
    const [first] = await sub.waitForEvents(1);
    assert.deepEqual([first.id, first.data], [ok.id, 'allowed'], 'nothing refused was delivered');
  });

  test("Symfony's EventSource client receives what Symfony's publisher sends", async () => {
    const topic = `${BOOKS}php-to-php`;
    const sub = symfonySubscribe(hub, [topic], { count: 2 });
    const [open] = await sub.waitFor(1);
    assert.deepEqual(open, { open: true, status: 200, http_version: '1.1', last_event_id: null });
    const results = await symfonyPublish(
      hub,
      [{ topics: [topic], data: 'one\ntwo', type: 'book', retry: 1500 }, { topics: [topic], data: 'three' }],
      { token: await publisherToken() },
    );
    const lines = await sub.done;
    assert.deepEqual(lines.slice(1), [
      { id: results[0].id, type: 'book', data: 'one\ntwo', retry: 1.5 },
      { id: results[1].id, type: 'message', data: 'three', retry: 0 },
    ]);
  });
});

describe('Symfony clients over HTTPS', () => {
  const certs = makeCerts();
  const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', CERT_FILE: certs.ec.cert, KEY_FILE: certs.ec.key } });
  after(() => certs.remove());

  test('curl publishes over HTTP/2, the native client over HTTP/1.1; EventSource clients on HTTP/2 get them', async () => {
    assert.match(hub.hubUrl, /^https:/);
    const topic = `${BOOKS}tls`;
    const ca = certs.ec.cert;
    const anonymous = symfonySubscribe(hub, [topic], { count: 2, ca });
    const authorized = symfonySubscribe(hub, [topic], { count: 2, ca, token: await subscriberToken([topic]) });
    await Promise.all([anonymous.waitFor(1), authorized.waitFor(1)]);
    const token = await publisherToken();
    const [secret] = await symfonyPublish(hub, [{ topics: [topic], data: 'private, over h2', private: true }], { token, ca });
    const [viaNative] = await symfonyPublish(hub, [{ topics: [topic], data: 'over http/1.1' }], { token, client: 'native', ca });
    const [viaCurl] = await symfonyPublish(hub, [{ topics: [topic], data: 'over h2' }], { token, ca });
    assert.deepEqual([secret.http_version, viaNative.http_version, viaCurl.http_version], ['2', '1.1', '2']);
    const [, ...seen] = await anonymous.done;
    assert.deepEqual(seen.map((e) => [e.id, e.data]), [[viaNative.id, 'over http/1.1'], [viaCurl.id, 'over h2']]);
    const [open, ...all] = await authorized.done;
    assert.deepEqual(open, { open: true, status: 200, http_version: '2', last_event_id: null });
    assert.deepEqual(all.map((e) => [e.id, e.data]), [[secret.id, 'private, over h2'], [viaNative.id, 'over http/1.1']]);
  });
});

describe('Symfony EventSource client resuming on a durable hub', () => {
  const hub = useStoreHub();

  test('Last-Event-ID given by the application: the updates after it, and the header naming it', async () => {
    const topic = `${BOOKS}resume`;
    const token = await publisherToken();
    const ids = (
      await symfonyPublish(hub, ['a', 'b', 'c'].map((data) => ({ topics: [topic], data })), { token })
    ).map((r) => r.id);
    const sub = symfonySubscribe(hub, [topic], { count: 2, lastEventId: ids[0], client: 'native' });
    const lines = await sub.done;
    assert.deepEqual(lines[0], { open: true, status: 200, http_version: '1.1', last_event_id: ids[0] });
    assert.deepEqual(lines.slice(1).map((e) => [e.id, e.data]), [[ids[1], 'b'], [ids[2], 'c']]);
  });
});

describe('Symfony EventSource client across a crash of the hub', () => {
  test('it reconnects by itself with Last-Event-ID to the restarted hub and misses nothing', async (t) => {
    const dir = makeTempDir('mercure-symfony-');
    const env = { ADDR: `127.0.0.1:${await freePort()}`, METRICS_ENABLED: '1' };
    let hub = await startStoreHub(dir.path, { env });
    t.after(async () => {
      await hub.kill();
      dir.remove();
    });
    const topic = `${BOOKS}crash`;
    const token = await publisherToken();
    const sub = symfonySubscribe(hub, [topic], { count: 3 });
    await sub.waitFor(1);
    // retry: the client comes back 5 s after losing its connection (its default is 10 s): the
    // restarted hub stores the next updates before that, so they can only come from its history.
    const [before] = await symfonyPublish(hub, [{ topics: [topic], data: 'before', retry: 5000 }], { token });
    await sub.waitFor(2);
    await hub.kill();  // SIGKILL: the client sees its connection reset
    hub = await startStoreHub(dir.path, { env });
    const after = await symfonyPublish(hub, ['after 1', 'after 2'].map((data) => ({ topics: [topic], data })), { token });
    assert.equal((await scrape(hub)).value('mercure_subscribers_total'), 0, 'published before the client came back');
    const [, ...events] = await sub.done;
    assert.deepEqual(
      events.map((e) => [e.id, e.data]),
      [[before.id, 'before'], [after[0].id, 'after 1'], [after[1].id, 'after 2']],
    );
    const metrics = await scrape(hub);
    assert.equal(metrics.value('mercure_subscribers_total'), 1);
    assert.equal(metrics.value('mercure_deliveries_total', { source: 'history' }), 2, 'resumed from "before"');
  });
});
