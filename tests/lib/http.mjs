// A deliberately small HTTP/1.1 client over raw `net` sockets: tests see the exact status line,
// header lines and body bytes, can send several requests on one connection, and can stall a
// reader (pause the socket, never read) to exercise the hub's back-pressure handling.

import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export const DEFAULT_TIMEOUT_MS = Number(process.env.MERCURE_TEST_TIMEOUT_MS || 5_000);
export const HUB_PATH = '/.well-known/mercure';

/** Rejects after `ms` with a message naming what was awaited. */
export function withDeadline(promise, ms, what, details = () => '') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const extra = details();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}${extra ? `\n${extra}` : ''}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function portOf(target) {
  if (typeof target === 'number') return target;
  if (typeof target === 'string') return Number(new URL(target).port);
  return target.port;
}

/** Parses the head of an HTTP response (the bytes before the blank line). */
function parseHead(text) {
  const lines = text.split('\r\n');
  const statusLine = lines.shift();
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const headerList = [];
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    headerList.push([line.slice(0, i), line.slice(i + 1).trim()]);
  }
  const headers = {};
  for (const [name, value] of headerList) {
    const k = name.toLowerCase();
    headers[k] = k in headers ? `${headers[k]}, ${value}` : value;
  }
  return { httpVersion: m[1], status: Number(m[2]), statusText: m[3] ?? '', headerList, headers, rawHead: text };
}

/**
 * Incremental decoder of one response: head, then a body delimited by chunked encoding,
 * Content-Length, or the end of the connection. Calls back with decoded body bytes.
 */
class ResponseReader {
  constructor({ method, onHead, onBody, onEnd }) {
    this.method = method;
    this.onHead = onHead;
    this.onBody = onBody;
    this.onEnd = onEnd;
    this.state = 'head';
    this.buf = Buffer.alloc(0);
    this.head = null;
    this.remaining = 0; // bytes left in a fixed-length body or in the current chunk
    this.done = false;
  }

  /** Feeds bytes; returns leftover bytes that belong to the next response. */
  feed(data) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    for (;;) {
      if (this.done) {
        const rest = this.buf;
        this.buf = Buffer.alloc(0);
        return rest;
      }
      if (this.state === 'head') {
        const i = this.buf.indexOf('\r\n\r\n');
        if (i < 0) return null;
        const head = parseHead(this.buf.subarray(0, i).toString('latin1'));
        this.buf = this.buf.subarray(i + 4);
        if (head.status >= 100 && head.status < 200) continue; // skip interim responses
        this.head = head;
        this.onHead(head);
        const te = (head.headers['transfer-encoding'] || '').toLowerCase();
        const noBody = this.method === 'HEAD' || head.status === 204 || head.status === 304;
        if (noBody) {
          this.finish();
        } else if (te.includes('chunked')) {
          this.state = 'chunk-size';
        } else if (head.headers['content-length'] !== undefined) {
          this.remaining = Number(head.headers['content-length']);
          this.state = 'fixed';
          if (this.remaining === 0) this.finish();
        } else {
          this.state = 'until-close';
        }
        continue;
      }
      if (this.state === 'fixed') {
        if (!this.buf.length) return null;
        const n = Math.min(this.remaining, this.buf.length);
        this.onBody(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.finish();
        continue;
      }
      if (this.state === 'until-close') {
        if (this.buf.length) this.onBody(this.buf);
        this.buf = Buffer.alloc(0);
        return null;
      }
      if (this.state === 'chunk-size') {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) return null;
        const line = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        const size = parseInt(line.split(';')[0].trim(), 16);
        if (Number.isNaN(size)) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
        if (size === 0) {
          this.state = 'trailers';
        } else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
        continue;
      }
      if (this.state === 'chunk-data') {
        if (!this.buf.length) return null;
        const n = Math.min(this.remaining, this.buf.length);
        this.onBody(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'chunk-crlf';
        continue;
      }
      if (this.state === 'chunk-crlf') {
        if (this.buf.length < 2) return null;
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) throw new Error('missing CRLF after chunk');
        this.buf = this.buf.subarray(2);
        this.state = 'chunk-size';
        continue;
      }
      if (this.state === 'trailers') {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) return null;
        const line = this.buf.subarray(0, i);
        this.buf = this.buf.subarray(i + 2);
        if (line.length === 0) this.finish();
        continue;
      }
      throw new Error(`unknown state ${this.state}`);
    }
  }

  finish() {
    if (this.done) return;
    this.done = true;
    this.onEnd('complete');
  }

  /** The connection ended: a close-delimited body completes, anything else is truncated. */
  closed() {
    if (this.done) return;
    this.done = true;
    this.onEnd(this.state === 'until-close' ? 'complete' : 'connection-closed');
  }
}

