// Token oracle: every token the tests present is minted by `jose`, an implementation
// independent of the hub's own JWT code.

import { generateKeyPairSync } from 'node:crypto';
import * as jose from 'jose';
import { JWT_SECRET } from './hub.mjs';

export { jose };

const enc = new TextEncoder();

/** Signs `claims` (a JSON object) as a compact JWS. `key`: a string secret or a KeyObject. */
export async function mint(claims = {}, { key = JWT_SECRET, alg = 'HS256', header = {} } = {}) {
  const k = typeof key === 'string' ? enc.encode(key) : key;
  return new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(k);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A publisher token for the given selectors (default: everything). */
export function publisherToken(topics = ['*'], opts = {}, extraClaims = {}) {
  return mint({ mercure: { publish: topics }, ...extraClaims }, opts);
}

/** A subscriber token for the given selectors (default: everything). */
export function subscriberToken(topics = ['*'], opts = {}, extraClaims = {}) {
  return mint({ mercure: { subscribe: topics }, ...extraClaims }, opts);
}

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

/** An unsecured JWS (`alg: none`), which must never be accepted. */
export function unsecuredToken(claims) {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
}

/** Replaces the payload of a signed token (the signature no longer matches). */
export function tamper(token, claims) {
  const [h, , s] = token.split('.');
  return `${h}.${b64url(claims)}.${s}`;
}

/**
 * Key pairs for the asymmetric families. Returns {privateKey: KeyObject, publicPem: string,
 * algs: [...]} where algs are the JWS algorithms this key can sign with.
 */
export function keyPair(kind) {
  switch (kind) {
    case 'rsa': {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
    }
    case 'ec-p256':
    case 'ec-p384':
    case 'ec-p521': {
      const namedCurve = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' }[kind];
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
      return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
    }
    case 'ed25519': {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) };
    }
    default:
      throw new Error(`unknown key kind ${kind}`);
  }
}
