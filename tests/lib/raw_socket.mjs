// A raw TCP client for tests that must see exactly what the hub does with a connection: the
// bytes it sends (if any) and when it closes, from a chosen local address if need be.

import assert from 'node:assert/strict';
import net from 'node:net';
import { withDeadline } from './http.mjs';

/**
 * A raw socket (optionally from another loopback source address) that records what it receives
 * and when it was closed; waitFor(pred) waits on those with a deadline.
 */
export async function rawSocket(hub, { localAddress } = {}) {
  const socket = net.connect({ host: '127.0.0.1', port: hub.port, localAddress });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const state = { text: '', closed: false, closedAt: null, openedAt: Date.now(), socket, waiters: [] };
  const check = () => {
    for (const w of [...state.waiters]) {
      if (w.pred(state)) {
        state.waiters.splice(state.waiters.indexOf(w), 1);
        w.resolve(state);
      }
    }
  };
  socket.on('data', (d) => {
    state.text += d.toString('latin1');
    check();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
    state.closedAt = Date.now();
    check();
  });
  state.waitFor = (pred, ms, what) =>
    withDeadline(
      new Promise((resolve) => {
        state.waiters.push({ pred, resolve });
        check();
      }),
      ms,
      what,
      () => `received: ${JSON.stringify(state.text.slice(0, 500))}; closed: ${state.closed}`,
    );
  state.close = () => socket.destroy();
  return state;
}

/** Status, headers and body of the first response in a raw socket's bytes. */
export function parseRaw(text) {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete response head in ${JSON.stringify(text.slice(0, 300))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}

