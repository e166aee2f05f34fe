// Generates tests/data/uri_template_cases.json: (template, topic, match) triples whose expected
// answer comes from an independent RFC 6570 implementation, npm `uri-templates` (fromUri).
// Deterministic (seeded PRNG). Run from the repository root:
//   node scripts/gen-uri-template-cases.mjs
//
// Positive cases are expansions made by the library's own fill(); negative cases are those
// expansions with a literal part of the template changed. Every case keeps the oracle's verdict.
// Where uri-templates is more permissive than RFC 6570 and the reference hub (a simple `{var}`
// matching "1/2", prefixes `{var:3}` not bounding length), it is not used as an oracle: those
// behaviours are pinned by the hand-written table in tests/unit/core/uri_template_test.cpp.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const UriTemplate = require('uri-templates');

let seed = 0x6d657263;
function rand() {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (n) => Math.floor(rand() * n);

const bases = ['https://example.com', 'http://localhost:3000', 'urn:example', '', 'https://ex.org/api/v1'];
const paths = ['/books', '/users/', '/a/b', '', '/search', '/items-list'];
const operators = ['', '+', '#', '.', '/', ';', '?', '&'];
const names = ['id', 'x', 'page', 'q', 'user_id', 'v2'];
const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';
const specials = [' ', 'é', '%', '/', '?', '&', '=', ',', '#', ':'];

function value(allowSpecial) {
  const n = 1 + int(6);
  let s = '';
  for (let i = 0; i < n; i++) s += allowSpecial && rand() < 0.15 ? pick(specials) : pick(alphabet);
  return s;
}

function makeTemplate() {
  const op = pick(operators);
  const count = 1 + int(3);
  const vars = [];
  const used = new Set();
  for (let i = 0; i < count; i++) {
    let n = pick(names);
    while (used.has(n)) n = pick(names);
    used.add(n);
    const explode = rand() < 0.2;
    vars.push({ name: n, explode });
  }
  const expr = '{' + op + vars.map((v) => v.name + (v.explode ? '*' : '')).join(',') + '}';
  const tail = rand() < 0.4 ? pick(['/edit', '.json', '/x', '']) : '';
  return { template: pick(bases) + pick(paths) + expr + tail, vars, op, prefixLen: 0 };
}

function fillValues(vars) {
  const obj = {};
  for (const v of vars) {
    if (rand() < 0.15) continue; // undefined variable
    if (v.explode && rand() < 0.5) {
      obj[v.name] = Array.from({ length: 1 + int(3) }, () => value(false));
    } else {
      obj[v.name] = value(rand() < 0.3);
    }
  }
  return obj;
}

function mutate(topic, template) {
  // Change a byte of the literal prefix (before the first expression), so the topic cannot
  // be an expansion of the template unless a variable absorbs the change.
  const literal = template.slice(0, template.indexOf('{'));
  if (literal.length === 0) return null; // nothing literal to change: no negative case
  const i = int(literal.length);
  const replacement = literal[i] === 'z' ? 'y' : 'z';
  return topic.slice(0, i) + replacement + topic.slice(i + 1);
}

const cases = [];
const seen = new Set();
while (cases.length < 600) {
  const t = makeTemplate();
  const tpl = new UriTemplate(t.template);
  const topic = tpl.fill(fillValues(t.vars));
  const negative = rand() < 0.4;
  const candidate = negative ? mutate(topic, t.template) : topic;
  if (candidate === null) continue;
  const key = t.template + '\u0001' + candidate;
  if (seen.has(key)) continue;
  seen.add(key);
  const match = tpl.fromUri(candidate) !== undefined;
  if (!negative && !match) {
    throw new Error(`oracle rejects its own expansion: ${t.template} -> ${candidate}`);
  }
  cases.push({ template: t.template, topic: candidate, match });
}

const out = new URL('../tests/data/uri_template_cases.json', import.meta.url);
writeFileSync(out, JSON.stringify(cases, null, 1) + '\n');
const positives = cases.filter((c) => c.match).length;
console.log(`wrote ${cases.length} cases (${positives} matching, ${cases.length - positives} not) to ${out.pathname}`);
