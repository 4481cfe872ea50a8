#!/usr/bin/env node
/**
 * Console paging benchmark: a 1M-finding store (bench/etm.js's records: 20,000 hosts × 50
 * detections) on each engine, and the time of the first page and a deep page (the middle of the
 * result) of each list, unsorted and sorted on each of its default columns both ways, as the
 * console asks for them (ReadModel.page, 50 rows and the total): the first request, then the
 * same again (what the read model keeps until a writer commits).
 *
 *   npm run build && node bench/console.js [--engine sqlite|postgres|both] [--hosts 20000]
 *     [--detections 50] [--postgres postgres://user:pw@host:port/db]
 *
 * The store is built once and kept in a temp dir (SQLite) or a schema (PostgreSQL) named by its
 * size, and reused by later runs; delete it to rebuild.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const { hostRecord } = require('./etm');
const { EtmDestination } = require('../lib/etm/destination');
const { EtmStore } = require('../lib/etm/store/database');
const { SyncConsumer } = require('../lib/etm/sync/consumer');
const { ReadModel, defaultColumns } = require('../lib/etm/query/read-model');
const { numberArg, stringArg } = require('./common');

const HOSTS = numberArg('--hosts', 20000);
const DETECTIONS = numberArg('--detections', 50);
const ENGINE = stringArg('--engine') ?? 'both';
const ENGINES = ENGINE === 'both' ? ['sqlite', 'postgres'] : [ENGINE];
const PAGE = 50;
const LISTS = [
  { model: 'etm_Asset', query: 'inventory: (source: VMDR)' },
  { model: 'etm_Finding', query: 'finding.vendorProductName: VMDR' },
];

function location(engine) {
  const name = `etm-console-bench-${HOSTS}x${DETECTIONS}`;
  if (engine === 'sqlite') {
    const dir = path.join(os.tmpdir(), 'etm-console-bench');
    fs.mkdirSync(dir, { recursive: true });
    return path.join(dir, `${name}.db`);
  }
  const url = new URL(stringArg('--postgres') ?? process.env.ETM_TEST_POSTGRES_URL ?? '');
  url.searchParams.set('schema', name.replace(/-/g, '_'));
  return url.toString();
}

async function* messages() {
  for (let h = 0; h < HOSTS; h++) {
    yield JSON.stringify({
      type: 'RECORD',
      record: { stream: 'host_detections', data: hostRecord(h), emitted_at: 0 },
    });
    if ((h + 1) % 500 === 0 || h === HOSTS - 1) {
      yield JSON.stringify({
        type: 'STATE',
        state: { data: { host_detections: { hostsDone: h + 1 } } },
      });
    }
  }
}

/** The store, built unless a previous run completed it. */
async function benchStore(engine) {
  const db = location(engine);
  const store = await EtmStore.open(db);
  if ((await store.getMeta('bench_complete')) === 'yes') return store;
  const t0 = Date.now();
  const destination = new EtmDestination(store, { logger: { info: () => {}, warn: () => {} } });
  const result = await new SyncConsumer(destination).consume(messages());
  if (result.failures.length) throw new Error(result.failures.join('; '));
  await store.begin();
  await store.setMeta('bench_complete', 'yes');
  await store.commit();
  console.error(`${engine}: built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return store;
}

async function ms(f) {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main() {
  const rows = [];
  for (const engine of ENGINES) {
    const built = await benchStore(engine);
    await built.close();
    const store = await EtmStore.open(location(engine), { readonly: true });
    try {
      for (const list of LISTS) {
        const sorts = [''];
        for (const c of defaultColumns(list.model)) sorts.push(c, `${c}:desc`);
        for (const sort of sorts) {
          // A fresh read model: nothing of this sort computed yet.
          const reader = new ReadModel(store);
          const request = { query: list.query, sort, limit: PAGE };
          let total = 0;
          const first = await ms(async () => (total = (await reader.page(request)).total));
          const firstAgain = await ms(() => reader.page(request));
          const deep = { ...request, offset: Math.floor(total / 2) };
          const deepFirst = await ms(() => reader.page(deep));
          const deepAgain = await ms(() => reader.page(deep));
          rows.push([
            engine,
            list.model,
            sort || '(store order)',
            total,
            first,
            firstAgain,
            deepFirst,
            deepAgain,
          ]);
          console.error(rows[rows.length - 1].join(' '));
        }
      }
    } finally {
      await store.close();
    }
  }
  const head = ['engine', 'list', 'sort', 'total', 'first page', 'again', 'deep page', 'again'];
  const text = rows.map((r) => r.map((v, i) => (i >= 4 ? `${Math.round(v)} ms` : String(v))));
  const w = head.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(head.map((h, i) => h.padEnd(w[i])).join('  '));
  for (const r of text)
    console.log(r.map((v, i) => (i >= 3 ? v.padStart(w[i]) : v.padEnd(w[i]))).join('  '));
  const over = rows.filter((r) => r.slice(4).some((t) => t >= 300)).length;
  console.log(`${rows.length - over} of ${rows.length} sorts under 300 ms on every page`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
