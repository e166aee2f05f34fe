// The debugging UI (static files embedded in the binary) and the demo endpoints: off by
// default, exact names only, content types and security headers, HEAD/405, and the demo's
// echo, discovery Link headers and cookie. Also checks the page's own HS256 minting (jwt.js)
// against jose and the hub.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT, useHub } from '../lib/hub.mjs';
import { HUB_PATH, publish, request, subscribe } from '../lib/http.mjs';
import { jose, mint } from '../lib/tokens.mjs';
import { JWT_SECRET } from '../lib/hub.mjs';

const UI = `${HUB_PATH}/ui/`;
const DEMO = `${UI}demo/`;
const UI_DIR = join(REPO_ROOT, 'src/ui');

/** Every file of src/ui, relative to it ("index.html", "app.js", ...). */
function uiFiles(dir = UI_DIR) {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? uiFiles(full) : [relative(UI_DIR, full)];
  });
}

const EXPECTED_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function assertSecurityHeaders(res, what) {
  const h = res.headers;
  assert.equal(h['cache-control'], 'no-cache', `${what}: Cache-Control`);
  assert.equal(h['x-content-type-options'], 'nosniff', `${what}: X-Content-Type-Options`);
  const csp = h['content-security-policy'];
  assert.ok(csp, `${what}: a Content-Security-Policy header`);
  const directives = Object.fromEntries(
    csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]),
  );
  assert.deepEqual(directives['default-src'], ["'none'"], `${what}: default-src in ${csp}`);
  for (const d of ['script-src', 'style-src', 'connect-src']) {
    assert.deepEqual(directives[d], ["'self'"], `${what}: ${d} allows only 'self' in ${csp}`);
  }
  assert.ok(!csp.includes('unsafe'), `${what}: no unsafe-* source in ${csp}`);
}

function linkHeaders(res) {
  return res.headerList.filter(([name]) => name.toLowerCase() === 'link').map(([, value]) => value);
}

function setCookies(res) {
  return res.headerList.filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value);
}

describe('UI off by default', () => {
  const hub = useHub();

  test('the UI and the demo endpoints answer 404', async () => {
    for (const path of [UI, `${UI}index.html`, `${UI}app.js`, `${DEMO}a.json?body=x`, `${HUB_PATH}/ui`]) {
      const res = await request(hub, { path });
      assert.equal(res.status, 404, `GET ${path}`);
    }
  });
});

describe('UI on (--ui)', () => {
  const hub = useHub({ args: ['--ui'] });

  test('the index is served at /.well-known/mercure/ui/, byte for byte', async () => {
    const res = await request(hub, { path: UI });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.deepEqual(res.body, readFileSync(join(UI_DIR, 'index.html')));
    assertSecurityHeaders(res, UI);
  });

  test('every file of src/ui is embedded with its content type and the security headers', async () => {
    const files = uiFiles();
    for (const must of ['index.html', 'app.js', 'app.css']) assert.ok(files.includes(must), `src/ui has ${must}`);
    for (const file of files) {
      const res = await request(hub, { path: UI + file });
      assert.equal(res.status, 200, `GET ${UI}${file}`);
      const ext = file.slice(file.lastIndexOf('.'));
      if (EXPECTED_TYPES[ext]) assert.equal(res.headers['content-type'], EXPECTED_TYPES[ext], `${file}: Content-Type`);
      assert.deepEqual(res.body, readFileSync(join(UI_DIR, file)), `${file}: the embedded bytes`);
      assertSecurityHeaders(res, file);
    }
  });

  test('the page loads nothing from another origin', () => {
    for (const file of uiFiles().filter((f) => /\.(html|js|css)$/.test(f))) {
      const text = readFileSync(join(UI_DIR, file), 'utf8');
      const external = text.match(/(?:src|href|action)\s*=\s*["']?(?:https?:)?\/\/[^"'\s>]*|url\(\s*["']?(?:https?:)?\/\/|import[^;]*?from\s*["'](?:https?:)?\/\/|@import/gi);
      assert.equal(external, null, `${file} refers to another origin: ${external}`);
    }
  });

  test('a query string does not change the file served', async () => {
    const res = await request(hub, { path: `${UI}app.js?v=2` });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
  });

  test('HEAD answers the same headers without a body', async () => {
    const get = await request(hub, { path: `${UI}app.css` });
    const head = await request(hub, { method: 'HEAD', path: `${UI}app.css` });
    assert.equal(head.status, 200);
    assert.equal(head.bodyLength, 0);
    for (const h of ['content-type', 'content-length', 'cache-control', 'x-content-type-options', 'content-security-policy']) {
      assert.equal(head.headers[h], get.headers[h], `HEAD ${h}`);
    }
    assert.equal(Number(head.headers['content-length']), get.body.length);
  });

  test('unknown names and traversal attempts answer 404', async () => {
    const paths = [
      `${UI}nope.html`,
      `${UI}index.htm`,
      `${UI}INDEX.HTML`,
      `${UI}../ui/index.html`,
      `${UI}../../../../etc/passwd`,
      `${UI}..%2f..%2fetc%2fpasswd`,
      `${UI}%2e%2e/%2e%2e/etc/passwd`,
      `${UI}./index.html`,
      `${UI}/index.html`,
      `${UI}%69ndex.html`,
      `${UI}app.js/`,
      `${UI}index.html%00.js`,
      `${UI}CMakeLists.txt`,
      `${UI}../../../CMakeLists.txt`,
    ];
    for (const path of paths) {
      const res = await request(hub, { path });
      assert.equal(res.status, 404, `GET ${path}: ${res.text}`);
    }
  });

  test('/.well-known/mercure/ui redirects to the trailing slash', async () => {
    const res = await request(hub, { path: `${HUB_PATH}/ui` });
    assert.equal(res.status, 301);
    // Relative: a path prefix before the hub (a Caddyfile's handle_path, a proxy's) is kept.
    assert.equal(res.headers.location, 'ui/');
    assert.equal(new URL(res.headers.location, `http://hub.example${HUB_PATH}/ui`).pathname, UI);
  });

  test('other methods answer 405 with Allow: GET, HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await request(hub, { method, path: UI, body: 'x=1' });
      assert.equal(res.status, 405, `${method} ${UI}`);
      assert.equal(res.headers.allow, 'GET, HEAD');
    }
  });

  test('the demo endpoints stay off without --demo', async () => {
    const res = await request(hub, { path: `${DEMO}books/1.jsonld?body=%7B%7D&jwt=a.b.c` });
    assert.equal(res.status, 404);
    assert.equal(setCookies(res).length, 0);
  });
});

