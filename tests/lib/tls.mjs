// HTTPS helpers: throwaway certificates made with the openssl command line, a local tunnel that
// carries plain connections to a TLS hub (so every helper of http.mjs works over TLS unchanged),
// direct TLS sockets and one-shot https requests, all verifying the hub against the test CA.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_TIMEOUT_MS, withDeadline } from './http.mjs';
import { makeTempDir } from './store.mjs';

const SAN = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

function openssl(dir, ...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Makes, in a fresh temp dir: `ec` (P-256) and `rsa` (2048) self-signed certificates for
 * 127.0.0.1 and localhost ({cert, key, ca}: paths, and the PEM to trust); `chain`: a leaf signed
 * by an intermediate signed by a root, the cert file holding leaf + intermediate, `ca` the root
 * only; `ecTraditionalKey` (the ec key as `BEGIN EC PRIVATE KEY`); bad inputs: `otherKey` (a
 * P-256 key matching no certificate), `encryptedKey` (the ec key, AES-encrypted), `notPem`
 * (text), `secretNotPem` (non-PEM bytes that must never be echoed). `remove()` deletes it all.
 */
export function makeCerts() {
  const { path: dir, remove } = makeTempDir('mercure-tls-');
  try {
    const p = (f) => join(dir, f);
    const selfSigned = (name, keyArgs) => {
      openssl(dir, 'req', '-x509', ...keyArgs, '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}-cert.pem`,
        '-days', '2', '-subj', `/CN=mercure-hub test ${name}`, '-addext', SAN);
      return { cert: p(`${name}-cert.pem`), key: p(`${name}-key.pem`), ca: readFileSync(p(`${name}-cert.pem`), 'utf8') };
    };
    const ec = selfSigned('ec', EC);
    const rsa = selfSigned('rsa', ['-newkey', 'rsa:2048']);

    // root -> intermediate -> leaf; the hub must send the intermediate.
    writeFileSync(p('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    writeFileSync(p('leaf.ext'), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n${SAN}\n`);
    openssl(dir, 'req', '-x509', ...EC, '-nodes', '-keyout', 'root-key.pem', '-out', 'root.pem', '-days', '2', '-subj', '/CN=mercure-hub test root');
    openssl(dir, 'req', '-new', ...EC, '-nodes', '-keyout', 'int-key.pem', '-out', 'int.csr', '-subj', '/CN=mercure-hub test intermediate');
    openssl(dir, 'x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root-key.pem', '-CAcreateserial',
      '-days', '2', '-extfile', 'ca.ext', '-out', 'int.pem');
    openssl(dir, 'req', '-new', ...EC, '-nodes', '-keyout', 'leaf-key.pem', '-out', 'leaf.csr', '-subj', '/CN=mercure-hub test leaf');
    openssl(dir, 'x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int-key.pem', '-CAcreateserial',
      '-days', '2', '-extfile', 'leaf.ext', '-out', 'leaf.pem');
    writeFileSync(p('chain.pem'), readFileSync(p('leaf.pem'), 'utf8') + readFileSync(p('int.pem'), 'utf8'));
    const chain = { cert: p('chain.pem'), key: p('leaf-key.pem'), ca: readFileSync(p('root.pem'), 'utf8') };

    openssl(dir, 'pkey', '-in', 'ec-key.pem', '-traditional', '-out', 'ec-key-traditional.pem');
    openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other-key.pem');
    openssl(dir, 'pkey', '-in', 'ec-key.pem', '-aes256', '-passout', 'pass:secret', '-out', 'ec-key-encrypted.pem');
    writeFileSync(p('not-pem.txt'), 'this is not a PEM document\n');
    writeFileSync(p('secret-not-pem.bin'), 'SECRET-KEY-MATERIAL-7f3a9c\n');
    return {
      dir, remove, ec, rsa, chain,
      ecTraditionalKey: p('ec-key-traditional.pem'),
      otherKey: p('other-key.pem'),
      encryptedKey: p('ec-key-encrypted.pem'),
      notPem: p('not-pem.txt'),
      secretNotPem: p('secret-not-pem.bin'),
    };
  } catch (e) {
    remove();
    throw e;
  }
}

/** The base64 lines of a PEM file (what must never appear in a log). */
export function pemBodyLines(path) {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
}

/** A TLS connection to the hub, resolved once the handshake is done (rejects on failure). */
export function tlsConnect(hub, { ca, alpn = ['http/1.1'], timeoutMs = DEFAULT_TIMEOUT_MS, ...opts } = {}) {
  const socket = tls.connect({ host: '127.0.0.1', port: hub.port, ca, ALPNProtocols: alpn, ...opts });
  const ready = new Promise((resolve, reject) => {
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
  return withDeadline(ready, timeoutMs, 'the TLS handshake').catch((e) => {
    socket.destroy();
    throw e;
  });
}

/**
 * One request with node:https (no agent, no keep-alive). Resolves with {status, headers,
 * rawHeaders, text, socket info: protocol, alpn, peer (certificate)}.
 */
export function httpsRequest(hub, { ca, method = 'GET', path = '/', headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS, ...opts } = {}) {
  let req;
  const p = new Promise((resolve, reject) => {
    req = https.request({ host: '127.0.0.1', port: hub.port, method, path, headers, ca, agent: false, ...opts }, (res) => {
      const chunks = [];
      const { socket } = res;
      const info = { protocol: socket.getProtocol(), alpn: socket.alpnProtocol, peer: socket.getPeerCertificate() };
      res.on('data', (d) => chunks.push(d));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, text: Buffer.concat(chunks).toString('utf8'), ...info }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  return withDeadline(p, timeoutMs, `https ${method} ${path}`).finally(() => req.destroy());
}

/**
 * A plain TCP listener on 127.0.0.1 whose every connection is carried to `hub` over TLS by Node's
 * client, verifying the hub against `ca`. Pass the tunnel where http.mjs expects a hub
 * (`request(tunnel, ...)`, `subscribeOk(tunnel, ...)`, `Connection.open(tunnel)`).
 * - `pairFor(conn)`: {secure, plain, error, ended} of a Connection; `secure.pause()` stops
 *   reading the hub's TLS bytes (the hub's writes back up), `secure.end()` sends close_notify.
 * - a FIN from the plain side (`conn.socket.end()`, or `destroy()`) is a TLS close: close_notify
 *   then FIN; `secure.destroy()` closes the TCP connection without close_notify. The hub's close
 *   ends the plain side (`ended`: the hub closed its TLS side); a TLS error resets it (`error`).
 * - `alpn`: what the TLS client offers; http/1.1 only by default, since the tunnel carries the
 *   HTTP/1.1 bytes of http.mjs (offered h2, the hub would choose it). HTTP/2: tests/lib/h2.mjs.
 */
export async function tlsTunnel(hub, { ca, alpn = ['http/1.1'], ...opts } = {}) {
  const pairs = new Map(); // plain socket's remote port -> pair
  const server = net.createServer((plain) => {
    const secure = tls.connect({ host: '127.0.0.1', port: hub.port, ca, ALPNProtocols: alpn, ...opts });
    const pair = { plain, secure, error: null, ended: false, alpn: null, protocol: null };
    pairs.set(plain.remotePort, pair);
    plain.setNoDelay(true);
    secure.on('secureConnect', () => {
      pair.alpn = secure.alpnProtocol;
      pair.protocol = secure.getProtocol();
    });
    // No pipe(): secure.pause() must stop reading whatever the plain side does.
    secure.on('data', (d) => plain.write(d));
    plain.on('data', (d) => secure.write(d));
    let plainEnded = false;
    secure.on('end', () => {
      pair.ended = true;
    });
    secure.on('close', () => {
      if (!plain.writableEnded) plain.end();
    });
    plain.on('end', () => {
      plainEnded = true;
      secure.end();
    });
    secure.on('error', (e) => {
      pair.error = e;
      plain.resetAndDestroy();
    });
    plain.on('error', () => secure.destroy());
    plain.on('close', () => {
      if (!plainEnded) secure.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    host: '127.0.0.1',
    port: server.address().port,
    pairs,
    pairFor: (conn) => pairs.get(conn.socket.localPort),
    close() {
      for (const { plain, secure } of pairs.values()) {
        plain.destroy();
        secure.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
