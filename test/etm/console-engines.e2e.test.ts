/**
 * The console and the CLI's read commands give the same answers on both store engines: two
 * stores, SQLite and PostgreSQL, synced from the same simulators in the same steps, each served
 * by `etm serve`; every console API (overview, connectors, lists with their searches, sorts and
 * pages, CSV, asset and finding pages) and `etm query` / `etm asset` output is compared between
 * them. Only the moments each sync ran differ (they ran one after the other). Runs lib/.
 */
import { ChildProcess } from 'child_process';

import { listedValue, ReadModel } from '../../src/etm/query/read-model';
import { EtmStore } from '../../src/etm/store/database';
import { finished, runEtm, startEtm } from './e2e';
import { syncedStores } from './console-store';
import { Engine } from '../../src/etm/store/sql';
import { ENGINES } from './helpers';

type Stores = Awaited<ReturnType<typeof syncedStores>>;
let stores: Stores;
const servers: Partial<Record<Engine, { child: ChildProcess; url: string }>> = {};
let started: string;

async function serve(db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = startEtm(['serve', '--db', db, '--port', '0']);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /: (http:\/\/127\.0\.0\.1:\d+\/)\S* \(Ctrl-C stops it\)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`etm serve exited ${code}: ${out}`)));
  });
  return { child, url };
}

beforeAll(async () => {
  started = new Date(Date.now() - 1000).toISOString();
  stores = await syncedStores(30, ENGINES);
  for (const e of ENGINES) servers[e] = await serve(stores.dbs[e] as string);
}, 180000);

afterAll(async () => {
  for (const s of Object.values(servers)) {
    const done = finished(s.child);
    s.child.kill('SIGTERM');
    await done;
  }
  await stores?.close();
});

/** Times of this test's syncs (when runs started, states were saved) as `<this run>`. */
function withoutSyncTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === 'string' && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v) && v >= started
      ? '<this run>'
      : v,
  );
}

/** The same request to both consoles: status and body. */
async function both(path: string): Promise<{ status: number; body: string }[]> {
  return Promise.all(
    ENGINES.map(async (e) => {
      const r = await fetch(`${servers[e]?.url}${path.replace(/^\//, '')}`);
      return { status: r.status, body: await r.text() };
    }),
  );
}

async function sameJson(path: string): Promise<Record<string, unknown>> {
  const [sqlite, postgres] = await both(path);
  expect({ path, status: sqlite.status, body: sqlite.status === 200 ? '' : sqlite.body }).toEqual({
    path,
    status: 200,
    body: '',
  });
  const a = withoutSyncTimes(JSON.parse(sqlite.body));
  expect(withoutSyncTimes(JSON.parse(postgres.body))).toEqual(a);
  return a as Record<string, unknown>;
}

const list = (params: Record<string, string>) =>
  sameJson(`/api/list?${new URLSearchParams(params)}`);

test('the pages and their scripts are served on both', async () => {
  for (const path of ['/', '/app.js', '/app.css', '/vendor/chart.umd.js']) {
    const [sqlite, postgres] = await both(path);
    expect(sqlite.status).toBe(200);
    expect(postgres).toEqual(sqlite);
  }
});

test('overview and connectors', async () => {
  const overview = await sameJson('/api/overview');
  expect(overview.findings).toBeGreaterThan(100);
  expect((overview.runs as unknown[]).length).toBe(4);
  const { connectors } = await sameJson('/api/connectors');
  expect((connectors as unknown[]).length).toBe(2);
});

test('inventory and findings: every column sorted both ways, first and later pages', async () => {
  for (const q of ['inventory: (source: VMDR)', 'finding.vendorProductName: VMDR']) {
    const first = await list({ q, limit: '5' });
    const columns = [...(first.columns as string[])];
    const all = await list({ q, limit: '500' });
    expect(all.total).toBeGreaterThan(20);
    for (const column of columns) {
      for (const dir of ['', ':desc']) {
        const page = await list({ q, sort: `${column}${dir}`, offset: '7', limit: '9' });
        expect((page.rows as unknown[]).length).toBe(9);
      }
    }
  }
});

test('searches, errors and CSV exports', async () => {
  const searches = [
    'finding.findingSeverity >= 4 and finding.findingStatus: ACTIVE',
    'finding.cveId: CVE-*',
    'inventory: (source: VMDR) and finding.findingSeverity: 5',
    'asset.operatingSystemName: *windows*',
    'finding.ignoreFinding: false and not finding.findingStatus: FIXED',
  ];
  for (const q of searches) {
    const page = await list({ q, limit: '20' });
    expect({ q, found: (page.total as number) > 0 }).toEqual({ q, found: true });
    const [sqlite, postgres] = await both(`/api/export.csv?${new URLSearchParams({ q })}`);
    expect(sqlite.status).toBe(200);
    expect(postgres.body).toBe(sqlite.body);
  }
  const [sqlite, postgres] = await both(
    `/api/list?${new URLSearchParams({ q: 'finding.nope: 1' })}`,
  );
  expect(sqlite.status).toBe(400);
  expect(postgres).toEqual(sqlite);
});

