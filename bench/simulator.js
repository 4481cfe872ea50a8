/**
 * Simulator benchmark: XML throughput on loopback and the simulator's peak RSS while it serves ~1M
 * detections. The simulator runs as its own process (bin/qualys-sim) so client and server do not
 * share a CPU thread; the client counts bytes and DETECTION elements and discards the data.
 * Run: npm run build && node bench/simulator.js [--hosts 20000] [--detections-per-host 50]
 */
const { Buffer } = require('node:buffer');
const http = require('node:http');
const { URL } = require('node:url');

const { numberArg, simulatorProcess } = require('./common');

const HOSTS = numberArg('--hosts', 20000);
const PER_HOST = numberArg('--detections-per-host', 50);

function startSimulator() {
  return simulatorProcess([
    '--hosts',
    String(HOSTS),
    '--detections-per-host',
    String(PER_HOST),
    '--rate-limit',
    '100000',
    '--concurrency-limit',
    '8',
  ]);
}

function request(sim, pathAndQuery, onData) {
  const url = new URL(pathAndQuery, sim.base_url);
  const auth = 'Basic ' + Buffer.from(`${sim.username}:${sim.password}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { headers: { authorization: auth, 'x-requested-with': 'bench' } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`${pathAndQuery}: HTTP ${res.statusCode}`));
        res.on('data', onData);
        res.on('end', resolve);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

async function json(sim, p) {
  let text = '';
  await request(sim, p, (chunk) => (text += chunk));
  return JSON.parse(text);
}

/** Streams one request, counting bytes and closing tags of `element` (split-safe across chunks). */
async function measure(sim, p, element) {
  const tag = Buffer.from(`</${element}>`);
  let bytes = 0;
  let count = 0;
  let carry = Buffer.alloc(0);
  const started = process.hrtime.bigint();
  await request(sim, p, (chunk) => {
    bytes += chunk.length;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    for (let at = data.indexOf(tag); at >= 0; at = data.indexOf(tag, at + tag.length)) count++;
    carry = data.subarray(Math.max(0, data.length - tag.length + 1));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { memory } = await json(sim, '/__sim/stats');
  return { bytes, count, seconds, peakRssMb: memory.maxRssBytes / 1e6 };
}

async function main() {
  const sim = await startSimulator();
  try {
    const base = (await json(sim, '/__sim/stats')).memory.maxRssBytes / 1e6;
    const connector =
      'show_asset_id=1&show_tags=1&show_qds=1&show_qds_factors=1&show_reopened_info=1&show_igs=1&status=New,Active,Re-Opened,Fixed&truncation_limit=0';
    const hld = '/api/4.0/fo/asset/host/vm/detection/?action=list&';
    const tenth = Math.floor(HOSTS / 10);
    const scenarios = [
      [
        'HLD, first 10% of hosts',
        `${hld}${connector}&id_max=${await nthHostId(sim, tenth)}`,
        'DETECTION',
      ],
      ['HLD, all hosts (connector flags)', `${hld}${connector}`, 'DETECTION'],
      ['HLD, all hosts + show_results', `${hld}${connector}&show_results=1`, 'DETECTION'],
      [
        'Host List details=All, all hosts',
        '/api/4.0/fo/asset/host/?action=list&details=All&show_asset_id=1&show_tags=1&show_trurisk=1&host_metadata=all&show_cloud_tags=1&truncation_limit=0',
        'HOST',
      ],
      [
        'KB details=All, all QIDs',
        '/api/4.0/fo/knowledge_base/vuln/?action=list&details=All',
        'VULN',
      ],
    ];
    const rows = [];
    for (const [name, p, element] of scenarios)
      rows.push({ name, element, ...(await measure(sim, p, element)) });
    console.log(
      `qualys-sim: ${HOSTS} hosts x ${PER_HOST} mean detections/host; simulator RSS after start ${base.toFixed(0)} MB`,
    );
    console.log(
      [
        'scenario'.padEnd(36),
        'elements'.padStart(16),
        'MB'.padStart(8),
        's'.padStart(7),
        'MB/s'.padStart(7),
        'peak RSS MB'.padStart(12),
      ].join(' '),
    );
    for (const r of rows) {
      const mb = r.bytes / 1e6;
      console.log(
        [
          r.name.padEnd(36),
          `${r.count} ${r.element}`.padStart(16),
          mb.toFixed(1).padStart(8),
          r.seconds.toFixed(2).padStart(7),
          (mb / r.seconds).toFixed(1).padStart(7),
          r.peakRssMb.toFixed(0).padStart(12),
        ].join(' '),
      );
    }
  } finally {
    sim.child.kill('SIGTERM');
  }
}

/** The ID of the n-th host (ID_SET listing), to bound a request to a fraction of the hosts. */
async function nthHostId(sim, n) {
  let text = '';
  await request(
    sim,
    '/api/4.0/fo/asset/host/?action=list&details=None&truncation_limit=0',
    (c) => (text += c),
  );
  const ids = [];
  for (const m of text.matchAll(/<ID>(\d+)<\/ID>|<ID_RANGE>(\d+)-(\d+)<\/ID_RANGE>/g)) {
    if (m[1]) ids.push(Number(m[1]));
    else for (let id = Number(m[2]); id <= Number(m[3]) && ids.length <= n; id++) ids.push(id);
    if (ids.length > n) break;
  }
  return ids[Math.min(n, ids.length - 1)];
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