describe('demo on (DEMO=1)', () => {
  const hub = useHub({ env: { DEMO: '1' } });

  test('demo implies the UI', async () => {
    const res = await request(hub, { path: UI });
    assert.equal(res.status, 200);
  });

  test('echoes the body query parameter with both Link headers', async () => {
    const body = '{"@id": "/books/1", "title": "Dune & co"}';
    const path = `${DEMO}books/1.jsonld?body=${encodeURIComponent(body)}&jwt=a.b.c`;
    const res = await request(hub, { path });
    assert.equal(res.status, 200);
    assert.equal(res.text, body);
    assert.equal(res.headers['content-type'], 'application/ld+json');
    assert.deepEqual(linkHeaders(res), ['</.well-known/mercure>; rel="mercure"', `<${path}>; rel="self"`]);
    // The body is the request's: never sniffed as another type, never framed.
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  test('the content type follows the extension, none when unknown', async () => {
    const cases = {
      'a.jsonld': 'application/ld+json',
      'a.json': 'application/json',
      'a.html': 'text/html; charset=utf-8',
      'a.txt': 'text/plain; charset=utf-8',
      'a.xml': 'text/xml; charset=utf-8',
      'a.js': 'text/javascript; charset=utf-8',
      'a.css': 'text/css; charset=utf-8',
      'dir.json/a': undefined,
      'a.bin': undefined,
      noext: undefined,
    };
    for (const [name, type] of Object.entries(cases)) {
      const res = await request(hub, { path: `${DEMO}${name}?body=hello` });
      assert.equal(res.status, 200, name);
      assert.equal(res.headers['content-type'], type, `${name}: Content-Type`);
      assert.equal(res.text, 'hello');
    }
  });

  test('without body, an empty 200', async () => {
    const res = await request(hub, { path: `${DEMO}empty.txt` });
    assert.equal(res.status, 200);
    assert.equal(res.bodyLength, 0);
  });

  test('HEAD on a demo URL: headers, no body', async () => {
    const res = await request(hub, { method: 'HEAD', path: `${DEMO}a.json?body=12345` });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '5');
    assert.equal(res.bodyLength, 0);
    assert.equal(linkHeaders(res).length, 2);
  });

  test('?jwt= sets the authorization cookie for the hub path only', async () => {
    const token = await mint({ mercure: { subscribe: ['*'] } });
    const res = await request(hub, { path: `${DEMO}a.json?jwt=${token}` });
    const cookies = setCookies(res);
    assert.equal(cookies.length, 1);
    const [pair, ...attributes] = cookies[0].split(';').map((s) => s.trim());
    assert.equal(pair, `mercureAuthorization=${token}`);
    assert.ok(attributes.includes('Path=/.well-known/mercure'), cookies[0]);
    assert.ok(attributes.includes('SameSite=Strict'), cookies[0]);
    assert.ok(!attributes.some((a) => /^(Max-Age|Expires)=/i.test(a)), `a session cookie: ${cookies[0]}`);
  });

  test('without jwt, the cookie is cleared', async () => {
    for (const query of ['', '?jwt=']) {
      const res = await request(hub, { path: `${DEMO}a.json${query}` });
      const cookies = setCookies(res);
      assert.equal(cookies.length, 1);
      const [pair, ...attributes] = cookies[0].split(';').map((s) => s.trim());
      assert.equal(pair, 'mercureAuthorization=');
      assert.ok(attributes.includes('Path=/.well-known/mercure'), cookies[0]);
      assert.ok(attributes.includes('Max-Age=0'), cookies[0]);
      assert.ok(attributes.some((a) => /^Expires=Thu, 01 Jan 1970/.test(a)), cookies[0]);
    }
  });

  test('a jwt that is not a cookie value is refused (no header injection)', async () => {
    for (const jwt of ['a\r\nX-Injected: 1', 'a;b', 'a b', 'a,b', '"a"']) {
      const res = await request(hub, { path: `${DEMO}a.json?jwt=${encodeURIComponent(jwt)}` });
      assert.equal(res.status, 400, JSON.stringify(jwt));
      assert.equal(res.headers['x-injected'], undefined);
      assert.equal(setCookies(res).length, 0);
    }
  });

  test('the cookie set by the demo authenticates a subscription', async () => {
    const token = await mint({ mercure: { subscribe: ['https://example.com/demo/{id}'] } });
    const demo = await request(hub, { path: `${DEMO}a.json?jwt=${token}` });
    const cookie = setCookies(demo)[0].split(';')[0];
    const refused = await subscribe(hub, ['https://example.com/demo/1']);
    refused.close();
    assert.equal(refused.status, 401, 'anonymous subscribers are off in this hub');
    const sub = await subscribe(hub, ['https://example.com/demo/1'], { headers: { Cookie: cookie } });
    sub.close();
    assert.equal(sub.status, 200);
  });

  test('other methods answer 405', async () => {
    const res = await request(hub, { method: 'POST', path: `${DEMO}a.json?body=x`, body: '' });
    assert.equal(res.status, 405);
  });
});

describe('demo with a custom cookie name', () => {
  const hub = useHub({ args: ['--demo', '--cookie-name', 'myHubAuth'] });

  test('the mercure Link names the cookie and Set-Cookie uses it', async () => {
    const res = await request(hub, { path: `${DEMO}a.json?jwt=a.b.c` });
    assert.equal(res.status, 200);
    assert.equal(linkHeaders(res)[0], '</.well-known/mercure>; rel="mercure"; cookie-name="myHubAuth"');
    assert.equal(setCookies(res)[0].split(';')[0], 'myHubAuth=a.b.c');
    const cleared = await request(hub, { path: `${DEMO}a.json` });
    assert.equal(setCookies(cleared)[0].split(';')[0], 'myHubAuth=');
  });
});

describe("the page's token minting (src/ui/jwt.js)", () => {
  const hub = useHub();

  test('WebCrypto and the built-in SHA-256 sign the same token, which jose verifies', async () => {
    const { signHs256, decodeJwt } = await import(join(UI_DIR, 'jwt.js'));
    const claims = { mercure: { publish: ['*'], subscribe: ['https://example.com/{x}'], payload: { user: 'é ✓' } } };
    for (const secret of [JWT_SECRET, 'k', 'x'.repeat(64), 'y'.repeat(200)]) {
      const viaSubtle = await signHs256(claims, secret);
      const viaFallback = await signHs256(claims, secret, { useWebCrypto: false });
      assert.equal(viaFallback, viaSubtle, `secret of ${secret.length} bytes`);
      const { payload } = await jose.jwtVerify(viaSubtle, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
      assert.deepEqual(payload, claims);
      assert.deepEqual(decodeJwt(viaSubtle).payload, claims);
    }
  });

  test('a token minted by the page publishes on the hub', async () => {
    const { signHs256 } = await import(join(UI_DIR, 'jwt.js'));
    const token = await signHs256({ mercure: { publish: ['https://example.com/ui/{id}'] } }, JWT_SECRET, { useWebCrypto: false });
    const ok = await publish(hub, { topic: 'https://example.com/ui/1', data: 'x' }, { token });
    assert.equal(ok.status, 200, ok.text);
    const denied = await publish(hub, { topic: 'https://example.com/other', data: 'x' }, { token });
    assert.equal(denied.status, 403, denied.text);
  });
});
