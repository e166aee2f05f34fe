// A strict parser of Prometheus' text exposition format (version 0.0.4), so tests read
// /metrics as families, label sets and numbers instead of matching strings:
//   https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
// It throws on anything the format does not allow: a malformed line, a bad name or label, a
// duplicate series, a TYPE after the family's samples, a histogram whose buckets are not
// cumulative or do not end with le="+Inf" equal to _count.

import { request } from './http.mjs';

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

function parseValue(text, line) {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value ${JSON.stringify(text)} in: ${line}`);
  return Number(text);
}

function unescapeHelp(text) {
  return text.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
}

/** Parses `{a="x",b="y"}` starting at text[i] === '{'; returns [labels, index after '}']. */
function parseLabels(text, i, line) {
  const labels = {};
  i += 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return [labels, i + 1];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME_RE.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in: ${line}`);
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value must be quoted in: ${line}`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = text[j + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`bad escape \\${n} in: ${line}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`expected , or } after a label in: ${line}`);
  }
}

const seriesKey = (name, labels) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

/** Does `labels` contain every pair of `subset`? */
export const labelsMatch = (labels, subset = {}) => Object.entries(subset).every(([k, v]) => labels[k] === v);

/**
 * Parses an exposition. Returns a Map of family name -> {name, help, type, samples}, where each
 * sample is {name, labels, value, timestamp}; samples without TYPE form "untyped" families.
 */
export function parsePrometheus(text) {
  const families = new Map();
  const sampled = new Set(); // families that already have samples
  const seen = new Set();
  const family = (name) => {
    if (!families.has(name)) families.set(name, { name, help: undefined, type: 'untyped', typed: false, samples: [] });
    return families.get(name);
  };
  // The family of a sample name: itself, or a typed histogram/summary it is a suffix of.
  const familyOf = (sampleName) => {
    for (const [fname, f] of families) {
      for (const suffix of SUFFIXES[f.type] || []) if (sampleName === fname + suffix) return f;
    }
    return family(sampleName);
  };

  if (text.length && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) continue; // other comments are allowed
      const [, kind, name, rest = ''] = m;
      if (!NAME_RE.test(name)) throw new Error(`bad metric name in: ${line}`);
      const f = family(name);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`second HELP for ${name}`);
        f.help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest.trim())) throw new Error(`bad type in: ${line}`);
        if (f.typed) throw new Error(`second TYPE for ${name}`);
        if (sampled.has(name)) throw new Error(`TYPE for ${name} after its samples`);
        f.type = rest.trim();
        f.typed = true;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`bad sample line: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME_RE.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels = {};
    let i = nameEnd;
    if (line[i] === '{') [labels, i] = parseLabels(line, i, line);
    const parts = line.slice(i).trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error(`bad sample line: ${line}`);
    const value = parseValue(parts[0], line);
    const timestamp = parts[1] === undefined ? undefined : Number(parts[1]);
    if (parts[1] !== undefined && !Number.isInteger(timestamp)) throw new Error(`bad timestamp in: ${line}`);
    const key = seriesKey(name, labels);
    if (seen.has(key)) throw new Error(`duplicate series ${key}`);
    seen.add(key);
    const f = familyOf(name);
    sampled.add(f.name);
    f.samples.push({ name, labels, value, timestamp });
  }
  for (const f of families.values()) {
    delete f.typed;
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function checkHistogram(f) {
  const groups = new Map();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = seriesKey('', rest);
    if (!groups.has(k)) groups.set(k, { buckets: [], count: undefined });
    const g = groups.get(k);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      g.buckets.push({ le: parseValue(le, le), count: s.value });
    } else if (s.name === `${f.name}_count`) {
      g.count = s.value;
    }
  }
  for (const [k, g] of groups) {
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i].le > g.buckets[i - 1].le)) throw new Error(`${f.name}${k}: bucket bounds not ascending`);
      if (g.buckets[i].count < g.buckets[i - 1].count) throw new Error(`${f.name}${k}: buckets not cumulative`);
    }
    const last = g.buckets.at(-1);
    if (!last || last.le !== Infinity) throw new Error(`${f.name}${k}: no le="+Inf" bucket`);
    if (last.count !== g.count) throw new Error(`${f.name}${k}: +Inf bucket ${last.count} != _count ${g.count}`);
  }
}

/** A parsed exposition with lookups that fail loudly. */
export class Exposition {
  constructor(text) {
    this.text = text;
    this.families = parsePrometheus(text);
  }

  family(name) {
    const f = this.families.get(name);
    if (!f) throw new Error(`no metric family ${name}; families: ${[...this.families.keys()].join(', ')}`);
    return f;
  }

  has(name) {
    return this.families.has(name);
  }

  /** The family a sample name belongs to: itself, or the histogram/summary it is a suffix of. */
  familyOfSample(name) {
    if (this.families.has(name)) return this.families.get(name);
    for (const f of this.families.values()) {
      if ((SUFFIXES[f.type] || []).some((suffix) => name === f.name + suffix)) return f;
    }
    return this.family(name); // throws, listing the families
  }

  /** The value of the one series of `name` whose labels are exactly `labels`. */
  value(name, labels = {}) {
    const f = this.familyOfSample(name);
    const want = Object.keys(labels).length;
    const found = f.samples.filter(
      (s) => s.name === name && Object.keys(s.labels).length === want && labelsMatch(s.labels, labels),
    );
    if (found.length !== 1) {
      throw new Error(`${found.length} series ${seriesKey(name, labels)}; have: ${f.samples.map((s) => seriesKey(s.name, s.labels)).join(' ')}`);
    }
    return found[0].value;
  }

  /** The sum of the series of `name` whose labels include `subset`. */
  sum(name, subset = {}) {
    return this.familyOfSample(name)
      .samples.filter((s) => s.name === name && labelsMatch(s.labels, subset))
      .reduce((a, s) => a + s.value, 0);
  }

  /** A histogram series: {buckets: [{le, count}], sum, count}. */
  histogram(name, labels = {}) {
    const f = this.family(name);
    if (f.type !== 'histogram') throw new Error(`${name} is a ${f.type}, not a histogram`);
    const buckets = f.samples
      .filter((s) => s.name === `${name}_bucket` && labelsMatch(s.labels, labels))
      .map((s) => ({ le: parseValue(s.labels.le, s.labels.le), count: s.value }));
    return { buckets, sum: this.value(`${name}_sum`, labels), count: this.value(`${name}_count`, labels) };
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** GET `path` (default /metrics) from `target`; asserts 200 and the 0.0.4 content type. */
export async function scrape(target, { path = '/metrics' } = {}) {
  const res = await request(target, { method: 'GET', path });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  const type = res.headers['content-type'];
  if (type !== PROMETHEUS_CONTENT_TYPE) throw new Error(`GET ${path}: Content-Type ${type}`);
  return new Exposition(res.text);
}

/**
 * Scrapes until `pred(exposition)` holds; fails after `timeoutMs`. For state the hub shows
 * only through its metrics (a subscriber it cut off while that peer reads nothing).
 */
export async function waitForMetrics(target, pred, { timeoutMs = 10_000, what = 'a metrics condition', path } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await scrape(target, { path });
    if (pred(e)) return e;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
