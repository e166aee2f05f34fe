// Generates tests/data/uri_template_cases.json: (template, topic, match) cases for the hub's
// RFC 6570 matcher (src/core/uri_template.cpp), with the expected answer taken from an
// independent implementation, npm `uri-templates` 0.2.0: match = fromUri(topic) !== undefined
// (a thrown URIError counts as "no match").
//
//   node scripts/gen-uri-template-cases.mjs        (from the repository root; deterministic)
//
// Positive topics are expansions made by the library's own fill() with random values; negative
// candidates are those expansions mutated (a byte replaced, inserted or deleted, a suffix
// appended, parameters reordered or renamed, the topic truncated). Every operator, prefix and
// explode modifiers, several variables and several expressions are covered.
//
// Where the oracle is demonstrably wrong, the case is kept and marked: "match" holds the answer
// the hub must give, "oracle" the library's answer and "reason" why the library is wrong.
// The verdict for those cases comes from a second, deliberately simple matcher below
// (`reference`): the template translated to a JavaScript RegExp that accepts exactly the
// expansions of the template, values being runs of the characters the operator emits
// unencoded plus %XX triplets (as in the reference Go hub, yosida95/uritemplate's Regexp()).
// The reason is found by relaxing that matcher one rule at a time until it agrees with the
// oracle. Known ways in which uri-templates 0.2.0 is wrong:
//   - it does not check characters: {id} matches "1/2", "a b" or "é" (unsafe: a selector for
//     one path segment would match deeper topics); its fill() even leaves ' ( ) * unencoded;
//   - it ignores prefix lengths: {id:3} matches "12345";
//   - named operators accept any name: {?q} matches "?foo=1", and "?q" without "=";
//   - it reorders or drops values: {?q,r} matches "?r=1&q=2", {/a,b} matches "/x/y/z";
//   - its greedy left-to-right split misses valid expansions (false negatives).
// The Go hub agrees with uri-templates on names, order and prefixes (its regexp checks none of
// them); here the definition "some values expand to the topic" decides, as documented in
// src/core/uri_template.hpp.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const UriTemplate = require('uri-templates');

const kCaseCount = 1200;

// ---- deterministic randomness (mulberry32) -------------------------------------------------
let seed = 0x6d657263;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (n) => Math.floor(rand() * n);
const chance = (p) => rand() < p;

// ---- templates ------------------------------------------------------------------------------
const operators = ['', '+', '#', '.', '/', ';', '?', '&'];
const names = ['id', 'x', 'page', 'q', 'user_id', 'v2', 'lang', 'a.b'];
const bases = ['https://example.com', 'http://localhost:3000', 'urn:example:', '', 'https://ex.org/api/v1',
  'https://example.com/caf%C3%A9', 'https://example.com/café'];
const paths = ['/books/', '/users/', '/a/b', '', '/search', '/items-list', '/'];
const tails = ['', '', '', '/edit', '.json', '/x', '?fixed=1', '#top'];

function makeVar(used) {
  let name = pick(names);
  while (used.has(name)) name = pick(names);
  used.add(name);
  const r = rand();
  if (r < 0.2) return { name, explode: true, prefix: 0 };
  if (r < 0.4) return { name, explode: false, prefix: pick([1, 2, 3, 5, 8, 30]) };
  return { name, explode: false, prefix: 0 };
}

function makeTemplate() {
  const expressions = [];
  const count = chance(0.25) ? 2 : 1;
  for (let e = 0; e < count; e++) {
    const used = new Set();
    const vars = Array.from({ length: 1 + int(3) }, () => makeVar(used));
    expressions.push({ op: pick(operators), vars });
  }
  const literals = [pick(bases) + pick(paths)];
  for (let e = 1; e < count; e++) literals.push(pick(['/', '', '-', '/sub/', '.']));
  literals.push(pick(tails));
  let text = literals[0];
  expressions.forEach((e, i) => {
    const spec = e.vars.map((v) => v.name + (v.explode ? '*' : v.prefix ? ':' + v.prefix : '')).join(',');
    text += '{' + e.op + spec + '}' + literals[i + 1];
  });
  return { text, literals, expressions };
}

// ---- values ---------------------------------------------------------------------------------
const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';
// Characters every operator must percent-encode (or, for + and #, may keep as reserved).
const specials = [' ', 'é', '%', '/', '?', '&', '=', ',', '#', ':', ';', '!', '@', '+', '[', '😀', '%41'];
// uri-templates' fill() leaves these unencoded in every operator, although RFC 6570 reserves them.
const fillBug = ["'", '(', ')', '*'];

function string(special) {
  let s = '';
  const n = int(7);
  for (let i = 0; i < n; i++) {
    s += special && chance(0.2) ? pick(specials) : special && chance(0.02) ? pick(fillBug) : pick(alphabet);
  }
  return s;
}