/** Incremental text/event-stream parser that also keeps the exact text of every frame. */
export class SseParser {
  constructor() {
    // The text after the last line break, in the pieces it arrived in: a long line (a 24 MB
    // event) is joined once, when its line break comes, not copied again with every piece.
    this.parts = [];
    this.events = [];
    this.comments = [];
    this.items = []; // events and comments in arrival order
    this.frame = null;
  }

  push(text, now = Date.now()) {
    const last = this.parts.at(-1);
    const waitingForLf = last !== undefined && last.charCodeAt(last.length - 1) === 13;
    if (!waitingForLf && text.indexOf('\n') < 0 && text.indexOf('\r') < 0) {
      if (text) this.parts.push(text);
      return;
    }
    const scanned = this.parts.reduce((n, p) => n + p.length, 0) - (waitingForLf ? 1 : 0);
    const pending = this.parts.join('') + text;
    this.parts = [];
    let start = 0;
    let i = scanned; // what came before holds no line break
    for (;;) {
      const len = pending.length;
      while (i < len) {
        const c = pending.charCodeAt(i);
        if (c === 10 || c === 13) break;
        i++;
      }
      if (i >= len) break;
      let end = i + 1;
      if (pending.charCodeAt(i) === 13) {
        if (i + 1 >= len) break; // a CR at the end: wait to know whether LF follows
        if (pending.charCodeAt(i + 1) === 10) end = i + 2;
      }
      this.line(pending.slice(start, i), pending.slice(i, end), now);
      start = end;
      i = start;
    }
    if (start < pending.length) this.parts.push(pending.slice(start));
  }

  /** End of stream: a trailing lone CR still ends a line. */
  end(now = Date.now()) {
    const rest = this.parts.join('');
    this.parts = [];
    if (rest.endsWith('\r')) this.line(rest.slice(0, -1), '\r', now);
  }

  line(line, eol, now) {
    if (line === '') {
      if (this.frame) {
        this.frame.raw += eol;
        const f = this.frame;
        this.frame = null;
        const ev = {
          kind: 'event',
          t: now,
          raw: f.raw,
          fields: f.fields,
          id: f.id,
          type: f.type,
          retry: f.retry,
          dataLines: f.dataLines,
          data: f.dataLines.join('\n'),
        };
        this.events.push(ev);
        this.items.push(ev);
      } else {
        this.items.push({ kind: 'blank', t: now });
      }
      return;
    }
    if (line.startsWith(':')) {
      const c = { kind: 'comment', t: now, text: line.slice(1), raw: line + eol };
      if (this.frame) this.frame.raw += line + eol;
      this.comments.push(c);
      this.items.push(c);
      return;
    }
    const colon = line.indexOf(':');
    let name = line;
    let value = '';
    if (colon >= 0) {
      name = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    if (!this.frame) this.frame = { raw: '', fields: [], dataLines: [], id: undefined, type: undefined, retry: undefined };
    const f = this.frame;
    f.raw += line + eol;
    f.fields.push([name, value]);
    if (name === 'data') f.dataLines.push(value);
    else if (name === 'id') f.id = value;
    else if (name === 'event') f.type = value;
    else if (name === 'retry') f.retry = value;
  }
}

/**
 * One response on a Connection. For streams (SSE) the body keeps arriving: wait on it with
 * waitFor()/waitForEvents(), never with sleeps.
 */
export class Response {
  constructor(conn, method) {
    this.conn = conn;
    this.method = method;
    this.head = null;
    this.chunks = [];
    this.bodyLength = 0;
    this.decoder = new StringDecoder('utf8');
    this.sse = new SseParser();
    this.ended = false;
    this.endReason = null;
    this.endedAt = null;
    this.firstBodyAt = null;
    this.headAt = null;
    this.waiters = new Set();
    this.headPromise = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.headPromise.catch(() => {});
    this.endPromise = new Promise((resolve) => {
      this.resolveEnd = resolve;
    });
  }

