// Independent oracle for topic selectors, built on npm `uri-templates` (not the hub's code):
// a topic matches a template when de-substituting the topic and expanding the values again
// gives back the topic byte for byte (i.e. the topic is a possible expansion).

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { subscribeOk, publishOk } from './http.mjs';

const require = createRequire(import.meta.url);
const uriTemplates = require('uri-templates');

export function templateMatches(template, topic) {
  const t = uriTemplates(template);
  const values = t.fromUri(topic);
  return values !== undefined && t.fill(values) === topic;
}

/** Only valid templates may be given here (the oracle's parser is lenient). */
export function selectorMatches(selector, topic) {
  if (selector === '*' || selector === topic) return true;
  if (!selector.includes('{')) return false;
  return templateMatches(selector, topic);
}

export function updateMatches(selectors, topics) {
  return topics.some((topic) => selectors.some((s) => selectorMatches(s, topic)));
}

/**
 * Which candidate updates reach a subscriber: subscribes with `selectors` (plus a marker
 * topic), publishes each candidate in order (data = its index), then the marker, and waits
 * for the marker. Resolves with the indices delivered, in arrival order (duplicates kept).
 * Candidates: a topic string, an array of topics, or {topics, private}.
 */
export async function deliveredIndices(hub, selectors, candidates, { subToken, pubToken, timeoutMs } = {}) {
  const marker = `urn:marker:${randomUUID()}`;
  const sub = await subscribeOk(hub, [...selectors, marker], { token: subToken });
  try {
    for (const [i, c] of candidates.entries()) {
      const spec = typeof c === 'string' || Array.isArray(c) ? { topics: [c].flat() } : c;
      const fields = [...spec.topics.map((t) => ['topic', t]), ['data', String(i)]];
      if (spec.private) fields.push(['private', 'on']);
      await publishOk(hub, fields, { token: pubToken });
    }
    await publishOk(hub, [['topic', marker], ['data', 'marker']], { token: pubToken });
    await sub.waitForEvent((e) => e.data === 'marker', { timeoutMs, what: 'the marker update' });
    return sub.events.filter((e) => e.data !== 'marker').map((e) => Number(e.data));
  } finally {
    sub.close();
  }
}
