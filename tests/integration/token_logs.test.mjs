// Issue 4, acceptance 4: a 401 for each token failure mode logs one line that names the failed
// check (`check=<slug>`) and the caller's address, for publishers and subscribers, and never
// the token itself. Tokens are minted by npm `jose` (tests/lib/tokens.mjs). A flood of them is
// sampled (at most 100 lines a second per worker, then one line says how many were not logged)
// while the metrics count every one.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../lib/hub.mjs';
import { DEFAULT_TIMEOUT_MS, HUB_PATH, publish, request, subscribe } from '../lib/http.mjs';
import { scrape } from '../lib/prometheus.mjs';
import { mint, nowSeconds, tamper, unsecuredToken } from '../lib/tokens.mjs';

const REJECTED_RE = /(publish|subscribe) rejected: 401 .*$/gm;

/** The token failure modes: [name, expected check, token for `claims`]. */
async function failureModes(claims) {
  const valid = await mint(claims);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return [
    ['malformed (not a JWS)', 'format', 'not-a-token'],
    ['bad base64 in the payload', 'format', `${valid.split('.')[0]}.%%%.${valid.split('.')[2]}`],
    ['header that is not JSON', 'format', `${Buffer.from('nope').toString('base64url')}.${b64(claims)}.c2ln`],
    ['signed with another key', 'signature', await mint(claims, { key: 'another secret, not the hub one!!' })],
    ['tampered payload', 'signature', tamper(valid, { ...claims, extra: 1 })],
    ['alg none', 'alg', unsecuredToken(claims)],
    ['alg HS512 while HS256 is configured', 'alg', await mint(claims, { alg: 'HS512' })],
    ['expired', 'exp', await mint({ ...claims, exp: nowSeconds() - 60 })],
    ['not yet valid', 'nbf', await mint({ ...claims, nbf: nowSeconds() + 3600 })],
    ['issued in the future', 'iat', await mint({ ...claims, iat: nowSeconds() + 3600 })],
    ['exp of the wrong JSON type', 'claims', await mint({ ...claims, exp: 'tomorrow' })],
    ['mercure claim of the wrong JSON type', 'claims', await mint({ mercure: { publish: '*', subscribe: '*' } })],
  ];
}

describe('a 401 logs one line naming the failed check', () => {
  let hub;
  let requests = 0;
  const tokens = [];
  before(async () => {
    hub = await startHub();
  });
  after(async () => {
    if (hub) await hub.stop();
  });

  /** Waits for the next rejection line after `offset` in the hub's stderr; returns it. */
  async function nextRejection(offset, what) {
    const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
    for (;;) {
      REJECTED_RE.lastIndex = 0;
      const lines = hub.stderr().slice(offset).match(REJECTED_RE) ?? [];
      if (lines.length > 0) {
        assert.equal(lines.length, 1, `${what}: one line per request, got:\n${lines.join('\n')}`);
        return lines[0];
      }
      assert.ok(Date.now() < deadline, `${what}: no rejection logged in:\n${hub.stderr().slice(offset)}`);
      await new Promise((r) => setTimeout(r, 10)); // polling the captured log, with a deadline
    }
  }

  /** Sends one request expected to be refused with 401; checks its one log line. */
  async function expectLogged(role, what, check, send, token) {
    const offset = hub.stderr().length;
    const res = await send();
    assert.equal(res.status, 401, `${role} ${what}: status`);
    requests++;
    if (token) tokens.push(token);
    const line = await nextRejection(offset, `${role} ${what}`);
    assert.match(line, new RegExp(`^${role} rejected: 401 `), `${role} ${what}: ${line}`);
    assert.match(line, new RegExp(`\\(check=${check}, from 127\\.0\\.0\\.1:\\d+\\)$`), `${role} ${what}: ${line}`);
    return line;
  }

  test('publishers: every token failure mode', async () => {
    for (const [what, check, token] of await failureModes({ mercure: { publish: ['*'] } })) {
      await expectLogged('publish', what, check, () => publish(hub, { topic: 'https://example.com/a' }, { token }), token);
    }
  });

  test('subscribers: every token failure mode', async () => {
    for (const [what, check, token] of await failureModes({ mercure: { subscribe: ['*'] } })) {
      await expectLogged(
        'subscribe',
        what,
        check,
        async () => {
          const res = await subscribe(hub, ['https://example.com/a'], { token });
          res.close();
          return res;
        },
        token,
      );
    }
  });

  test('missing tokens, and an Authorization header that is not a Bearer token', async () => {
    await expectLogged('publish', 'no token', 'missing', () => publish(hub, { topic: 'https://example.com/a' }));
    await expectLogged('subscribe', 'no token (anonymous off)', 'missing', async () => {
      const res = await subscribe(hub, ['https://example.com/a']);
      res.close();
      return res;
    });
    await expectLogged('publish', 'Basic credentials', 'format', () =>
      publish(hub, { topic: 'https://example.com/a' }, { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }),
    );
    await expectLogged('subscribe', 'empty authorization parameter', 'format', async () => {
      const res = await subscribe(hub, ['https://example.com/a'], { extra: [['authorization', '']] });
      res.close();
      return res;
    });
  });

  test('a cookie-authenticated publish from a foreign origin names the origin check', async () => {
    const token = await mint({ mercure: { publish: ['*'] } });
    await expectLogged(
      'publish',
      'cookie from a foreign origin',
      'origin',
      () =>
        request(hub, {
          method: 'POST',
          path: HUB_PATH,
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            Cookie: `mercureAuthorization=${token}`,
            Origin: 'https://evil.example',
          },
          body: 'topic=https%3A%2F%2Fexample.com%2Fa',
        }),
      token,
    );
  });

  test('no token ever appears in the log, and there is one rejection line per request', () => {
    const log = hub.stderr();
    for (const token of tokens) {
      assert.equal(log.includes(token), false, `a token was logged: ${token}`);
      // Nor any of its signed parts (payload and signature).
      for (const part of token.split('.').slice(1)) {
        if (part.length >= 16) assert.equal(log.includes(part), false, `part of a token was logged: ${part}`);
      }
    }
    REJECTED_RE.lastIndex = 0;
    assert.equal((log.match(REJECTED_RE) ?? []).length, requests);
  });
});

