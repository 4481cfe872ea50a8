#!/usr/bin/env node
/**
 * ETM benchmark: 1M findings through convert + store, as `etm sync` does it — Airbyte RECORD
 * lines of realistic host_detections records (~50 detections per host, QID_INFO and ATT&CK
 * joined on every detection, as the source emits them) and a STATE every 500 hosts, read line by
 * line and consumed into a WAL store on disk. Reports findings/s and peak RSS against the targets
 * (>= 50k/s, <= 512 MB), plus the time to read every final record back out.
 *
 *   npm run build && node bench/etm.js [--hosts 20000] [--detections 50] [--db FILE] [--no-read]
 *
 * The source's output is generated first, by a child process (seeded PRNG, so runs are
 * comparable), into a JSONL file in a temp dir; only reading it through convert + store is timed
 * and its peak RSS reported, as the source's own work happens in another process during a real
 * sync.
 */
/* global setInterval, clearInterval */
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { EtmDestination } = require('../lib/etm/destination');
const { EtmStore } = require('../lib/etm/store/database');
const { allAssets, allFindings } = require('../lib/etm/store/reader');
const { SyncConsumer } = require('../lib/etm/sync/consumer');
const { lines } = require('../lib/etm/io');
const { numberArg, stringArg } = require('./common');

const HOSTS = numberArg('--hosts', 20000);
const DETECTIONS = numberArg('--detections', 50);
const CHECKPOINT_EVERY = 500;
const QIDS = 4000;
const SUBSCRIPTION = 'bench@qualysapi.qg2.apps.qualys.com';

// Deterministic PRNG (mulberry32).
let seed = 0x9e3779b9;
const rand = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (list) => list[Math.floor(rand() * list.length)];
const words =
  'remote attacker could exploit this vulnerability to execute arbitrary code with elevated privileges on the affected system service kernel package update'.split(
    ' ',
  );
const sentence = (n) => Array.from({ length: n }, () => pick(words)).join(' ');

const TACTICS = [
  ['TA0001', 'Initial Access'],
  ['TA0002', 'Execution'],
  ['TA0004', 'Privilege Escalation'],
  ['TA0040', 'Impact'],
];
const knowledge = Array.from({ length: QIDS }, (_, i) => {
  const qid = 10000 + i * 37;
  const tactic = pick(TACTICS);
  return {
    qid,
    severity: 1 + Math.floor(rand() * 5),
    QID_INFO: {
      qid: {
        qid,
        title: `Vendor Security Update for component ${i} (${sentence(4)})`,
        description: sentence(60),
        consequence: sentence(25),
        solution: sentence(30),
        cvssBase: Math.round(rand() * 100) / 10,
        cvssTemporal: Math.round(rand() * 100) / 10,
        cvss3Base: Math.round(rand() * 100) / 10,
        cvss3Temporal: Math.round(rand() * 100) / 10,
        cvssAccessVector: 1 + Math.floor(rand() * 3),
        patchExist: rand() < 0.8,
        cveId: Array.from(
          { length: 1 + Math.floor(rand() * 3) },
          (_, k) => `CVE-2024-${10000 + i * 3 + k}`,
        ),
        category: pick(['Windows', 'Local', 'Web server', 'Amazon Linux']),
        vulnType: 'Vulnerability',
        severityLevel: 3,
        threatIntel: rand() < 0.3 ? ['Exploit_Public'] : [],
        publishedDate: '2024-05-01T00:00:00Z',
        lastServiceModified: '2025-02-01T00:00:00Z',
      },
      corExploit: rand() < 0.2 ? [{ vendorName: 'The Exploit-DB', exploits: [] }] : [],
    },
    MITRE_TACTIC_ID: [tactic[0]],
    MITRE_TACTIC_NAME: [tactic[1]],
    MITRE_TECHNIQUE_ID: ['T1203'],
    MITRE_TECHNIQUE_NAME: ['Exploitation for Client Execution'],
  };
});

const STATUSES = ['Active', 'Active', 'Active', 'New', 'Re-Opened', 'Fixed'];
function hostRecord(h) {
  const id = 100000000 + h;
  const vulns = [];
  for (let d = 0; d < DETECTIONS; d++) {
    const k = knowledge[(h * 7 + d * 13) % QIDS];
    const port = rand() < 0.4 ? pick([22, 80, 443, 3389, 8443]) : undefined;
    vulns.push({
      UNIQUE_VULN_ID: id * 100 + d,
      QID: k.qid,
      TYPE: rand() < 0.8 ? 'Confirmed' : 'Potential',
      SEVERITY: k.severity,
      PORT: port,
      PROTOCOL: port ? 'tcp' : undefined,
      SSL: port === 443 || port === 8443,
      STATUS: pick(STATUSES),
      FIRST_FOUND_DATETIME: '2024-11-02T04:12:45Z',
      LAST_FOUND_DATETIME: `2025-03-${String(1 + Math.floor(rand() * 14)).padStart(2, '0')}T06:50:02Z`,
      QDS: { severity: 'HIGH', value: 1 + Math.floor(rand() * 100) },
      TIMES_FOUND: 1 + Math.floor(rand() * 50),
      LAST_TEST_DATETIME: '2025-03-14T06:50:02Z',
      IS_IGNORED: rand() < 0.02,
      IS_DISABLED: false,
      QID_INFO: k.QID_INFO,
      MITRE_TACTIC_ID: k.MITRE_TACTIC_ID,
      MITRE_TACTIC_NAME: k.MITRE_TACTIC_NAME,
      MITRE_TECHNIQUE_ID: k.MITRE_TECHNIQUE_ID,
      MITRE_TECHNIQUE_NAME: k.MITRE_TECHNIQUE_NAME,
    });
  }
  return {
    subscription: SUBSCRIPTION,
    ID: id,
    ASSET_ID: 30000000 + h,
    IP: `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`,
    TRACKING_METHOD: 'AGENT',
    OS: pick(['Windows Server 2019', 'Amazon Linux 2', 'Ubuntu 22.04']),
    DNS_DATA: {
      HOSTNAME: `host${h}`,
      DOMAIN: 'corp.example.com',
      FQDN: `host${h}.corp.example.com`,
    },
    NETBIOS: `HOST${h}`,
    QG_HOSTID: `6f1c0b2e-0000-4000-8000-${String(h).padStart(12, '0')}`,
    LAST_SCAN_DATETIME: '2025-03-14T06:55:30Z',
    TAGS: [{ TAG_ID: 1, NAME: 'Production' }],
    VULNERABILITIES: vulns,
  };
}

