// HTTP/2 client helpers over node:http2: one session (one TCP connection) to the hub, over TLS
// (ALPN h2) or in cleartext with prior knowledge (h2c), carrying any number of concurrent
// requests and event streams. An event stream is a `Response` of http.mjs fed from the h2
// stream, so the same waitFor()/waitForEvents()/waitForEnd() work on it, never sleeps.

import http2 from 'node:http2';
import { DEFAULT_TIMEOUT_MS, HUB_PATH, Response, formEncode, subscribeQuery, withDeadline } from './http.mjs';

export const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/** Header names of HTTP/1.1 that an HTTP/2 message must not carry (RFC 9113, 8.2.2). */
export const CONNECTION_SPECIFIC_HEADERS = ['connection', 'transfer-encoding', 'keep-alive', 'proxy-connection', 'upgrade'];

function lowerKeys(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) out[k.toLowerCase()] = v;
  return out;
}

/** The head of an h2 response in the shape http.mjs's Response expects. */
function toHead(h2headers) {
  const headers = {};
  const headerList = [];
  for (const [k, v] of Object.entries(h2headers)) {
    if (k.startsWith(':')) continue;
    headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    for (const one of Array.isArray(v) ? v : [v]) headerList.push([k, String(one)]);
  }
  return { httpVersion: '2', status: Number(h2headers[':status']), statusText: '', headers, headerList, rawHead: JSON.stringify(h2headers) };
}

/**
 * One HTTP/2 session to a hub (or any {port, tls}). `connect()` resolves once the hub's SETTINGS
 * frame arrived, so a hub that does not speak HTTP/2 fails here. `close()` destroys the session
 * (every stream on it ends), so a Closer can track it.
 */
export class H2Client {
  /**
   * `ca`: the PEM to trust (TLS hubs). TLS is used when `target.tls` is true or `tls` is set;
   * else cleartext HTTP/2 with prior knowledge. Other options go to http2.connect.
   */
  static async connect(target, { ca, tls = target.tls === true, timeoutMs = DEFAULT_TIMEOUT_MS, ...opts } = {}) {
    const client = new H2Client(target, { ca, tls, ...opts });
    try {
      await withDeadline(client.ready, timeoutMs, `an HTTP/2 session (${client.authority})`, () => client.describe());
    } catch (e) {
      client.close();
      throw new Error(`no HTTP/2 session with ${client.authority}: ${e.message}; ${client.describe()}`, { cause: e });
    }
    return client;
  }

  constructor(target, { ca, tls, ...opts }) {
    this.authority = `${tls ? 'https' : 'http'}://127.0.0.1:${target.port}`;
    this.session = http2.connect(this.authority, tls ? { ca, ...opts } : opts);
    this.error = null;
    this.goaway = null;
    this.closed = false;
    this.remoteSettings = null;
    this.session.on('error', (e) => {
      this.error ??= e;
    });
    this.session.on('goaway', (errorCode, lastStreamID) => {
      this.goaway = { errorCode, lastStreamID };
    });
    this.closedPromise = new Promise((resolve) => {
      this.session.once('close', () => {
        this.closed = true;
        resolve();
      });
    });
    const connected = new Promise((resolve) => this.session.once('connect', resolve));
    const settings = new Promise((resolve) => {
      this.session.once('remoteSettings', (s) => {
        this.remoteSettings = s;
        resolve();
      });
    });
    this.ready = new Promise((resolve, reject) => {
      Promise.all([connected, settings]).then(() => resolve(this));
      this.session.once('error', reject);
      this.closedPromise.then(() => reject(new Error(`the HTTP/2 session closed before it was established: ${this.describe()}`)));
    });
    this.ready.catch(() => {});
  }

  /** The TLS socket's negotiated protocol (ALPN), or undefined in cleartext. */
  get alpnProtocol() {
    return this.session.alpnProtocol;
  }

  describe() {
    return `session ${this.authority}: error ${this.error?.code ?? ''} ${this.error?.message ?? 'none'}; goaway ${JSON.stringify(this.goaway)}; closed ${this.closed}; alpn ${this.session.alpnProtocol}`;
  }

