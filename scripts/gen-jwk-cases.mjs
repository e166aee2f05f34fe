#!/usr/bin/env node
// Generates tests/data/jwk_cases.json from the keys of tests/data/jwt_cases.json: each key as a
// JSON Web Key written by npm `jose` (an independent implementation), and a token signed by jose
// with the key's `kid` in its header, for the KeySetVerifier tests. Run from the repository root
// after gen-jwt-cases.mjs: `node scripts/gen-jwk-cases.mjs`.
//
// {"now": <int>, "keys": {"<name>": {"alg", "jwk" (public, with kid = name, alg and use),
//   "token" (kid = name, valid at now), "claims"}}, "small_rsa_jwk": a 1024-bit RSA key,
//   "short_x_jwk" (a P-256 key whose x lacks its leading zero byte), "short_x_token"}

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const jose = await import(new URL('../tests/node_modules/jose/dist/webapi/index.js', import.meta.url).href);

const dataDir = new URL('../tests/data/', import.meta.url);
const cases = JSON.parse(readFileSync(new URL('jwt_cases.json', dataDir), 'utf8'));
const now = cases.now;
const claims = { mercure: { publish: ['https://example.com/jwks/{id}'], subscribe: ['*'] }, exp: now + 100 * 365 * 24 * 3600 };
const encoder = new TextEncoder();

const out = { now, keys: {} };
for (const [name, key] of Object.entries(cases.keys)) {
  if (name.includes('-') && !name.endsWith('-other')) continue;  // PEM variants of the same keys
  const alg = key.alg;
  let jwk;
  let signingKey;
  if (key.secret !== undefined) {
    signingKey = encoder.encode(key.secret);
    jwk = { kty: 'oct', k: Buffer.from(key.secret).toString('base64url') };
  } else {
    jwk = await jose.exportJWK(await jose.importSPKI(key.public_pem, alg, { extractable: true }));
    signingKey = await jose.importPKCS8(key.private_pem, alg);
  }
  jwk = { ...jwk, kid: name, alg, use: 'sig' };
  const token = await new jose.SignJWT(claims).setProtectedHeader({ alg, kid: name, typ: 'JWT' }).sign(signingKey);
  // jose checks its own token against the JWK it wrote, through a key set as a hub would (jose's
  // key sets hold no HMAC secrets: those are checked with the key itself).
  const verifyKey = jwk.kty === 'oct' ? await jose.importJWK(jwk, alg) : jose.createLocalJWKSet({ keys: [jwk] });
  await jose.jwtVerify(token, verifyKey, { currentDate: new Date(now * 1000) });
  out.keys[name] = { alg, jwk, token, claims };
}
// An RSA key readable as such but under the 2048 bits RFC 7518 asks of RS*/PS* keys.
// (jose refuses to make one: node:crypto does.)
const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
out.small_rsa_jwk = { ...small.publicKey.export({ format: 'jwk' }), alg: 'RS256' };
// A P-256 key whose x starts with a zero byte, written without it (31 bytes), as some encoders
// do, with a token it signed: jose and keyfunc read such keys, and so must the hub.
for (;;) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x, 'base64url');
  if (x[0] !== 0) continue;
  const token = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'short-x' }).sign(pair.privateKey);
  out.short_x_jwk = { ...jwk, x: x.subarray(1).toString('base64url'), kid: 'short-x', alg: 'ES256' };
  out.short_x_token = token;
  break;
}
writeFileSync(new URL('jwk_cases.json', dataDir), `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote tests/data/jwk_cases.json: ${Object.keys(out.keys).length} keys`);