describe('a flood of refusals does not flood the log', () => {
  let hub;
  before(async () => {
    hub = await startHub({ workers: 1, env: { METRICS_ENABLED: '1' } });
  });
  after(async () => {
    if (hub) await hub.stop();
  });

  const LINE_RE = /^.*publish rejected: 401 .*$/gm;
  const SUMMARY_RE = /\[and (\d+) more refusals not logged: at most 100 lines a second\]$/;

  async function refusedCount() {
    const e = await scrape(hub);
    return e.family('mercure_requests_rejected_total').samples.reduce((n, s) => n + s.value, 0);
  }

  test('the first 100 lines of a second are logged, the rest counted, and the next line says how many', async () => {
    const refuse = async () => {
      const res = await publish(hub, { topic: 'https://example.com/flood' }, { token: 'not-a-token' });
      assert.equal(res.status, 401);
    };
    const lines = () => hub.stderr().match(LINE_RE) ?? [];
    let sent = 0;
    // Concurrent bursts until some refusals went unlogged (the metrics count them all).
    const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
    while (lines().length >= sent) {
      assert.ok(Date.now() < deadline, `every one of ${sent} refusals was logged`);
      await Promise.all(Array.from({ length: 50 }, refuse));
      sent += 50;
    }
    // One at a time until a line names the refusals left out: the first of the next second.
    let summary;
    while (!(summary = lines().find((l) => SUMMARY_RE.test(l)))) {
      assert.ok(Date.now() < deadline, 'no line said how many refusals were not logged');
      await refuse();
      sent += 1;
    }
    const all = lines();
    const before = all.indexOf(summary);
    assert.ok(before >= 100, `${before} lines before the first summary: the burst is 100 a second`);
    assert.match(summary, /publish rejected: 401 .* \(check=format, from 127\.0\.0\.1:\d+\) \[and/);
    const leftOut = all.reduce((n, l) => n + Number(SUMMARY_RE.exec(l)?.[1] ?? 0), 0);
    assert.ok(leftOut > 0);
    assert.equal(await refusedCount(), sent, 'the metrics count every refusal');
    assert.ok(all.length + leftOut <= sent, `${all.length} lines + ${leftOut} left out > ${sent} refusals`);
    assert.ok(all.length < sent);
  });
});
