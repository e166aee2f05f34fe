// A page at the hub's own origin (what a protocol test suite driving a browser does: it opens the
// hub URL, then runs EventSource and fetch() there): updates published by the page with a bearer
// token reach the page's native EventSource when a selector matches (exact topics, one of several
// topics, URI templates), and never when none does or the update is private and the subscriber
// anonymous. Whether an update did not arrive is decided by a later update that does.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launchChromium } from '../lib/browser.mjs';
import { startHub } from '../lib/hub.mjs';
import { publisherToken } from '../lib/tokens.mjs';

const rand = () => randomBytes(12).toString('hex');

// name, topics of the update, selectors of the subscription, delivered?, private?
const CASES = [
  ['an exact topic', [`t-${rand()}`], (topics) => [topics[0]], true],
  ['one of two topics', [`other-${rand()}`, `t-${rand()}`], (topics) => [topics[1]], true],
  ['one of two selectors', [`t-${rand()}`], (topics) => ['nothing-here', topics[0]], true],
  ['an https URL', [`https://example.net/items/${rand()}`], (topics) => [topics[0]], true],
  ['a URI template', [`https://example.net/items/${rand()}`], () => ['https://example.net/items/{id}'], true],
  ['another string', [`no-match-${rand()}}`], () => ['something-else'], false],
  ['another URL', [`https://example.net/items/no-${rand()}`], () => ['https://example.net/items/other'], false],
  ['a template of another path', [`https://example.net/items/${rand()}`], () => ['https://example.net/other/{id}'], false],
  ['private, exact topic', [`t-${rand()}`], (topics) => [topics[0]], false, true],
  ['private, URI template', [`https://example.net/items/${rand()}`], () => ['https://example.net/items/{id}'], false, true],
];

// Runs in the page: subscribes to `selectors` plus a sentinel topic, publishes the update then
// one on the sentinel (same hub, so delivered after it), and reports what arrived before the
// sentinel's update.
async function runInPage({ selectors, topics, isPrivate, id, data, sentinel, token }) {
  const url = new URL('/.well-known/mercure', window.origin);
  for (const s of [...selectors, sentinel]) url.searchParams.append('topic', s);
  const es = new EventSource(url);
  const seen = [];
  const done = new Promise((resolve, reject) => {
    es.onmessage = (e) => {
      seen.push({ id: e.lastEventId, data: e.data });
      if (e.data === 'sentinel') resolve();
    };
    setTimeout(() => reject(new Error(`no sentinel within 10 s; seen ${JSON.stringify(seen)}`)), 10_000);
  });
  await new Promise((resolve, reject) => {
    es.onopen = resolve;
    es.onerror = () => reject(new Error(`EventSource failed (readyState ${es.readyState})`));
  });
  const publish = async (form) => {
    const resp = await fetch('/.well-known/mercure', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
    return { status: resp.status, type: resp.headers.get('Content-Type'), body: await resp.text() };
  };
  const form = new URLSearchParams();
  for (const t of topics) form.append('topic', t);
  form.set('id', id);
  form.set('data', data);
  if (isPrivate) form.set('private', 'on');
  const published = await publish(form);
  const sentinelForm = new URLSearchParams({ topic: sentinel, data: 'sentinel' });
  const sentinelPublished = await publish(sentinelForm);
  await done;
  es.close();
  return { published, sentinelPublished, seen };
}

describe('a page at the hub origin publishes and subscribes', () => {
  let hub;
  let browser;
  let page;
  let token;

  before(async () => {
    hub = await startHub({ env: { ALLOW_ANONYMOUS: '1' } });
    browser = await launchChromium();
    page = await browser.newPage();
    const resp = await page.goto(hub.hubUrl); // a 400 (no topic), but the page is at the hub origin
    assert.equal(resp.status(), 400);
    token = await publisherToken(['*']);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await hub?.stop();
  });

  for (const [name, topics, selectorsOf, delivered, isPrivate = false] of CASES) {
    test(`${delivered ? 'delivered' : 'not delivered'}: ${name}${isPrivate ? ' (anonymous subscriber)' : ''}`, async () => {
      const id = `id-${JSON.stringify(topics)}`; // a custom id with quotes, brackets and a colon
      const data = `data for\n\n    ${name}`; // blank line inside: two data: lines
      const result = await page.evaluate(runInPage, {
        selectors: selectorsOf(topics),
        topics,
        isPrivate,
        id,
        data,
        sentinel: `sentinel-${rand()}`,
        token,
      });
      assert.equal(result.published.status, 200, JSON.stringify(result));
      assert.match(result.published.type, /^text\/plain(;|$)/);
      assert.equal(result.published.body, id, 'the response body is the id the publisher chose');
      assert.equal(result.sentinelPublished.status, 200);
      const before = result.seen.filter((e) => e.data !== 'sentinel');
      assert.deepEqual(before, delivered ? [{ id, data }] : [], JSON.stringify(result.seen));
    });
  }
});
