// The hub's debugging UI: token, subscribe, publish, active subscriptions. Plain DOM, no
// framework; the page's CSP allows only same-origin scripts, styles and connections, so
// nothing here uses inline styles or other origins.

import { decodeJwt, mercureClaim, signHs256, verifyHs256 } from './jwt.js';

const $ = (id) => document.getElementById(id);

// The hub is the parent of the UI's folder: /.well-known/mercure/ui/ -> /.well-known/mercure
// (relative, so a reverse proxy's path prefix is kept).
const hubPath = new URL('..', document.baseURI).pathname.replace(/\/$/, '');
// The topics of subscription events are the hub's own, whatever path prefix reaches it.
const SUBSCRIPTIONS_TEMPLATE = '/.well-known/mercure/subscriptions/{topic}/{subscriber}';
const MAX_EVENTS = 500;
const TOKEN_STORAGE_KEY = 'mercure-ui-token';

const currentToken = () => $('token').value.trim();
const lines = (text) =>
  text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');

function setStatus(el, text, kind = '') {
  el.textContent = text;
  el.dataset.kind = kind;
}

function clock(date = new Date()) {
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function hubUrl(params) {
  const qs = params.toString();
  return qs ? `${hubPath}?${qs}` : hubPath;
}

// An error answer of the hub, for display: "401 Unauthorized: reason".
async function describeFailure(res) {
  const body = (await res.text().catch(() => '')).trim();
  return `${res.status} ${res.statusText}${body ? `: ${body}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Token

let claimsSeq = 0;

async function showClaims() {
  const seq = ++claimsSeq;
  const token = currentToken();
  const out = $('token-claims');
  const status = $('token-status');
  try {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    /* storage disabled: fine */
  }
  if (!token) {
    out.textContent = '(no token)';
    setStatus(status, 'no token: anonymous (or the hub cookie)', '');
    return;
  }
  let decoded;
  try {
    decoded = decodeJwt(token);
  } catch (e) {
    out.textContent = '(not a JWT)';
    setStatus(status, e.message, 'error');
    return;
  }
  out.textContent = JSON.stringify(decoded, null, 2);
  const notes = [];
  let kind = 'ok';
  const { payload, header } = decoded;
  const now = Date.now() / 1000;
  if (typeof payload.exp === 'number') {
    const at = new Date(payload.exp * 1000).toLocaleString();
    if (payload.exp <= now) {
      notes.push(`expired at ${at}`);
      kind = 'error';
    } else {
      notes.push(`expires ${at}`);
    }
  }
  if (typeof payload.nbf === 'number' && payload.nbf > now) {
    notes.push('not valid yet (nbf)');
    kind = 'error';
  }
  const mercure = mercureClaim(payload);
  if (!mercure) {
    notes.push('no "mercure" claim: it cannot publish nor see private updates');
    if (kind === 'ok') kind = 'warn';
  }
  const key = $('jwt-key').value;
  if (header.alg === 'HS256' && key) {
    const valid = await verifyHs256(token, key).catch(() => false);
    if (seq !== claimsSeq) return;
    notes.push(valid ? 'signature matches the key below' : 'signature does not match the key below');
    if (!valid && kind === 'ok') kind = 'warn';
  } else {
    notes.push(`${header.alg} token: the signature is checked by the hub only`);
  }
  setStatus(status, notes.join(' · '), kind);
}

function parseClaimList(id, name) {
  const text = $(id).value.trim();
  if (!text) return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${e.message})`);
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${name}: a JSON array of strings is expected, e.g. ["*"]`);
  }
  return value;
}

