// The exact bytes of the event stream: field order, data line splitting, encodings.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useHub } from '../lib/hub.mjs';
import { Closer, publish, publishOk, subscribeOk } from '../lib/http.mjs';
import { publisherToken } from '../lib/tokens.mjs';

// Heartbeats disabled so that the body holds exactly the initial comment and the frames.
const hub = useHub({ env: { ALLOW_ANONYMOUS: '1', HEARTBEAT_INTERVAL: '0' } });
const closer = new Closer();
after(() => closer.closeAll());

/** Body text with the leading comment line(s) (and a blank line after them, if any) removed. */
function framesText(sub) {
  return sub.text.replace(/^(?::[^\r\n]*(?:\r\n|\r|\n))+(?:\r\n|\r|\n)?/, '');
}

let counter = 0;
/**
 * Publishes `fields` to a fresh topic watched by a fresh subscriber; returns the single frame
 * the subscriber got and the raw text of everything after the initial comment.
 */
async function frameFor(fields) {
  const topic = `https://example.com/sse/${++counter}`;
  const sub = closer.add(await subscribeOk(hub, [topic]));
  const res = await publish(hub, [['topic', topic], ...fields], { token: await publisherToken() });
  assert.equal(res.status, 200, res.text);
  const [ev] = await sub.waitForEvents(1);
  return { ev, id: res.text, text: framesText(sub), sub };
}

const CASES = [
  // [name, form fields, expected frame]
  ['data and id', [['id', 'urn:test:1'], ['data', 'hello']], 'id: urn:test:1\ndata: hello\n\n'],
  [
    'every field, in the order event, retry, id, data',
    [['data', '{"a":1}'], ['retry', '1500'], ['id', 'urn:test:2'], ['type', 'book-updated']],
    'event: book-updated\nretry: 1500\nid: urn:test:2\ndata: {"a":1}\n\n',
  ],
  ['LF splits data lines', [['id', 'x3'], ['data', 'a\nb\nc']], 'id: x3\ndata: a\ndata: b\ndata: c\n\n'],
  ['CR splits data lines', [['id', 'x4'], ['data', 'a\rb']], 'id: x4\ndata: a\ndata: b\n\n'],
  ['CRLF is one line break', [['id', 'x5'], ['data', 'a\r\nb']], 'id: x5\ndata: a\ndata: b\n\n'],
  [
    'mixed breaks and empty lines',
    [['id', 'x6'], ['data', 'a\r\n\r\nb\n\nc\r\rd']],
    'id: x6\ndata: a\ndata: \ndata: b\ndata: \ndata: c\ndata: \ndata: d\n\n',
  ],
  ['a trailing line break gives an empty last line', [['id', 'x7'], ['data', 'a\n']], 'id: x7\ndata: a\ndata: \n\n'],
  ['empty data gives one empty data line', [['id', 'x8'], ['data', '']], 'id: x8\ndata: \n\n'],
  ['no data field gives one empty data line', [['id', 'x9']], 'id: x9\ndata: \n\n'],
  ['a leading space in data is preserved', [['id', 'x10'], ['data', ' lead']], 'id: x10\ndata:  lead\n\n'],
  ['data that looks like fields stays data', [['id', 'x11'], ['data', 'id: evil\nevent: evil\n: c']], 'id: x11\ndata: id: evil\ndata: event: evil\ndata: : c\n\n'],
  ['UTF-8 data is passed through byte for byte', [['id', 'x12'], ['data', 'héllo ✓ 🚀 中文']], 'id: x12\ndata: héllo ✓ 🚀 中文\n\n'],
  ['type only', [['id', 'x13'], ['type', 'ping'], ['data', 'd']], 'event: ping\nid: x13\ndata: d\n\n'],
  ['retry only', [['id', 'x14'], ['retry', '10'], ['data', 'd']], 'retry: 10\nid: x14\ndata: d\n\n'],
  ['an empty type gives no event line', [['id', 'x15'], ['type', ''], ['data', 'd']], 'id: x15\ndata: d\n\n'],
  ['an empty retry gives no retry line', [['id', 'x16'], ['retry', ''], ['data', 'd']], 'id: x16\ndata: d\n\n'],
  ['retry 0 gives no retry line either, as from the reference hub', [['id', 'x17'], ['retry', '0'], ['data', 'd']], 'id: x17\ndata: d\n\n'],
];

for (const [name, fields, expected] of CASES) {
  test(`frame bytes: ${name}`, async () => {
    const { ev, text } = await frameFor(fields);
    assert.equal(ev.raw, expected);
    assert.equal(text, expected, 'nothing but the frame after the initial comment');
  });
}

test('an empty id is no id: the hub generates one (an empty SSE id would reset the client)', async () => {
  const { ev, id } = await frameFor([['id', ''], ['data', 'empty-id']]);
  assert.match(id, /^urn:uuid:[0-9a-f-]{36}$/);
  assert.equal(ev.raw, `id: ${id}\ndata: empty-id\n\n`);
});

test('a generated id is the frame id', async () => {
  const { ev, id } = await frameFor([['data', 'generated']]);
  assert.equal(ev.raw, `id: ${id}\ndata: generated\n\n`);
});

test('what an EventSource client sees: data joined with LF, type, id, retry', async () => {
  const { ev } = await frameFor([['data', 'l1\r\nl2\rl3\nl4'], ['type', 't'], ['id', 'seen'], ['retry', '2000']]);
  assert.equal(ev.data, 'l1\nl2\nl3\nl4');
  assert.equal(ev.type, 't');
  assert.equal(ev.id, 'seen');
  assert.equal(ev.retry, '2000');
});

test('a large multi-line update arrives intact', async () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`);
  const { ev } = await frameFor([['id', 'big'], ['data', lines.join('\n')]]);
  assert.deepEqual(ev.dataLines, lines);
});

test('consecutive frames are separated by exactly one blank line', async () => {
  const topic = 'https://example.com/sse/consecutive';
  const sub = closer.add(await subscribeOk(hub, [topic]));
  const token = await publisherToken();
  await publishOk(hub, { topic, id: 'c1', data: 'one' }, { token });
  await publishOk(hub, { topic, id: 'c2', type: 'two', data: 'two\nlines' }, { token });
  await publishOk(hub, { topic, id: 'c3', data: '' }, { token });
  await sub.waitForEvents(3);
  assert.equal(framesText(sub), 'id: c1\ndata: one\n\nevent: two\nid: c2\ndata: two\ndata: lines\n\nid: c3\ndata: \n\n');
});