function valuesFor(expressions) {
  const special = chance(0.35);
  const values = {};
  const prefixed = new Set(expressions.flatMap((e) => e.vars.filter((v) => v.prefix).map((v) => v.name)));
  for (const e of expressions) {
    for (const v of e.vars) {
      if (v.name in values || chance(0.15)) continue; // undefined
      const r = rand();
      if (prefixed.has(v.name) || r < 0.5) values[v.name] = string(special); // prefixes take strings only
      else if (r < 0.75) values[v.name] = Array.from({ length: 1 + int(3) }, () => string(special));
      else {
        const obj = {};
        for (let i = 1 + int(2); i > 0; i--) obj[string(false) || 'k'] = string(special);
        values[v.name] = obj;
      }
    }
  }
  return values;
}

// ---- mutations ------------------------------------------------------------------------------
const inserted = ['/', '?', '&', '=', ',', '#', ';', '.', ' ', 'é', '%', '%2', '%zz', '{', "'", ':', '@', '!',
  '+', 'a', 'Z', '9', '%41'];
const suffixes = ['/extra', '?x=1', '&y=2', ';z', '.json', '#f', ',v', '=', 'a'];

function mutate(topic, t) {
  const kind = int(8);
  const at = int(topic.length + 1);
  switch (kind) {
    case 0: { // change a byte of the literal prefix
      const lit = t.literals[0];
      if (!lit) return null;
      const i = int(lit.length);
      return topic.slice(0, i) + (topic[i] === 'z' ? 'y' : 'z') + topic.slice(i + 1);
    }
    case 1:
    case 2:
      return topic.slice(0, at) + pick(inserted) + topic.slice(at);
    case 3:
      return topic.length ? topic.slice(0, Math.max(0, at - 1)) + topic.slice(at) : null;
    case 4:
      return topic + pick(suffixes);
    case 5:
      return topic.length ? topic.slice(0, int(topic.length)) : null;
    case 6: { // reorder the parts after the first "?", ";" or "&"
      const m = topic.match(/^([^?;&]*[?;&])(.*)$/);
      if (!m) return null;
      const sep = /[&;]/.exec(m[2]);
      if (!sep) return null;
      const parts = m[2].split(sep[0]);
      return m[1] + parts.reverse().join(sep[0]);
    }
    default: { // rename a parameter
      const renamed = topic.replace(/([?;&])([A-Za-z0-9_.]+)/, (_, p, n) => p + n + 'x');
      return renamed === topic ? null : renamed;
    }
  }
}

// ---- the second matcher: template -> RegExp of its expansions ---------------------------------
const kUnreserved = 'A-Za-z0-9\\-._~';
const kReserved = ":/?#\\[\\]@!$&'()*+,;=";
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const group = (s) => '(?:' + s + ')';

// relax: { chars, prefix, names, order } each loosens one rule, to explain the oracle.
function reference(t, relax = {}) {
  const run = (set) => (relax.chars ? '[^]*' : group('[' + set + ']|%[0-9A-Fa-f]{2}') + '*');
  const bounded = (set, n) => {
    if (relax.prefix) return run(set);
    if (relax.chars) return '[^]{0,' + n + '}';
    const cont = '%[89ABab][0-9A-Fa-f]'; // a UTF-8 continuation byte belongs to the previous character
    return group(cont) + '*' + group(group('[' + set + ']|%[0-7C-Fc-f][0-9A-Fa-f]') + group(cont) + '*') +
      '{0,' + n + '}';
  };
  let re = '^' + escapeRe(t.literals[0]);
  t.expressions.forEach((e, i) => {
    const op = e.op;
    const reserved = op === '+' || op === '#';
    const named = op === ';' || op === '?' || op === '&';
    const ifempEq = op === '?' || op === '&';
    const first = { '': '', '+': '', '#': '#', '.': '.', '/': '/', ';': ';', '?': '?', '&': '&' }[op];
    const sep = { '': ',', '+': ',', '#': ',', '.': '.', '/': '/', ';': ';', '?': '&', '&': '&' }[op];
    const item = reserved ? kUnreserved + kReserved : kUnreserved;
    const vars = e.vars.map((v) => {
      const value = v.prefix ? bounded(item, v.prefix) : run(reserved ? item : item + ','); // "," joins lists
      const keyed = (key, val) => key + (ifempEq && !relax.names ? '=' + val : group('=' + val) + '?');
      if (!v.explode) {
        if (!named) return value;
        return keyed(relax.names ? run(item) : escapeRe(v.name), value);
      }
      let one;
      if (named) one = keyed(run(item), run(item)); // list: name=value; array: key=value
      else if (reserved) one = run(item);
      else one = run(item) + group('=' + run(item)) + '?';
      return group(one) + group(escapeRe(sep) + group(one)) + '*';
    });
    let body;
    if (relax.order) {
      const any = group(vars.join('|'));
      body = any + group(escapeRe(sep) + any) + '*';
    } else { // the defined variables, in template order
      body = group(vars.map((_, k) => vars[k] + vars.slice(k + 1).map((w) => group(escapeRe(sep) + w) + '?').join(''))
        .join('|'));
    }
    re += group(escapeRe(first) + body) + '?' + escapeRe(t.literals[i + 1]);
  });
  return new RegExp(re + '$', 'u').test.bind(new RegExp(re + '$', 'u'));
}

