/**
 * Read benchmark (not a test): at each size, `bin/main read` of each detection stream
 * (host_detections, detections) from the simulator → /dev/null, and again into a pipe drained as
 * fast as it fills (as Airbyte reads a source), beside the naive baseline (bench/naive-read.js)
 * in the same run, then a latency-bound read whose wall time is compared with pages × latency ÷
 * concurrency limit. Each program runs as its own process; the simulator too, so that it has
 * the other core. The source's reads run RUNS times each (the median by wall time is reported,
 * with every run's rate): on a shared machine a single 10-second run varies by a third.
 * Run: npm run build && node bench/read.js [--hosts 1000,4000,20000] [--detections-per-host 50]
 *      [--streams host_detections,detections] [--runs 3] [--only throughput|latency]
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { SOURCE_NODE_FLAGS } = require('../lib/node-flags');
const { validateConfig } = require('../lib/config');
const { detectionParams } = require('../lib/qualys/params');
const { startSimulator } = require('../lib/simulator');
const { numberArg, simulatorProcess, stringArg } = require('./common');

const ROOT = path.join(__dirname, '..');
const SIZES = (stringArg('--hosts') ?? '1000,4000,20000').split(',').map(Number);
const STREAMS = (stringArg('--streams') ?? 'host_detections,detections').split(',');
const PER_HOST = numberArg('--detections-per-host', 50);
const QIDS = 2000;
const PAGE_SIZE = 500;
const RUNS = numberArg('--runs', 3);

/** The simulator for these reads: a wide rate limit, so that only concurrency limits calls. */
function readSimulator(extra) {
  return simulatorProcess(['--qids', String(QIDS), '--rate-limit', '1000000', ...extra]);
}

