// Development JWTs for the debugging UI: HS256 signing (WebCrypto when the page is a secure
// context, a small SHA-256 otherwise, e.g. a hub reached over plain HTTP by host name) and
// decoding. No DOM access: the hub's tests import this module in Node too.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function base64urlEncode(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// SHA-256 (FIPS 180-4) on bytes; only used when crypto.subtle is unavailable.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256(bytes) {
  const length = bytes.length;
  const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded.length - 4, (length << 3) >>> 0);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    const add = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = h[i] + add[i];
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
  return out;
}

// HMAC (RFC 2104) with SHA-256.
export function hmacSha256Fallback(keyBytes, dataBytes) {
  let key = keyBytes.length > 64 ? sha256(keyBytes) : keyBytes;
  const block = new Uint8Array(64);
  block.set(key);
  key = block;
  const inner = new Uint8Array(64 + dataBytes.length);
  const outer = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = key[i] ^ 0x36;
    outer[i] = key[i] ^ 0x5c;
  }
  inner.set(dataBytes, 64);
  outer.set(sha256(inner), 64);
  return sha256(outer);
}

export async function hmacSha256(keyBytes, dataBytes, { useWebCrypto = true } = {}) {
  const subtle = globalThis.crypto?.subtle;
  if (useWebCrypto && subtle) {
    const key = await subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', key, dataBytes));
  }
  return hmacSha256Fallback(keyBytes, dataBytes);
}

/** Signs `claims` with HS256 and `secret` (a string). Resolves with the compact JWS. */
export async function signHs256(claims, secret, options) {
  const header = base64urlEncode(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const payload = base64urlEncode(encoder.encode(JSON.stringify(claims)));
  const input = `${header}.${payload}`;
  const signature = await hmacSha256(encoder.encode(secret), encoder.encode(input), options);
  return `${input}.${base64urlEncode(signature)}`;
}

/** Whether `token` is an HS256 JWS whose signature matches `secret`. */
export async function verifyHs256(token, secret) {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const expected = await hmacSha256(encoder.encode(secret), encoder.encode(`${parts[0]}.${parts[1]}`));
  return base64urlEncode(expected) === parts[2];
}

/** Decodes a compact JWS without verifying it: {header, payload} or throws with a reason. */
export function decodeJwt(token) {
  const parts = token.trim().split('.');
  if (parts.length !== 3) throw new Error(`a compact JWS has 3 parts separated by dots, this one has ${parts.length}`);
  const part = (text, name) => {
    try {
      return JSON.parse(decoder.decode(base64urlDecode(text)));
    } catch (e) {
      throw new Error(`the ${name} is not base64url-encoded JSON (${e.message})`);
    }
  };
  return { header: part(parts[0], 'header'), payload: part(parts[1], 'payload') };
}

/** The `mercure` claim (also accepted under `https://mercure.rocks/`), or undefined. */
export function mercureClaim(payload) {
  return payload?.mercure ?? payload?.['https://mercure.rocks/'];
}
