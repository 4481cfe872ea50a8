/**
 * End-to-end store benchmark (not a test): `etm sync` from the simulator into SQLite and into
 * PostgreSQL, each beside the source alone (`bin/main read` → /dev/null) in the same run; then
 * an unchanged incremental sync (what it wrote), and 4 `etm sync` processes at once into one
 * PostgreSQL schema, over 4 simulated subscriptions that share hosts, beside one of them alone.
 * Every program is its own process, with bench/rusage.js preloaded for CPU and peak RSS.
 *
 * Run: npm run build && node bench/sync.js [--hosts 10000] [--detections-per-host 40]
 *      [--postgres postgres://user:password@host:port/db]   (default: a throwaway server,
 *      test/postgres/server.mjs, as the tests use)
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const { numberArg, simulatorProcess, stringArg } = require('./common');

const ROOT = path.join(__dirname, '..');
const HOSTS = numberArg('--hosts', 10000);
const PER_HOST = numberArg('--detections-per-host', 40);
const WRITERS = 4;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sync-'));

/** Runs `node script args`, stdout kept (or to /dev/null); resolves with its rusage and stdout. */
function measure(script, args, { keepStdout = true } = {}) {
  const out = keepStdout ? 'pipe' : fs.openSync('/dev/null', 'w');
  const child = spawn(
    process.execPath,
    ['-r', path.join(__dirname, 'rusage.js'), script, ...args],
    { cwd: ROOT, stdio: ['ignore', out, 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
  return new Promise((resolve, reject) =>
    child.once('close', (code) => {
      const line = stderr.trim().split('\n').pop();
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${stderr.slice(-500)}`));
      resolve({ ...JSON.parse(line).rusage, stdout });
    }),
  );
}

function writeJson(name, value) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value), { mode: 0o600 });
  return file;
}

const configOf = (sim, label) =>
  writeJson(`${label}.json`, {
    base_url: sim.base_url,
    username: sim.username,
    password: sim.password,
    subscription: label,
  });

async function sourceAlone(sim) {
  const catalog = {
    streams: ['hosts', 'host_detections', 'knowledge_base'].map((name) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] },
      sync_mode: 'full_refresh',
      destination_sync_mode: 'overwrite',
    })),
  };
  const args = [
    'read',
    '--config',
    configOf(sim, 'alone'),
    '--catalog',
    writeJson('c.json', catalog),
  ];
  return measure(path.join(ROOT, 'bin/main'), args, { keepStdout: false });
}

/** `etm sync` of these configs into `db`; the findings it wrote, from its summary. */
async function etmSync(db, configs) {
  const args = ['sync', ...configs.flatMap((c) => ['--config', c]), '--db', db];
  const run = await measure(path.join(ROOT, 'bin/etm'), args);
  const detections = [...run.stdout.matchAll(/detections: +([\d,]+) new, ([\d,]+) updated/g)];
  const records = [...run.stdout.matchAll(/: ([\d,]+) records, /g)];
  const n = (s) => Number(s.replace(/,/g, ''));
  return {
    ...run,
    written: detections.reduce((sum, m) => sum + n(m[1]) + n(m[2]), 0),
    records: records.reduce((sum, m) => sum + n(m[1]), 0),
  };
}

async function postgresUrl() {
  const given = stringArg('--postgres');
  if (given) return { url: given, stop: () => undefined };
  const child = spawn(process.execPath, [path.join(ROOT, 'test/postgres/server.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve) =>
    readline.createInterface({ input: child.stdout }).once('line', resolve),
  );
  return { url: JSON.parse(line).url, stop: () => child.kill('SIGTERM') };
}

const schemaUrl = (url, schema) => {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
};

const rate = (findings, ms) => Math.round(findings / (ms / 1000));
const fmt = (v) => v.toLocaleString('en-US');

async function main() {
  const sims = [];
  const pg = await postgresUrl();
  try {
    // Subscription k shares 30% of its hosts with subscription k - 1.
    for (let k = 0; k < WRITERS; k++) {
      const overlap = k === 0 ? [] : ['--overlap-seed', String(k)];
      sims.push(
        await simulatorProcess([
          '--hosts',
          String(HOSTS),
          '--detections-per-host',
          String(PER_HOST),
          '--seed',
          String(k + 1),
          '--rate-limit',
          '1000000',
          ...overlap,
        ]),
      );
    }
    const rows = [];
    const alone = await sourceAlone(sims[0]);
    rows.push([
      'source alone (bin/main read > /dev/null)',
      `${(alone.wallMs / 1000).toFixed(1)} s`,
      `${alone.maxRssMb.toFixed(0)} MB`,
      '',
    ]);
    const stores = { sqlite: path.join(dir, 'etm.db'), postgres: schemaUrl(pg.url, 'bench_one') };
    for (const [engine, db] of Object.entries(stores)) {
      const first = await etmSync(db, [configOf(sims[0], 'sub-1')]);
      rows.push([
        `etm sync, ${engine}`,
        `${(first.wallMs / 1000).toFixed(1)} s`,
        `${first.maxRssMb.toFixed(0)} MB`,
        `${fmt(first.written)} findings, ${fmt(rate(first.written, first.wallMs))} findings/s`,
      ]);
      const again = await etmSync(db, [configOf(sims[0], 'sub-1')]);
      rows.push([
        `  unchanged incremental, ${engine}`,
        `${(again.wallMs / 1000).toFixed(1)} s`,
        `${again.maxRssMb.toFixed(0)} MB`,
        `${fmt(again.records)} records, ${fmt(again.written)} findings written`,
      ]);
    }
    const shared = schemaUrl(pg.url, 'bench_four');
    const started = Date.now();
    const runs = await Promise.all(
      sims.map((sim, k) => etmSync(shared, [configOf(sim, `sub-${k + 1}`)])),
    );
    const wall = Date.now() - started;
    const total = runs.reduce((sum, r) => sum + r.written, 0);
    const one = rows.find((r) => r[0] === 'etm sync, postgres');
    const oneRate = Number(one[3].split(', ')[1].split(' ')[0].replace(/,/g, ''));
    rows.push([
      `${WRITERS} concurrent etm sync, postgres`,
      `${(wall / 1000).toFixed(1)} s`,
      `${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB`,
      `${fmt(total)} findings, ${fmt(rate(total, wall))} findings/s = ${(rate(total, wall) / oneRate).toFixed(2)}× one writer`,
    ]);
    console.log(
      `node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(2)}; ${fmt(HOSTS)} hosts × ${PER_HOST} per subscription`,
    );
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows)
      console.log(
        `${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2].padStart(w[2])}  ${r[3]}`.trimEnd(),
      );
  } finally {
    for (const s of sims) s.child.kill('SIGTERM');
    pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