/** Writes the source's messages to `file`, a host per line, with back-pressure. */
async function writeMessages(file) {
  const out = fs.createWriteStream(file);
  const write = (line) =>
    out.write(`${line}\n`)
      ? Promise.resolve()
      : new Promise((resolve) => out.once('drain', resolve));
  for (let h = 0; h < HOSTS; h++) {
    const data = hostRecord(h);
    await write(
      JSON.stringify({
        type: 'RECORD',
        record: { stream: 'host_detections', data, emitted_at: 0 },
      }),
    );
    if ((h + 1) % CHECKPOINT_EVERY === 0 || h === HOSTS - 1) {
      await write(
        JSON.stringify({
          type: 'STATE',
          state: { data: { host_detections: { hostsDone: h + 1 } } },
        }),
      );
    }
  }
  await new Promise((resolve) => out.end(resolve));
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-bench-'));
  const dbFile = stringArg('--db') ?? path.join(dir, 'bench.db');
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const store = await EtmStore.open(dbFile);
  try {
    const destination = new EtmDestination(store, {
      logger: { info: () => {}, warn: (m) => console.error(m) },
    });
    const consumer = new SyncConsumer(destination);
    const input = path.join(dir, 'source-output.jsonl');
    const g0 = process.hrtime.bigint();
    // In a process of its own: what the generator allocates would otherwise count as the sync's.
    execFileSync(process.execPath, [__filename, '--generate', input, ...process.argv.slice(2)], {
      stdio: 'inherit',
    });
    const generation = Number(process.hrtime.bigint() - g0) / 1e9;
    const inputSize = fs.statSync(input).size;
    peak = 0;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const result = await consumer.consume(
      lines(fs.createReadStream(input, { highWaterMark: 1 << 20 })),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    // Peak RSS while converting and storing (the generator's own memory is not the sync's, nor
    // is reading every record back below).
    const maxRss = Math.max(peak, process.memoryUsage().rss);
    if (result.failures.length) throw new Error(result.failures.join('; '));
    const findings = HOSTS * DETECTIONS;
    const t1 = process.hrtime.bigint();
    let read = 0;
    if (process.argv.includes('--no-read')) read = -1;
    else {
      for await (const r of allAssets(store.sql)) read += JSON.stringify(r) ? 1 : 0;
      for await (const r of allFindings(store.sql)) read += JSON.stringify(r) ? 1 : 0;
    }
    const readSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    clearInterval(sampler);
    const mb = (b) => (b / 1024 / 1024).toFixed(0);
    const rate = findings / seconds;
    const rows = [
      ['hosts × detections', `${HOSTS.toLocaleString('en-US')} × ${DETECTIONS}`, ''],
      ['findings (convert + store)', findings.toLocaleString('en-US'), ''],
      ['checkpoints committed', String(result.checkpoints), ''],
      ['wall time', `${seconds.toFixed(1)} s`, ''],
      [
        'CPU time (user + sys)',
        `${cpuSeconds.toFixed(1)} s`,
        `${Math.round(findings / cpuSeconds).toLocaleString('en-US')} findings per CPU-second`,
      ],
      [
        'source output, generated first',
        `${mb(inputSize)} MB`,
        `in ${generation.toFixed(1)} s (not timed: the source's work, another process in a sync)`,
      ],
      [
        'findings/s',
        Math.round(rate).toLocaleString('en-US'),
        rate >= 50000 ? 'PASS (>= 50,000)' : 'FAIL (< 50,000)',
      ],
      [
        'peak RSS',
        `${mb(maxRss)} MB`,
        maxRss <= 512 * 1024 * 1024 ? 'PASS (<= 512 MB)' : 'FAIL (> 512 MB)',
      ],
      [
        'store size',
        store.engine === 'sqlite' ? `${mb(fs.statSync(dbFile).size)} MB` : 'PostgreSQL',
        '',
      ],
      [
        'read back (assets + findings)',
        `${read.toLocaleString('en-US')} in ${readSeconds.toFixed(1)} s`,
        '',
      ],
    ];
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
    console.log(
      `node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(2)}`,
    );
    for (const r of rows)
      console.log(`${r[0].padEnd(w[0])}  ${r[1].padStart(w[1])}  ${r[2]}`.trimEnd());
    process.exitCode = rate >= 50000 && maxRss <= 512 * 1024 * 1024 ? 0 : 1;
  } finally {
    clearInterval(sampler);
    await store.close();
    if (!process.argv.includes('--db')) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const generate = stringArg('--generate');
  (generate ? writeMessages(generate) : main()).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

module.exports = { hostRecord };