// [relaxation, category, why uri-templates is wrong]
const relaxations = [
  ['chars', 'characters', 'uri-templates does not check characters, and this value holds characters the ' +
    'operator always percent-encodes (RFC 6570 3.2.1; the Go hub rejects them too)'],
  ['prefix', 'prefix', 'uri-templates ignores the prefix modifier, and this value is longer than {var:n} allows'],
  ['names', 'names', 'uri-templates accepts any parameter name in a ;/?/& expression, and a name without "=" ' +
    'for ?/&'],
  ['order', 'order', 'uri-templates reorders, repeats or drops variables, and this is not an expansion in ' +
    'template order'],
];

// Returns [category, reason] for a topic the oracle accepts and the reference does not.
function explain(t, topic) {
  const sets = relaxations.map((r) => [r]);
  for (let i = 0; i < relaxations.length; i++) {
    for (let j = i + 1; j < relaxations.length; j++) sets.push([relaxations[i], relaxations[j]]);
  }
  sets.push(relaxations);
  for (const set of sets) {
    if (reference(t, Object.fromEntries(set.map(([a]) => [a, true])))(topic)) {
      return [set.map((r) => r[1]).join('+'), set.map((r) => r[2]).join('; ')];
    }
  }
  throw new Error(`unexplained oracle match: ${t.text} -> ${topic}`);
}

function oracle(tpl, topic) {
  try {
    return tpl.fromUri(topic) !== undefined;
  } catch {
    return false; // URIError on malformed percent-encoding
  }
}

// ---- generation -------------------------------------------------------------------------------
const cases = [];
const seen = new Set();
const stats = { byOperator: {}, disagreements: {} };
while (cases.length < kCaseCount) {
  const t = makeTemplate();
  const tpl = new UriTemplate(t.text);
  const values = valuesFor(t.expressions);
  let expansion;
  try {
    expansion = tpl.fill(values);
  } catch {
    continue; // a prefix cut a surrogate pair in half: fill() throws URIError
  }
  const negative = chance(0.55);
  const topic = negative ? mutate(expansion, t) : expansion;
  if (topic === null || topic === t.text) continue;
  const key = t.text + '\u0001' + topic;
  if (seen.has(key)) continue;
  seen.add(key);

  const byOracle = oracle(tpl, topic);
  const byReference = reference(t)(topic);
  const entry = { template: t.text, topic, match: byReference };
  if (byOracle !== byReference) {
    entry.oracle = byOracle;
    let category;
    if (byOracle) {
      [category, entry.reason] = explain(t, topic);
    } else if (!negative) {
      entry.reason = 'uri-templates rejects an expansion made by its own fill() from ' + JSON.stringify(values) +
        ' (its greedy left-to-right split of the topic)';
      category = 'false negative (own fill)';
    } else {
      entry.reason = 'uri-templates rejects a topic that is an expansion of the template (the reference ' +
        'matcher finds values for it)';
      category = 'false negative (mutated topic still an expansion)';
    }
    stats.disagreements[category] = (stats.disagreements[category] || 0) + 1;
  } else if (!negative && !byReference && !/['()*]/.test(JSON.stringify(values))) {
    throw new Error(`both matchers reject an expansion: ${t.text} -> ${topic}`);
  }
  for (const e of t.expressions) stats.byOperator[e.op || 'simple'] = (stats.byOperator[e.op || 'simple'] || 0) + 1;
  cases.push(entry);
}

const out = new URL('../tests/data/uri_template_cases.json', import.meta.url);
writeFileSync(out, '[\n' + cases.map((c) => JSON.stringify(c)).join(',\n') + '\n]\n');
const positives = cases.filter((c) => c.match).length;
const marked = cases.filter((c) => 'oracle' in c).length;
console.log(`wrote ${cases.length} cases (${positives} matching, ${cases.length - positives} not; ` +
  `${marked} where uri-templates is overruled) to ${out.pathname}`);
console.log('expressions per operator:', JSON.stringify(stats.byOperator));
console.log('overruled:', JSON.stringify(stats.disagreements, null, 1));
