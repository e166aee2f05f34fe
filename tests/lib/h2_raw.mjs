// A raw HTTP/2 client for tests that need frames node:http2 does not let them choose: the exact
// flow-control window a stream gets and when WINDOW_UPDATE is sent. Cleartext with prior
// knowledge (h2c) only; HPACK literals without indexing or Huffman; no SETTINGS of the server are
// obeyed beyond acknowledging them. Waits are on received frames, with deadlines.

import net from 'node:net';
import { DEFAULT_TIMEOUT_MS, withDeadline } from './http.mjs';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 };
const END_STREAM = 1;
const END_HEADERS = 4;
const ACK = 1;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type, flags, stream, payload = Buffer.alloc(0)) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

// An HPACK integer with an N-bit prefix (RFC 7541 5.1).
function hpackInt(n, bits) {
  const max = (1 << bits) - 1;
  if (n < max) return [n];
  const out = [max];
  for (n -= max; n >= 128; n >>= 7) out.push((n & 127) | 128);
  out.push(n);
  return out;
}

function hpack(headers) {
  const parts = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0, ...hpackInt(n.length, 7)]), n, Buffer.from(hpackInt(v.length, 7)), v);
  }
  return Buffer.concat(parts);
}

export class RawH2 {
  /** Connects, sends the preface and SETTINGS_INITIAL_WINDOW_SIZE = `initialWindow`. */
  static async connect(port, { initialWindow = 65535 } = {}) {
    const c = new RawH2(port);
    await withDeadline(new Promise((resolve, reject) => {
      c.socket.once('connect', resolve);
      c.socket.once('error', reject);
    }), DEFAULT_TIMEOUT_MS, 'the raw h2 connection');
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(4, 0);
    settings.writeUInt32BE(initialWindow, 2);
    c.socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, settings)]));
    return c;
  }

  constructor(port) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.buffer = Buffer.alloc(0);
    this.frames = [];  // {type, flags, stream, payload}
    this.waiters = new Set();
    this.nextStream = 1;
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('error', () => {});
  }

  onData(d) {
    this.buffer = Buffer.concat([this.buffer, d]);
    while (this.buffer.length >= 9) {
      const length = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 9 + length) break;
      const f = { type: this.buffer[3], flags: this.buffer[4], stream: this.buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffer.subarray(9, 9 + length) };
      this.buffer = this.buffer.subarray(9 + length);
      if (f.type === FRAME.SETTINGS && !(f.flags & ACK)) this.socket.write(frame(FRAME.SETTINGS, ACK, 0));
      this.frames.push(f);
    }
    for (const w of this.waiters) w();
  }

  /** Opens a GET stream on `path` (END_STREAM); its id. */
  get(path, headers = []) {
    const id = this.nextStream;
    this.nextStream += 2;
    const block = hpack([[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', '127.0.0.1'], ...headers]);
    this.socket.write(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, id, block));
    return id;
  }

  /** Gives `stream` (0: the connection) `bytes` more window. */
  windowUpdate(stream, bytes) {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(bytes, 0);
    this.socket.write(frame(FRAME.WINDOW_UPDATE, 0, stream, p));
  }

  /** The DATA payload received on `stream` so far, as text. */
  body(stream) {
    return Buffer.concat(this.frames.filter((f) => f.type === FRAME.DATA && f.stream === stream).map((f) => f.payload)).toString('latin1');
  }

  /** The first frame matching `pred` (already received or to come). */
  waitFor(pred, { timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a frame' } = {}) {
    let waiter;
    const p = new Promise((resolve) => {
      waiter = () => {
        const f = this.frames.find(pred);
        if (f) resolve(f);
      };
      this.waiters.add(waiter);
      waiter();
    });
    return withDeadline(p, timeoutMs, what, () => `frames: ${this.frames.map((f) => `${f.type}/${f.stream}`).join(' ')}`).finally(() =>
      this.waiters.delete(waiter));
  }

  /** Waits until `stream`'s DATA holds `text`. */
  waitForBody(stream, text, opts = {}) {
    return this.waitFor(() => this.body(stream).includes(text), { what: `"${text}" on stream ${stream}`, ...opts });
  }

  close() {
    this.socket.destroy();
  }
}
