#!/usr/bin/env node
// Generates tests/data/jwt_cases.json: keys for every JWS algorithm the hub accepts and tokens
// minted by npm `jose` (an independent implementation), each with the verdict our JwtVerifier must
// reach. Run from the repository root: `node scripts/gen-jwt-cases.mjs`. Keys and signatures are
// random, so every run rewrites the whole file; the verdicts stay the same.
//
// All times are fixed relative to kNow (passed to verify() by the C++ test), far enough apart
// that the checked-in data never expires.
//
// Second mode, the other direction: `node scripts/gen-jwt-cases.mjs --verify-signed FILE` checks
// with jose that tokens produced by our signer verify. FILE is what the C++ test
// JwtSigner.RoundTripsEveryAlgorithmThroughTheVerifier writes when MERCURE_JWT_SIGNED_OUT=FILE is set:
// {"now": <int>, "tokens": [{"alg", "key" (PEM public key or HMAC secret), "token", "claims"}]}.

import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const jose = await import(new URL('../tests/node_modules/jose/dist/webapi/index.js', import.meta.url).href);

const kNow = 1_700_000_000;
const kHour = 3600;
const kFarFuture = kNow + 100 * 365 * 24 * kHour;  // ~2123: the data never expires
const kAlgorithms = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA'];
const kCurves = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
const isHmac = (alg) => alg.startsWith('HS');
const hashBits = (alg) => (alg === 'EdDSA' ? '256' : alg.slice(2));
const encoder = new TextEncoder();

const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const b64uJson = (value) => b64u(encoder.encode(JSON.stringify(value)));

// --- keys -----------------------------------------------------------------------------------

async function makeKey(alg) {
  if (isHmac(alg)) {
    // Printable, so the secret survives JSON and configuration files unchanged.
    const secret = randomBytes(48).toString('base64url');
    return { entry: { alg, secret }, signingKey: encoder.encode(secret), verifyText: secret };
  }
  const options = { extractable: true };
  if (kCurves[alg]) options.crv = kCurves[alg];
  if (alg === 'EdDSA') options.crv = 'Ed25519';
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, options);
  const publicPem = await jose.exportSPKI(publicKey);
  const privatePem = await jose.exportPKCS8(privateKey);
  return { entry: { alg, public_pem: publicPem, private_pem: privatePem }, signingKey: privateKey, verifyText: publicPem };
}

// A self-signed certificate for `privatePem`, made by the openssl command line (jose cannot).
function certificateFor(privatePem) {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-cases-'));
  try {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, privatePem, { mode: 0o600 });
    return execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=mercure-hub test',
      '-days', '36500'], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- tokens ---------------------------------------------------------------------------------

async function sign(alg, signingKey, claims, extraHeader = {}) {
  return new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', ...extraHeader }).sign(signingKey);
}

function flipSignatureByte(token) {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[Math.floor(sig.length / 2)] ^= 0x01;
  return `${h}.${p}.${b64u(sig)}`;
}

function replacePayload(token, claims) {
  const [h, , s] = token.split('.');
  return `${h}.${b64uJson(claims)}.${s}`;
}

const baseClaims = (alg) => ({
  iat: kNow - kHour,
  nbf: kNow - kHour,
  exp: kFarFuture,
  mercure: {
    publish: [`https://example.com/books/{id}`, `urn:${alg}:publish`],
    subscribe: ['https://example.com/users/dunglas/{?topic}', '*'],
    payload: { user: 'https://example.com/users/dunglas', remoteAddr: '127.0.0.1', alg },
  },
});

const expectClaims = (claims) => {
  const ns = claims.mercure ?? claims['https://mercure.rocks/'] ?? {};
  const out = {};
  for (const k of ['publish', 'subscribe', 'payload']) if (ns[k] !== undefined) out[k] = ns[k];
  for (const k of ['exp', 'nbf', 'iat']) if (claims[k] !== undefined) out[k] = claims[k];
  return out;
};