async function mintToken() {
  const status = $('mint-status');
  try {
    const mercure = {};
    const publish = parseClaimList('claim-publish', 'mercure.publish');
    const subscribe = parseClaimList('claim-subscribe', 'mercure.subscribe');
    if (publish) mercure.publish = publish;
    if (subscribe) mercure.subscribe = subscribe;
    const payloadText = $('claim-payload').value.trim();
    if (payloadText) {
      try {
        mercure.payload = JSON.parse(payloadText);
      } catch (e) {
        throw new Error(`mercure.payload: not JSON (${e.message})`);
      }
    }
    const claims = { mercure };
    const minutes = $('claim-exp').value.trim();
    if (minutes) {
      const m = Number(minutes);
      if (!Number.isFinite(m) || m <= 0) throw new Error('expiry: a positive number of minutes is expected');
      claims.exp = Math.floor(Date.now() / 1000 + m * 60);
    }
    const key = $('jwt-key').value;
    if (!key) throw new Error('the secret key is empty');
    $('token').value = await signHs256(claims, key);
    setStatus(status, 'minted', 'ok');
    await showClaims();
  } catch (e) {
    setStatus(status, e.message, 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// Subscribe

let source = null;
const listenedTypes = new Set();

function listenTo(type) {
  if (!source || !type || listenedTypes.has(type)) return;
  listenedTypes.add(type);
  source.addEventListener(type, showEvent);
}

function showEvent(e) {
  const list = $('events');
  const item = document.createElement('li');
  item.className = 'event';
  item.dataset.testid = 'event';
  item.dataset.id = e.lastEventId;
  item.dataset.type = e.type;

  const meta = document.createElement('div');
  meta.className = 'event-meta';
  const add = (cls, text, testid) => {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    if (testid) span.dataset.testid = testid;
    meta.append(span);
  };
  add('event-time', clock(), 'event-time');
  add('event-type', e.type, 'event-type');
  add('event-id', e.lastEventId || '(no id)', 'event-id');
  const data = document.createElement('pre');
  data.className = 'event-data code';
  data.dataset.testid = 'event-data';
  data.textContent = e.data;
  item.append(meta, data);

  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  $('events-empty').hidden = true;
}

// EventSource hides the status of a refused connection: ask again with fetch to show why.
async function diagnose(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    if (!res.ok) return describeFailure(res);
    return 'the hub accepts the subscription now; the connection was lost';
  } catch {
    return 'the hub cannot be reached';
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function closeSubscription(text = 'closed') {
  if (source) {
    source.close();
    source = null;
  }
  listenedTypes.clear();
  $('unsubscribe').disabled = true;
  setStatus($('subscribe-status'), text, '');
}

function subscribe() {
  const status = $('subscribe-status');
  const topics = lines($('subscribe-topics').value);
  if (topics.length === 0) {
    setStatus(status, 'enter at least one topic selector', 'error');
    return;
  }
  closeSubscription();
  const params = new URLSearchParams();
  for (const t of topics) params.append('topic', t);
  const lastEventId = $('last-event-id').value.trim();
  if (lastEventId) params.append('lastEventID', lastEventId);
  const shown = new URLSearchParams(params);
  const token = currentToken();
  if (token && $('subscribe-with-token').checked) {
    params.append('authorization', token);
    shown.append('authorization', '…');
  }
  const url = hubUrl(params);
  $('subscribe-url').textContent = `GET ${hubUrl(shown)}`;

  const es = new EventSource(url);
  source = es;
  $('unsubscribe').disabled = false;
  setStatus(status, 'connecting…', 'warn');
  es.onopen = () => {
    if (source === es) setStatus(status, `open: ${topics.length} selector(s)`, 'ok');
  };
  es.onerror = async () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      setStatus(status, 'closed by the hub…', 'error');
      const why = await diagnose(url);
      if (source === es) {
        closeSubscription(`refused: ${why}`);
        $('subscribe-status').dataset.kind = 'error';
      }
    } else {
      setStatus(status, 'connection lost, reconnecting…', 'warn');
    }
  };
  es.addEventListener('message', showEvent);
  listenedTypes.add('message');
  for (const type of $('event-types').value.split(/[\s,]+/)) listenTo(type);
}

// ---------------------------------------------------------------------------------------------
// Publish

async function publish() {
  const result = $('publish-result');
  const topics = lines($('publish-topics').value);
  if (topics.length === 0) {
    setStatus(result, 'enter at least one topic', 'error');
    return;
  }
  const body = new URLSearchParams();
  for (const t of topics) body.append('topic', t);
  body.append('data', $('publish-data').value);
  if ($('publish-private').checked) body.append('private', 'on');
  for (const [field, id] of [
    ['id', 'publish-id'],
    ['type', 'publish-type'],
    ['retry', 'publish-retry'],
  ]) {
    const value = $(id).value.trim();
    if (value) body.append(field, value);
  }
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // An event type published from here is one the subscription should show.
  listenTo($('publish-type').value.trim());

  setStatus(result, 'publishing…', 'warn');
  try {
    const res = await fetch(hubPath, { method: 'POST', headers, body, credentials: 'same-origin' });
    if (res.ok) {
      const id = (await res.text()).trim();
      result.dataset.id = id;
      setStatus(result, `published: ${id}`, 'ok');
    } else {
      delete result.dataset.id;
      setStatus(result, `refused: ${await describeFailure(res)}`, 'error');
    }
  } catch (e) {
    setStatus(result, `network error: ${e.message}`, 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// Active subscriptions

const subscriptions = new Map(); // id -> subscription object
let subscriptionsSource = null;

function renderSubscriptions() {
  const body = $('subscriptions');
  body.replaceChildren();
  const sorted = [...subscriptions.values()].sort(
    (a, b) => String(a.topic).localeCompare(String(b.topic)) || String(a.subscriber).localeCompare(String(b.subscriber)),
  );
  for (const s of sorted) {
    const row = document.createElement('tr');
    row.dataset.testid = 'subscription';
    row.dataset.id = s.id;
    const cell = (cls, text) => {
      const td = document.createElement('td');
      td.className = cls;
      td.dataset.testid = `subscription-${cls}`;
      td.textContent = text;
      row.append(td);
    };
    cell('topic', s.topic);
    cell('subscriber', s.subscriber);
    cell('active', String(s.active));
    cell('payload', s.payload === undefined ? '' : JSON.stringify(s.payload));
    body.append(row);
  }
}

function subscriptionsHeaders() {
  const token = currentToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Resolves with the collection's lastEventID, or null when the list could not be read.
async function refreshSubscriptions() {
  const status = $('subscriptions-status');
  setStatus(status, 'loading…', 'warn');
  let res;
  try {
    res = await fetch(`${hubPath}/subscriptions`, {
      headers: { Accept: 'application/ld+json', ...subscriptionsHeaders() },
      cache: 'no-store',
    });
  } catch (e) {
    setStatus(status, `network error: ${e.message}`, 'error');
    return null;
  }
  if (!res.ok) {
    const hint = {
      401: ' (set a token whose mercure.subscribe claim allows the subscriptions API)',
      403: ' (the token’s mercure.subscribe claim does not allow the subscriptions API)',
      404: ' (the hub runs without --subscriptions / SUBSCRIPTIONS=1)',
    };
    setStatus(status, `${await describeFailure(res)}${hint[res.status] ?? ''}`, 'error');
    return null;
  }
  let doc;
  try {
    doc = await res.json();
  } catch (e) {
    setStatus(status, `not JSON: ${e.message}`, 'error');
    return null;
  }
  subscriptions.clear();
  for (const s of doc.subscriptions ?? []) subscriptions.set(s.id, s);
  renderSubscriptions();
  setStatus(status, `${subscriptions.size} active · lastEventID ${doc.lastEventID} · ${clock()}`, 'ok');
  return doc.lastEventID ?? null;
}

function onSubscriptionEvent(e) {
  let s;
  try {
    s = JSON.parse(e.data);
  } catch {
    return;
  }
  if (!s || typeof s.id !== 'string') return;
  if (s.active) subscriptions.set(s.id, s);
  else subscriptions.delete(s.id);
  renderSubscriptions();
  setStatus($('subscriptions-status'), `${subscriptions.size} active · live · ${clock()}`, 'ok');
}

function stopLiveSubscriptions() {
  if (subscriptionsSource) subscriptionsSource.close();
  subscriptionsSource = null;
}

async function toggleLiveSubscriptions() {
  stopLiveSubscriptions();
  if (!$('live-subscriptions').checked) return;
  const lastEventId = await refreshSubscriptions();
  if (lastEventId === null || !$('live-subscriptions').checked) return;
  // Resume from the list's lastEventID: nothing between the list and the stream is missed.
  const params = new URLSearchParams({ topic: SUBSCRIPTIONS_TEMPLATE, lastEventID: lastEventId });
  const token = currentToken();
  if (token) params.append('authorization', token);
  const es = new EventSource(hubUrl(params));
  subscriptionsSource = es;
  es.addEventListener('message', onSubscriptionEvent);
  es.onopen = () => {
    if (subscriptionsSource === es) setStatus($('subscriptions-status'), `${subscriptions.size} active · live · ${clock()}`, 'ok');
  };
  es.onerror = () => {
    if (subscriptionsSource === es && es.readyState === EventSource.CLOSED) {
      setStatus($('subscriptions-status'), 'live updates refused by the hub', 'error');
      stopLiveSubscriptions();
    }
  };
}

// ---------------------------------------------------------------------------------------------

function init() {
  $('hub-url').textContent = new URL(hubPath, location.href).href;
  try {
    const saved = sessionStorage.getItem(TOKEN_STORAGE_KEY);
    if (saved && !$('token').value) $('token').value = saved;
  } catch {
    /* storage disabled */
  }
  $('token').addEventListener('input', showClaims);
  $('jwt-key').addEventListener('input', showClaims);
  $('token-clear').addEventListener('click', () => {
    $('token').value = '';
    showClaims();
  });
  $('mint-token').addEventListener('click', mintToken);
  $('subscribe').addEventListener('click', subscribe);
  $('unsubscribe').addEventListener('click', () => closeSubscription());
  $('events-clear').addEventListener('click', () => {
    $('events').replaceChildren();
    $('events-empty').hidden = false;
  });
  $('publish').addEventListener('click', publish);
  $('refresh-subscriptions').addEventListener('click', refreshSubscriptions);
  $('live-subscriptions').addEventListener('change', toggleLiveSubscriptions);
  showClaims();
  document.body.dataset.ready = 'true';
}

init();
