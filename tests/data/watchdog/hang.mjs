// Run by tests/integration/watchdog.test.mjs under `node --test` with a short watchdog: a test
// that starts a hub and then waits on something that never happens, with no deadline of its own.
import { test } from 'node:test';
import { startHub } from '../../lib/hub.mjs';

test('waits forever on a hub', async () => {
  const hub = await startHub();
  process.stdout.write(`hub pid ${hub.pid}\n`);
  await new Promise(() => {
    setInterval(() => {}, 60_000);
  });
});