async function generate() {
  const keys = {};
  const material = {};  // name -> { signingKey, verifyText }
  for (const alg of kAlgorithms) {
    for (const name of [alg, `${alg}-other`]) {
      const k = await makeKey(alg);
      keys[name] = k.entry;
      material[name] = k;
    }
  }

  // Other textual forms of a verifier key (all must be accepted by JwtVerifier::create).
  const rsa = keys.RS256;
  keys['RS256-pkcs1'] = { alg: 'RS256', public_pem: createPublicKey(rsa.public_pem).export({ type: 'pkcs1', format: 'pem' }),
    format: 'PKCS#1 RSA PUBLIC KEY' };
  keys['RS256-private'] = { alg: 'RS256', public_pem: rsa.private_pem, format: 'PKCS#8 private key' };
  keys['RS256-certificate'] = { alg: 'RS256', public_pem: certificateFor(rsa.private_pem), format: 'X.509 certificate' };
  keys['ES256-sec1'] = { alg: 'ES256', public_pem: createPrivateKey(keys.ES256.private_pem).export({ type: 'sec1', format: 'pem' }),
    format: 'SEC1 EC PRIVATE KEY' };
  keys['ES256-certificate'] = { alg: 'ES256', public_pem: certificateFor(keys.ES256.private_pem), format: 'X.509 certificate' };
  keys['EdDSA-certificate'] = { alg: 'EdDSA', public_pem: certificateFor(keys.EdDSA.private_pem), format: 'X.509 certificate' };

  const cases = [];
  const add = (c) => cases.push({ key: c.alg_configured, ...c });

  for (const [i, alg] of kAlgorithms.entries()) {
    const { signingKey, verifyText } = material[alg];
    const claims = baseClaims(alg);
    const valid = await sign(alg, signingKey, claims);

    add({ name: `${alg}/valid`, alg_configured: alg, token: valid, valid: true, claims: expectClaims(claims) });
    add({ name: `${alg}/tampered-payload`, alg_configured: alg, valid: false, expect_reason_contains: 'signature mismatch',
      token: replacePayload(valid, { ...claims, mercure: { ...claims.mercure, publish: ['*'] } }) });
    add({ name: `${alg}/tampered-signature`, alg_configured: alg, valid: false, expect_reason_contains: 'signature mismatch',
      token: flipSignatureByte(valid) });
    add({ name: `${alg}/wrong-key`, alg_configured: alg, valid: false, expect_reason_contains: 'signature mismatch',
      token: await sign(alg, material[`${alg}-other`].signingKey, claims) });
    add({ name: `${alg}/alg-none`, alg_configured: alg, valid: false, expect_reason_contains: 'alg none',
      token: new jose.UnsecuredJWT(claims).encode() });

    const other = kAlgorithms[(i + 1) % kAlgorithms.length];
    add({ name: `${alg}/alg-not-configured-${other}`, alg_configured: alg, valid: false,
      expect_reason_contains: `algorithm ${other} not allowed (expected ${alg})`,
      token: await sign(other, material[other].signingKey, claims) });

    if (isHmac(alg)) {
      // An HS verifier refuses RS tokens, and refuses to be configured with a PEM as its secret.
      add({ name: `${alg}/rs256-token`, alg_configured: alg, valid: false,
        expect_reason_contains: `algorithm RS256 not allowed (expected ${alg})`,
        token: await sign('RS256', material.RS256.signingKey, claims) });
      add({ name: `${alg}/public-pem-configured-as-secret`, alg_configured: alg, key: 'RS256', valid: false,
        expect_reason_contains: 'looks like a PEM',
        token: await sign(alg, encoder.encode(keys.RS256.public_pem), claims) });
    } else {
      // The classic confusion attack: HMAC keyed with the verifier's own public key text.
      const hs = `HS${hashBits(alg)}`;
      add({ name: `${alg}/hs-confusion-${hs}-keyed-with-public-pem`, alg_configured: alg, valid: false,
        expect_reason_contains: `algorithm ${hs} not allowed (expected ${alg})`,
        token: await sign(hs, encoder.encode(verifyText), claims) });
    }

    add({ name: `${alg}/expired`, alg_configured: alg, valid: false, expect_reason_contains: 'token expired',
      token: await sign(alg, signingKey, { ...claims, iat: kNow - 2 * kHour, nbf: kNow - 2 * kHour, exp: kNow - kHour }) });
    add({ name: `${alg}/not-yet-valid`, alg_configured: alg, valid: false, expect_reason_contains: 'token not valid yet',
      token: await sign(alg, signingKey, { ...claims, nbf: kNow + kHour }) });
  }

  // Boundaries and claim shapes, on one symmetric and one asymmetric algorithm.
  for (const alg of ['HS256', 'ES256']) {
    const { signingKey } = material[alg];
    const claims = baseClaims(alg);
    const variant = async (name, c, valid, extra = {}) => add({
      name: `${alg}/${name}`, alg_configured: alg, token: await sign(alg, signingKey, c, extra.header), valid,
      ...(valid ? { claims: expectClaims(c) } : { expect_reason_contains: extra.reason }),
    });
    await variant('exp-equals-now', { ...claims, exp: kNow }, false, { reason: 'token expired' });
    await variant('exp-one-second-after-now', { ...claims, exp: kNow + 1 }, true);
    await variant('nbf-equals-now', { ...claims, nbf: kNow }, true);
    await variant('nbf-one-second-after-now', { ...claims, nbf: kNow + 1 }, false, { reason: 'token not valid yet' });
    await variant('iat-in-the-future', { ...claims, iat: kNow + kHour }, false, { reason: 'token issued in the future' });
    await variant('iat-equals-now', { ...claims, iat: kNow }, true);
    await variant('no-time-claims', { mercure: claims.mercure }, true);
    await variant('no-mercure-claim', { iat: kNow, exp: kFarFuture, sub: 'someone' }, true);
    const { mercure, ...rest } = claims;
    await variant('mercure-rocks-namespace', { ...rest, 'https://mercure.rocks/': mercure }, true);
    await variant('both-namespaces-mercure-wins',
      { ...claims, 'https://mercure.rocks/': { publish: ['*'], subscribe: ['*'] } }, true);
    await variant('kid-jku-x5u-jwk-headers-ignored', claims, true, { header: {
      kid: 'attacker-key', jku: 'https://attacker.example/jwks.json', x5u: 'https://attacker.example/cert.pem',
      jwk: { kty: 'oct', k: b64u(encoder.encode('attacker')) } } });
    await variant('typ-ignored', claims, true, { header: { typ: 'at+jwt' } });
    await variant('publish-not-an-array', { ...claims, mercure: { ...mercure, publish: 'https://example.com/books/1' } },
      false, { reason: 'claim mercure.publish is not an array of strings' });
    await variant('subscribe-with-a-number', { ...claims, mercure: { ...mercure, subscribe: ['a', 1] } },
      false, { reason: 'claim mercure.subscribe is not an array of strings' });
    await variant('mercure-not-an-object', { ...claims, mercure: ['*'] }, false, { reason: 'claim mercure is not an object' });
    await variant('exp-a-string', { ...claims, exp: String(kFarFuture) }, false, { reason: 'claim exp is not a number' });
    await variant('iat-a-string', { ...claims, iat: 'yesterday' }, false, { reason: 'claim iat is not a number' });
  }

  // Other textual forms of the verifier key.
  for (const [name, alg] of [['RS256-pkcs1', 'RS256'], ['RS256-private', 'RS256'], ['RS256-certificate', 'RS256'],
    ['ES256-sec1', 'ES256'], ['ES256-certificate', 'ES256'], ['EdDSA-certificate', 'EdDSA']]) {
    const claims = baseClaims(alg);
    add({ name: `${alg}/verifier-key-${name}`, alg_configured: alg, key: name, valid: true, claims: expectClaims(claims),
      token: await sign(alg, material[alg].signingKey, claims) });
  }
  // A key of the wrong type for the configured algorithm is refused at start-up.
  add({ name: 'ES384/configured-with-a-P-256-key', alg_configured: 'ES384', key: 'ES256', valid: false,
    expect_reason_contains: 'requires a P-384 key', token: cases[0].token });
  add({ name: 'RS256/configured-with-an-EC-key', alg_configured: 'RS256', key: 'ES256', valid: false,
    expect_reason_contains: 'requires an RSA key', token: cases[0].token });

  // Sanity: jose itself must agree with every verdict we recorded for jose-verifiable cases.
  await crossCheckWithJose(keys, cases);

  const out = { generator: 'scripts/gen-jwt-cases.mjs (npm jose 6.2.17)', now: kNow, keys, cases };
  const file = fileURLToPath(new URL('../tests/data/jwt_cases.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
  console.log(`wrote ${cases.length} cases and ${Object.keys(keys).length} keys to ${file}`);
}

async function importVerifierKey(alg, text) {
  if (!text.includes('-----BEGIN')) return encoder.encode(text);
  if (text.includes('BEGIN CERTIFICATE')) return jose.importX509(text, alg);
  if (text.includes('BEGIN PUBLIC KEY')) return jose.importSPKI(text, alg);
  return null;  // other forms are ours to accept, jose does not import them
}

async function joseVerdict(alg, keyText, token, now) {
  const key = await importVerifierKey(alg, keyText);
  if (key === null) return null;
  try {
    await jose.jwtVerify(token, key, { algorithms: [alg], currentDate: new Date(now * 1000) });
    return true;
  } catch {
    return false;
  }
}

// Verdicts that come from Mercure rules or start-up key checks, which jose knows nothing about.
const kHubOnlyVerdicts = ['/publish-not-an-array', '/subscribe-with-a-number', '/mercure-not-an-object',
  '/public-pem-configured-as-secret', '/configured-with-a-P-256-key', '/configured-with-an-EC-key',
  '/iat-in-the-future'];  // jose checks iat only with maxTokenAge; PROTOCOL.md enforces it

async function crossCheckWithJose(keys, cases) {
  for (const c of cases) {
    const k = keys[c.key];
    if (kHubOnlyVerdicts.some((suffix) => c.name.endsWith(suffix))) continue;
    const verdict = await joseVerdict(c.alg_configured, k.secret ?? k.public_pem, c.token, kNow);
    if (verdict !== null && verdict !== c.valid) throw new Error(`jose disagrees on ${c.name}: jose says valid=${verdict}`);
  }
}

async function verifySigned(file) {
  const { now, tokens } = JSON.parse(readFileSync(file, 'utf8'));
  let failures = 0;
  for (const t of tokens) {
    const verdict = await joseVerdict(t.alg, t.key, t.token, now);
    if (verdict !== true) {
      failures += 1;
      console.error(`jose rejects our ${t.alg} token`);
    }
  }
  console.log(`jose verified ${tokens.length - failures}/${tokens.length} tokens from our signer`);
  process.exitCode = failures === 0 ? 0 : 1;
}

if (process.argv[2] === '--verify-signed') await verifySigned(process.argv[3]);
else await generate();