  /**
   * One request on the session. Resolves once the h2 stream closed, with {status, headers (no
   * pseudo-headers), h2headers (all of them), text, body, ended (END_STREAM received: the
   * response is complete), rstCode}; rejects when the stream closed with no response head, or at
   * the deadline (the stream is then cancelled).
   */
  request({ method = 'GET', path = '/', headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    let payload = body;
    if (payload !== undefined && !(payload instanceof Uint8Array)) payload = Buffer.from(String(payload), 'utf8');
    const req = this.session.request({ ':method': method, ':path': path, ...lowerKeys(headers) }, { endStream: payload === undefined });
    const p = new Promise((resolve, reject) => {
      let h2headers = null;
      let ended = false;
      let error = null;
      const chunks = [];
      req.on('response', (h) => {
        h2headers = h;
      });
      req.on('data', (d) => chunks.push(d));
      // Node emits 'end' for a reset stream too, with its code already set.
      req.on('end', () => {
        ended = (req.rstCode ?? NGHTTP2_NO_ERROR) === NGHTTP2_NO_ERROR;
      });
      req.on('error', (e) => {
        error = e;
      });
      req.on('close', () => {
        if (!h2headers) {
          reject(new Error(`h2 ${method} ${path}: stream closed without a response (rstCode ${req.rstCode}, ${error?.message ?? 'no error'}); ${this.describe()}`));
          return;
        }
        const body = Buffer.concat(chunks);
        const { status, headers } = toHead(h2headers);
        resolve({ status, headers, h2headers, body, text: body.toString('utf8'), ended, rstCode: req.rstCode, error });
      });
    });
    if (payload !== undefined) req.end(payload);
    return withDeadline(p, timeoutMs, `the h2 response to ${method} ${path}`, () => this.describe()).finally(() => {
      if (!req.closed) req.close(NGHTTP2_CANCEL);
    });
  }

  /** Publishes (form body, bearer token); resolves with the request() result. */
  publish(fields, { token, headers = {}, rawBody, timeoutMs } = {}) {
    const h = { 'content-type': 'application/x-www-form-urlencoded', ...lowerKeys(headers) };
    if (token) h.authorization = `Bearer ${token}`;
    return this.request({ method: 'POST', path: HUB_PATH, headers: h, body: rawBody ?? formEncode(fields), timeoutMs });
  }

  /** Publishes and asserts a complete 200; resolves with the id the hub answered. */
  async publishOk(fields, opts) {
    const res = await this.publish(fields, opts);
    if (res.status !== 200 || !res.ended) throw new Error(`h2 publish failed: ${res.status} ${res.text} (ended ${res.ended}, rstCode ${res.rstCode})`);
    return res.text;
  }

  /**
   * Opens an event stream on this session and waits for its head. Resolves with a Response of
   * http.mjs (events, comments, waitFor...); `.stream` is the ClientHttp2Stream, `.close()`
   * cancels it (RST_STREAM CANCEL). Its end reason is 'complete' when the hub ended the stream
   * (END_STREAM), `reset (rstCode n)` when it was reset or the session closed.
   */
  async subscribe(topics, { token, headers = {}, extra = [], method = 'GET', timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const h = { accept: 'text/event-stream', ...lowerKeys(headers) };
    if (token) h.authorization = `Bearer ${token}`;
    const req = this.session.request({ ':method': method, ':path': HUB_PATH + subscribeQuery(topics, extra), ...h }, { endStream: true });
    const res = new Response({ parseSse: true }, method);
    res.stream = req;
    res.client = this;
    res.error = null;
    req.on('response', (h2headers) => {
      res.h2headers = h2headers;
      res._onHead(toHead(h2headers));
    });
    req.on('data', (d) => res._onBody(d));
    // Node emits 'end' for a reset stream too (a cancel, a destroyed session), with its code set.
    req.on('end', () => res._onEnd((req.rstCode ?? NGHTTP2_NO_ERROR) === NGHTTP2_NO_ERROR ? 'complete' : `reset (rstCode ${req.rstCode})`));
    req.on('error', (e) => {
      res.error ??= e;
    });
    req.on('close', () => res._onEnd(`reset (rstCode ${req.rstCode})`));
    res.close = () => {
      if (!req.closed && !req.destroyed) req.close(NGHTTP2_CANCEL);
    };
    try {
      await withDeadline(res.headPromise, timeoutMs, 'the h2 event stream head', () => `${res.describe()}\n${this.describe()}`);
    } catch (e) {
      res.close();
      throw e;
    }
    return res;
  }

  /** subscribe() that asserts 200 and waits for the first body bytes (the hub's initial flush). */
  async subscribeOk(topics, opts = {}) {
    const res = await this.subscribe(topics, opts);
    if (res.status !== 200) {
      await res.waitForEnd({ timeoutMs: 1000 }).catch(() => {});
      res.close();
      throw new Error(`h2 subscription refused: ${res.status} ${res.text}`);
    }
    await res.waitFor((r) => r.bodyLength > 0, { what: 'the initial flush of the h2 stream' });
    return res;
  }

  /** Waits for the session to close (the hub closed the connection or sent GOAWAY and ended). */
  waitForClose({ timeoutMs = DEFAULT_TIMEOUT_MS, what = 'the HTTP/2 session to close' } = {}) {
    return withDeadline(this.closedPromise, timeoutMs, what, () => this.describe());
  }

  /** Destroys the session at once (its streams end); resolves once it is closed. */
  close() {
    if (!this.session.destroyed) this.session.destroy();
    return this.closedPromise;
  }
}