test('asset and finding pages', async () => {
  const top = await list({ q: 'inventory: (source: VMDR)', sort: 'truRiskScore:desc', limit: '5' });
  for (const row of top.rows as { key: string }[]) {
    const asset = await sameJson(`/api/asset?${new URLSearchParams({ key: row.key })}`);
    expect((asset.truRisk as { score: number }).score).toBeGreaterThan(0);
  }
  const findings = await list({
    q: 'finding.vendorProductName: VMDR',
    sort: 'detectionScore:desc',
    limit: '5',
  });
  for (const row of findings.rows as { key: string }[]) {
    const finding = await sameJson(`/api/finding?${new URLSearchParams({ key: row.key })}`);
    expect((finding.reports as unknown[]).length).toBeGreaterThan(0);
  }
});

test('etm query and etm asset print the same on both', async () => {
  const commands = [
    ['query', '--format', 'json', 'finding.vendorProductName: VMDR'],
    ['query', '--format', 'csv', '--sort', 'detectionScore:desc', 'finding.findingSeverity >= 3'],
    ['query', '--sort', 'assetName', '--limit', '12', 'finding.vendorProductName: VMDR'],
    ['query', '--sort', 'truRiskScore:desc', '--limit', '5', 'inventory: (source: VMDR)'],
    ['query', '--format', 'csv', '--sort', 'lastScannedOn', 'inventory: (source: VMDR)'],
  ];
  const top = await list({ q: 'inventory: (source: VMDR)', sort: 'truRiskScore:desc', limit: '1' });
  const key = (top.rows as { key: string }[])[0].key;
  commands.push(['asset', key]);
  for (const [command, ...args] of commands) {
    const [sqlite, postgres] = await Promise.all(
      ENGINES.map((e) => runEtm([command, '--db', stores.dbs[e] as string, ...args])),
    );
    expect(sqlite.stderr).toBe('');
    expect(sqlite.status).toBe(0);
    expect(postgres.stdout.replaceAll(stores.dbs.postgres as string, 'DB')).toBe(
      sqlite.stdout.replaceAll(stores.dbs.sqlite as string, 'DB'),
    );
  }
});

test('a page walked through an index or placed by group counts is that slice of the whole sorted result', async () => {
  const keys: string[][] = [];
  for (const e of ENGINES) {
    const store = await EtmStore.open(stores.dbs[e] as string, { readonly: true });
    try {
      // Every page from the first on is a deep one here: the paths a 1M store takes past page 20.
      const reader = new ReadModel(store, 1);
      for (const sort of [
        '',
        // Walked value by value on their indexes (valuePage).
        'detectionScore:desc',
        'findingSeverity:desc',
        'detectionScore',
        'findingSeverity',
        'findingStatus',
        'findingStatus:desc',
        // A value of the QID, walked QID by QID on the QID index, ties by QID (valuePage).
        'sourceVulnerabilityId',
        'findingName:desc',
        'cvss3Base:desc',
        // Counted per (severity, asset, host), then only the page's groups sorted (groupedPage);
        // the subscription is a host's: assets here merge hosts of both subscriptions.
        'assetKey:desc',
        'assetName',
        'ipAddress:desc',
        'subscription',
        'subscription:desc',
      ]) {
        for (const query of ['finding.vendorProductName: VMDR', 'finding.findingStatus: ACTIVE']) {
          const whole: string[] = [];
          // Where the sorted value changes: a page across it spans two groups or values.
          const changes: number[] = [];
          const field = sort.split(':')[0];
          let last: unknown;
          for await (const r of new ReadModel(store).records({ query, sort })) {
            const value = field ? JSON.stringify(listedValue(r, field)) : undefined;
            if (whole.length > 0 && value !== last && changes.length < 3)
              changes.push(whole.length);
            last = value;
            whole.push(r.record.findingKey as string);
          }
          expect(whole.length).toBeGreaterThan(100);
          keys.push(whole);
          const across = changes.flatMap((c) => [Math.max(0, c - 3), c]);
          for (const offset of [1, 2, 13, 50, 99, ...across, whole.length - 5, whole.length]) {
            const page = await reader.page({ query, sort, offset, limit: 7 });
            expect(page.rows.map((r) => r.record.findingKey)).toEqual(
              whole.slice(offset, offset + 7),
            );
            expect(page.total).toBe(whole.length);
          }
        }
      }
    } finally {
      await store.close();
    }
  }
  const half = keys.length / 2;
  expect(keys.slice(half)).toEqual(keys.slice(0, half));
});