/** Runs a node program with bench/rusage.js preloaded, stdout to /dev/null; returns its usage. */
function measure(script, scriptArgs, { pipe = false, nodeFlags = [] } = {}) {
  const devNull = fs.openSync('/dev/null', 'w');
  const child = spawn(
    process.execPath,
    [...nodeFlags, '-r', path.join(__dirname, 'rusage.js'), script, ...scriptArgs],
    { cwd: ROOT, stdio: ['ignore', pipe ? 'pipe' : devNull, 'pipe'] },
  );
  // As Airbyte reads a source: a pipe, drained as fast as it fills.
  if (pipe) child.stdout.resume();
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      fs.closeSync(devNull);
      const line = stderr.split('\n').find((l) => l.startsWith('{"rusage"'));
      if (code !== 0 || !line)
        reject(new Error(`${script} failed (${code}): ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(line).rusage);
    });
  });
}

function writeJson(dir, name, value) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value), { mode: 0o600 });
  return file;
}

async function readWithSource(sim, stream, extraConfig, outputOptions) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-read-'));
  const config = {
    base_url: sim.base_url,
    username: sim.username,
    password: sim.password,
    ...extraConfig,
  };
  const catalog = {
    streams: [
      {
        stream: {
          name: stream,
          json_schema: {},
          supported_sync_modes: ['full_refresh'],
        },
        sync_mode: 'full_refresh',
        destination_sync_mode: 'overwrite',
      },
    ],
  };
  try {
    return await measure(
      path.join(ROOT, 'bin/main'),
      [
        'read',
        '--config',
        writeJson(dir, 'config.json', config),
        '--catalog',
        writeJson(dir, 'catalog.json', catalog),
      ],
      // As the image runs it (its ENTRYPOINT's flags).
      { ...outputOptions, nodeFlags: SOURCE_NODE_FLAGS },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What the simulator serves for the source's default filters: hosts and detections. */
async function expectedCounts(options, config) {
  const sim = await startSimulator({ ...options, qids: QIDS });
  try {
    const params = detectionParams(validateConfig({ ...config, base_url: sim.baseUrl }));
    const ids = sim.dataset.hostIds();
    let hosts = 0;
    let detections = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const slice = ids.slice(i, i + 1000);
      const matches = sim.dataset.matchDetections({
        ...params,
        ids: `${slice[0]}-${slice[slice.length - 1]}`,
      });
      hosts += matches.length;
      for (const m of matches) detections += m.detections.length;
    }
    return { hosts, detections };
  } finally {
    await sim.close();
  }
}

async function simStats(sim) {
  const auth = Buffer.from(`${sim.username}:${sim.password}`).toString('base64');
  const res = await fetch(new URL('/__sim/stats', sim.base_url), {
    headers: { authorization: `Basic ${auth}`, 'x-requested-with': 'bench' },
  });
  return res.json();
}

const row = (cells) => `| ${cells.join(' | ')} |`;

/** The run of median wall time, with the highest peak RSS of all runs. */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...middle, maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)) };
}

/** Reads of one size: each stream to /dev/null and to a pipe, RUNS times, and the baseline. */
async function throughputAt(hosts) {
  const options = { hosts, detectionsPerHost: PER_HOST };
  const base = { username: 'u', password: 'p', detections_page_size: PAGE_SIZE };
  const { detections } = await expectedCounts(options, base);
  const sim = await readSimulator([
    '--hosts',
    String(hosts),
    '--detections-per-host',
    String(PER_HOST),
  ]);
  try {
    const runs = new Map(STREAMS.map((stream) => [stream, { devNull: [], pipe: [] }]));
    // Alternating, so that a busy spell of the machine weighs on all.
    for (let run = 0; run < RUNS; run++) {
      for (const stream of STREAMS) {
        const config = { detections_page_size: PAGE_SIZE };
        runs.get(stream).devNull.push(await readWithSource(sim, stream, config));
        runs.get(stream).pipe.push(await readWithSource(sim, stream, config, { pipe: true }));
      }
    }
    const naive = await measure(path.join(__dirname, 'naive-read.js'), [
      sim.base_url,
      sim.username,
      sim.password,
      String(PAGE_SIZE),
    ]);
    const rate = (r) => detections / (r.wallMs / 1000);
    console.log(`\nRead: ${hosts} hosts x ${PER_HOST} mean detections (${detections} detections)`);
    console.log(row(['program', 'wall s', 'detections/s', 'CPU s', 'peak RSS MB', 'x baseline']));
    console.log(row(['---', '---:', '---:', '---:', '---:', '---:']));
    const rows = [];
    for (const stream of STREAMS) {
      const { devNull, pipe } = runs.get(stream);
      rows.push([`bin/main read ${stream} -> /dev/null`, median(devNull)]);
      rows.push([`bin/main read ${stream} -> a pipe (as under Airbyte)`, median(pipe)]);
    }
    rows.push(['naive baseline (whole pages, fast-xml-parser)', naive]);
    for (const [name, r] of rows) {
      console.log(
        row([
          name,
          (r.wallMs / 1000).toFixed(1),
          Math.round(rate(r)).toLocaleString('en-US'),
          ((r.userMs + r.systemMs) / 1000).toFixed(1),
          r.maxRssMb.toFixed(0),
          `${(rate(r) / rate(naive)).toFixed(1)}x`,
        ]),
      );
    }
    const rates = (list) =>
      list.map((r) => Math.round(rate(r) / 100) / 10).join(', ') + 'k detections/s';
    if (RUNS > 1) {
      for (const stream of STREAMS) {
        const { devNull, pipe } = runs.get(stream);
        console.log(
          `(${stream}: medians of ${RUNS} runs; /dev/null: ${rates(devNull)}; pipe: ${rates(pipe)})`,
        );
      }
    }
  } finally {
    sim.child.kill('SIGTERM');
  }
}

async function throughput() {
  for (const hosts of SIZES) await throughputAt(hosts);
}

async function latencyBound() {
  // Latency dominates the transfer of a page here (as on Qualys, where pages take seconds).
  const hosts = 8000;
  const pageSize = 50;
  const latencyMs = 400;
  const limit = 2;
  const sim = await readSimulator([
    '--hosts',
    String(hosts),
    '--detections-per-host',
    '5',
    '--latency-ms',
    String(latencyMs),
    '--concurrency-limit',
    String(limit),
  ]);
  try {
    const run = await readWithSource(sim, 'host_detections', { detections_page_size: pageSize });
    const stats = await simStats(sim);
    const pages = stats.calls.hld;
    const ideal = (pages * latencyMs) / limit / 1000;
    const failed = Object.entries(stats.statusCodes)
      .filter(([code]) => code !== '200')
      .reduce((sum, [, n]) => sum + n, 0);
    console.log(
      `\nLatency-bound read: ${hosts} hosts, page size ${pageSize}, --latency-ms ${latencyMs}, concurrency limit ${limit}`,
    );
    console.log(
      row([
        'HLD pages',
        'pages x latency / limit s',
        'wall s',
        'over ideal',
        'failed calls',
        'most HLD calls at once',
      ]),
    );
    console.log(row(['---:', '---:', '---:', '---:', '---:', '---:']));
    console.log(
      row([
        pages,
        ideal.toFixed(1),
        (run.wallMs / 1000).toFixed(1),
        `${((run.wallMs / 1000 / ideal - 1) * 100).toFixed(1)}%`,
        failed,
        stats.maxRunning.hld,
      ]),
    );
  } finally {
    sim.child.kill('SIGTERM');
  }
}

const only = stringArg('--only');

(async () => {
  if (only !== 'latency') await throughput();
  if (only !== 'throughput') await latencyBound();
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