  get status() {
    return this.head?.status;
  }
  get headers() {
    return this.head?.headers;
  }
  get headerList() {
    return this.head?.headerList;
  }
  get events() {
    return this.sse.events;
  }
  get comments() {
    return this.sse.comments;
  }
  get body() {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
  get text() {
    return this.body.toString('utf8');
  }
  json() {
    return JSON.parse(this.text);
  }

  _onHead(head) {
    this.head = head;
    this.headAt = Date.now();
    this.resolveHead(this);
    this._check();
  }
  _onBody(buf) {
    if (this.firstBodyAt === null) this.firstBodyAt = Date.now();
    this.chunks.push(Buffer.from(buf));
    this.bodyLength += buf.length;
    if (this.conn.parseSse) this.sse.push(this.decoder.write(buf));
    this._check();
  }
  _onEnd(reason) {
    if (this.ended) return;
    if (this.conn.parseSse) {
      this.sse.push(this.decoder.end());
      this.sse.end();
    }
    this.ended = true;
    this.endReason = reason;
    this.endedAt = Date.now();
    if (!this.head) this.rejectHead(new Error(`connection closed before a response head (${reason})`));
    this.resolveEnd(this);
    this._check();
  }

  _check() {
    for (const w of [...this.waiters]) {
      let ok = false;
      try {
        ok = w.pred(this);
      } catch (e) {
        this.waiters.delete(w);
        w.reject(e);
        continue;
      }
      if (ok) {
        this.waiters.delete(w);
        w.resolve(this);
      } else if (this.ended && !w.allowEnd) {
        this.waiters.delete(w);
        w.reject(new Error(`stream ended (${this.endReason}) before ${w.what}\n${this.describe()}`));
      }
    }
  }

  /** Resolves when pred(response) holds; rejects at the deadline or if the stream ends first. */
  waitFor(pred, { timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a condition', allowEnd = false } = {}) {
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { pred, resolve, reject, what, allowEnd };
    });
    this.waiters.add(waiter);
    this._check();
    return withDeadline(p, timeoutMs, what, () => this.describe()).finally(() => this.waiters.delete(waiter));
  }

  /** Waits until at least n events arrived; resolves with the events array. */
  async waitForEvents(n, opts = {}) {
    await this.waitFor((r) => r.events.length >= n, { what: `${n} event(s)`, ...opts });
    return this.events;
  }

  /** Waits for the first event satisfying pred; resolves with it. */
  async waitForEvent(pred, opts = {}) {
    let found;
    await this.waitFor(
      (r) => {
        found = r.events.find(pred);
        return !!found;
      },
      { what: 'a matching event', ...opts },
    );
    return found;
  }

  waitForComments(n, opts = {}) {
    return this.waitFor((r) => r.comments.length >= n, { what: `${n} comment line(s)`, ...opts });
  }

  /** Waits for the end of the response (or the connection). */
  waitForEnd({ timeoutMs = DEFAULT_TIMEOUT_MS, what = 'the end of the response' } = {}) {
    return withDeadline(this.endPromise, timeoutMs, what, () => this.describe());
  }

  describe() {
    const body = this.body;
    const shown = body.length > 2000 ? `${body.subarray(0, 1000).toString('utf8')}\n...[${body.length} bytes]...` : body.toString('utf8');
    return `status: ${this.status}; ended: ${this.ended} (${this.endReason}); events: ${this.events.length}; comments: ${this.comments.length}\nhead: ${JSON.stringify(this.head?.rawHead)}\nbody: ${JSON.stringify(shown)}`;
  }
}

function buildRequest({ method = 'GET', path = '/', headers = {}, body, host = '127.0.0.1' }) {
  const lines = [`${method} ${path} HTTP/1.1`];
  const names = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  if (!names.has('host')) lines.push(`Host: ${host}`);
  let payload = body;
  if (payload !== undefined && !(payload instanceof Uint8Array)) payload = Buffer.from(String(payload), 'utf8');
  if (payload !== undefined && !names.has('content-length') && !names.has('transfer-encoding')) {
    lines.push(`Content-Length: ${payload.length}`);
  }
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  }
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return payload ? Buffer.concat([head, payload]) : head;
}

/** A raw TCP connection to the hub carrying sequential HTTP/1.1 requests. */
export class Connection {
  static open(target, { timeoutMs = DEFAULT_TIMEOUT_MS, parseSse = true } = {}) {
    const conn = new Connection(portOf(target), parseSse);
    return withDeadline(conn.connected, timeoutMs, 'TCP connection').then(() => conn);
  }

  constructor(port, parseSse) {
    this.port = port;
    this.parseSse = parseSse;
    this.queue = []; // ResponseReaders waiting for their response, in order
    this.closed = false;
    this.closedAt = null;
    this.error = null;
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.closedPromise = new Promise((resolve) => {
      this.socket.once('close', () => {
        this.closed = true;
        this.closedAt = Date.now();
        for (const r of this.queue) r.closed();
        this.queue = [];
        resolve();
      });
    });
    this.socket.on('error', (e) => {
      this.error = e;
    });
    this.socket.on('data', (data) => this._data(data));
    this.socket.on('end', () => {
      for (const r of this.queue) r.closed();
      this.queue = [];
    });
  }

  _data(data) {
    let rest = data;
    while (rest && rest.length) {
      const reader = this.queue[0];
      if (!reader) return; // unsolicited bytes: ignored
      rest = reader.feed(rest);
      if (reader.done) this.queue.shift();
    }
  }

