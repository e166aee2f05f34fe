// Prints the table of bench/compare from the JSON lines of bench_sse_load (--json --label):
// one row per scenario and figure, ours / nchan, and the kernel's floor (bench_send_floor) under
// CPU per delivery where it was measured. A Markdown table, pasted as is into
// docs/benchmarks.md.  Usage: node bench/compare_table.mjs results.jsonl
import { readFileSync } from 'node:fs';

const all = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const rows = all.filter((r) => r.target !== 'floor');
const floors = all.filter((r) => r.target === 'floor');
const scenarios = [...new Set(rows.map((r) => r.label))];
const get = (label, target) => rows.find((r) => r.label === label && r.target === target);

const ms = (us) => us / 1000;
const perPost = (r) => (r.published_window > 0 ? r.server_cpu_us / r.published_window : 0);
const figures = {
  delivered: ['delivered/s', (r) => r.delivered_per_s, 0],
  rate: ['updates published/s (sent > 1 ms late)', (r) => `${r.publishes_per_s.toLocaleString('en-US')} (${r.late_publishes})`],
  e2e50: ['end-to-end p50 (ms)', (r) => ms(r.e2e_p50_us), 2],
  e2e99: ['end-to-end p99 (ms)', (r) => ms(r.e2e_p99_us), 2],
  e2eMax: ['end-to-end max (ms)', (r) => ms(r.e2e_max_us), 2],
  post50: ['POST p50 (ms)', (r) => ms(r.post_p50_us), 3],
  post99: ['POST p99 (ms)', (r) => ms(r.post_p99_us), 3],
  posts: ['POST/s', (r) => r.publishes_per_s, 0],
  cpuDelivery: ['server CPU per delivery (us)', (r) => r.server_cpu_us_per_delivery, 2],
  cpuPost: ['server CPU per POST (us)', perPost, 2],
  cpuPct: ['server CPU (% of its core)', (r) => r.server_cpu_pct, 0],
  rss: ['RSS per subscriber (KiB)', (r) => r.rss_per_sub_bytes / 1024, 2],
  connect: ['time to connect all (s)', (r) => r.connect_s, 2],
  broadcast: ['broadcast delivered to all (ms)', (r) => ms(r.e2e_max_us), 1],
  busy: ['machine busy % / generator % of a core', (r) => `${r.machine_busy_pct.toFixed(0)} / ${r.generator_cpu_pct.toFixed(0)}`],
  checks: [
    'delivered of expected; missing / duplicated / reordered',
    (r) =>
      `${r.delivered}/${r.expected}; ${r.missing} / ${r.duplicated} / ${r.reordered}` +
      (r.connected !== r.subscribers ? ` (${r.connected}/${r.subscribers} connected)` : '') +
      (r.post_errors || r.disconnects || r.wrong_topic ? ` (POST errors ${r.post_errors}, disconnects ${r.disconnects}, misrouted ${r.wrong_topic})` : ''),
  ],
};
const perScenario = (label) => {
  if (label.startsWith('publish-')) return ['posts', 'post50', 'post99', 'cpuPost', 'cpuPct', ...(label === 'publish-0' ? [] : ['e2e99']), 'busy', 'checks'];
  if (label.startsWith('idle-')) return ['rss', 'broadcast', 'e2e50', 'cpuDelivery', 'connect', 'busy', 'checks'];
  return ['rate', 'delivered', 'e2e50', 'e2e99', 'e2eMax', 'post50', 'post99', 'cpuDelivery', 'cpuPct', 'rss', 'busy', 'checks'];
};

const fmt = (v, digits) => (typeof v === 'number' ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : v);
console.log('| scenario | figure | ours | nchan | ours / nchan |');
console.log('|---|---|---|---|---|');
for (const label of scenarios) {
  const a = get(label, 'mercure');
  const b = get(label, 'nchan');
  for (const key of perScenario(label)) {
    const [name, f, digits] = figures[key];
    const va = a ? f(a) : undefined;
    const vb = b ? f(b) : undefined;
    const ratio = typeof va === 'number' && typeof vb === 'number' && vb !== 0 ? (va / vb).toFixed(2) : '';
    console.log(`| ${label} | ${name} | ${va === undefined ? 'n/a' : fmt(va, digits)} | ${vb === undefined ? 'n/a' : fmt(vb, digits)} | ${ratio} |`);
    for (const floor of key === 'cpuDelivery' ? floors.filter((r) => r.label === label) : []) {
      // Not a server: what the kernel alone costs with one send() per delivery, same pinning.
      const fb = vb ? (floor.us_per_message / vb).toFixed(2) : '';
      const how = floor.uring > 0 ? `one sendmsg per delivery, ${floor.uring} per io_uring call` : 'one send() per delivery';
      console.log(`| ${label} | kernel floor, ${how} (us; ratio: floor / nchan) | ${fmt(floor.us_per_message, 2)} | | ${fb} |`);
    }
  }
}
const bad = rows.filter((r) => !r.ok);
console.log(bad.length === 0 ? '\nEvery run: all subscribers connected, nothing missing, duplicated, reordered or misrouted, no POST error.'
  : `\nRuns with errors: ${bad.map((r) => `${r.label}/${r.target}`).join(', ')}`);