  /** Sends a request; returns its Response at once (await response.headPromise / waitForEnd). */
  send(opts) {
    const method = (opts.method || 'GET').toUpperCase();
    const response = new Response(this, method);
    const reader = new ResponseReader({
      method,
      onHead: (h) => response._onHead(h),
      onBody: (b) => response._onBody(b),
      onEnd: (r) => response._onEnd(r),
    });
    if (this.closed) {
      reader.closed();
      return response;
    }
    this.queue.push(reader);
    this.socket.write(buildRequest(opts));
    return response;
  }

  /** Sends a request and waits for the complete response. */
  async request(opts) {
    const response = this.send(opts);
    await response.waitForEnd({ timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, what: `response to ${opts.method || 'GET'} ${opts.path}` });
    if (!response.head) throw new Error(`no response to ${opts.method || 'GET'} ${opts.path}: ${response.endReason}`);
    return response;
  }

  writeRaw(bytes) {
    this.socket.write(bytes);
  }

  /** Stops reading from the kernel: the receive window fills up and the hub's writes stall. */
  pause() {
    this.socket.pause();
  }
  resume() {
    this.socket.resume();
  }

  waitForClose({ timeoutMs = DEFAULT_TIMEOUT_MS, what = 'the connection to close' } = {}) {
    return withDeadline(this.closedPromise, timeoutMs, what);
  }

  close() {
    this.socket.destroy();
    return this.closedPromise;
  }
}

/** One request on a fresh connection (closed afterwards). */
export async function request(target, opts = {}) {
  const conn = await Connection.open(target, { parseSse: false });
  try {
    return await conn.request({ ...opts, headers: { Connection: 'close', ...(opts.headers || {}) } });
  } finally {
    conn.close();
  }
}

/** Encodes form fields: an array of [name, value] pairs or an object whose values may be arrays. */
export function formEncode(fields) {
  const params = new URLSearchParams();
  const pairs = Array.isArray(fields)
    ? fields
    : Object.entries(fields).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
  for (const [k, v] of pairs) params.append(k, v);
  return params.toString();
}

/** Publishes an update; resolves with the complete Response (status not checked). */
export function publish(hub, fields, { token, headers = {}, query = '', rawBody, timeoutMs } = {}) {
  const h = { 'Content-Type': 'application/x-www-form-urlencoded', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  return request(hub, { method: 'POST', path: HUB_PATH + query, headers: h, body: rawBody ?? formEncode(fields), timeoutMs });
}

/** Publishes and asserts 200; resolves with the id the hub answered. */
export async function publishOk(hub, fields, opts) {
  const res = await publish(hub, fields, opts);
  if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${res.text}`);
  return res.text;
}

/** Query string for a subscription: topic selectors plus extra [name, value] pairs. */
export function subscribeQuery(topics, extra = []) {
  const params = new URLSearchParams();
  for (const t of topics) params.append('topic', t);
  for (const [k, v] of extra) params.append(k, v);
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

/**
 * Opens a subscription on its own connection and waits for the response head.
 * Resolves with the Response (check .status); .conn is the Connection (pause/close it).
 */
export async function subscribe(hub, topics, { token, headers = {}, extra = [], method = 'GET', timeoutMs } = {}) {
  const conn = await Connection.open(hub);
  const h = { Accept: 'text/event-stream', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const response = conn.send({ method, path: HUB_PATH + subscribeQuery(topics, extra), headers: h });
  try {
    await withDeadline(response.headPromise, timeoutMs ?? DEFAULT_TIMEOUT_MS, 'subscription response head');
  } catch (e) {
    conn.close();
    throw e;
  }
  response.close = () => conn.close();
  return response;
}

/** subscribe() that asserts 200 and waits for the first body bytes (the hub's initial flush). */
export async function subscribeOk(hub, topics, opts = {}) {
  const res = await subscribe(hub, topics, opts);
  if (res.status !== 200) {
    await res.waitForEnd({ timeoutMs: 1000 }).catch(() => {});
    res.close();
    throw new Error(`subscription refused: ${res.status} ${res.text}`);
  }
  await res.waitFor((r) => r.bodyLength > 0, { what: 'the initial flush of the stream' });
  return res;
}

/** Tracks everything a test opened, so an `afterEach`/`after` can close it all. */
export class Closer {
  constructor() {
    this.items = [];
  }
  add(x) {
    this.items.push(x);
    return x;
  }
  async closeAll() {
    const items = this.items.splice(0);
    await Promise.allSettled(items.map((x) => (typeof x === 'function' ? x() : x.close?.())));
  }
}
