/**
 * The CLI beside the console, on a store synced from the simulator: `etm query` with --format
 * csv, --sort, --columns, --limit and "N of M"; findings with their asset's name and IP; `etm
 * asset` (the asset page as text); `etm status --format json` with summaries as objects.
 */
import { runEtm } from './e2e';
import {
  csvText,
  expectedTruRisk,
  jsonRecords,
  parseCsv,
  SyncedStore,
  syncedStore,
} from './console-store';

let s: SyncedStore;
let assets: Record<string, unknown>[];
let findings: Record<string, unknown>[];

const etm = (...args: string[]) => runEtm([args[0], '--db', s.db, ...args.slice(1)]);

beforeAll(async () => {
  s = await syncedStore();
  assets = jsonRecords(
    (await etm('query', '--format', 'json', 'inventory: (source: VMDR)')).stdout,
  );
  findings = jsonRecords(
    (await etm('query', '--format', 'json', 'finding.vendorProductName: VMDR')).stdout,
  );
}, 90000);
afterAll(() => s.close());

const byKey = () => new Map(assets.map((a) => [a.assetKey as string, a]));
/** Descending on `field`, missing values last, ties in store order (the list's). */
function sortedDesc<T extends Record<string, unknown>>(list: T[], field: string): T[] {
  return list
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const x = a.r[field] as number | null;
      const y = b.r[field] as number | null;
      if (x === y) return a.i - b.i;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return y - x || a.i - b.i;
    })
    .map((e) => e.r);
}

test('csv of findings: the columns asked for, sorted, limited, with the asset name and IP', async () => {
  const r = await etm(
    'query',
    '--format',
    'csv',
    '--columns',
    'assetName,ipAddress,sourceVulnerabilityId,findingName,detectionScore,cveId',
    '--sort',
    'detectionScore:desc',
    '--limit',
    '7',
    'finding.findingSeverity >= 4',
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const asset = byKey();
  const expected = sortedDesc(
    findings.filter((f) => (f.findingSeverity as number) >= 4),
    'detectionScore',
  )
    .slice(0, 7)
    .map((f) => {
      const a = asset.get(f.assetKey as string) as Record<string, unknown>;
      return [
        a.assetName,
        a.ipAddress,
        f.sourceVulnerabilityId,
        f.findingName,
        f.detectionScore,
        f.cveId,
      ].map(csvText);
    });
  expect(parseCsv(r.stdout)).toEqual([
    ['assetName', 'ipAddress', 'sourceVulnerabilityId', 'findingName', 'detectionScore', 'cveId'],
    ...expected,
  ]);
});

test('table: findings name their asset, whole names, and end with "N of M" on stdout', async () => {
  const r = await etm(
    'query',
    '--limit',
    '3',
    '--sort',
    'detectionScore:desc',
    'finding.vendorProductName: VMDR',
  );
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines[0]).toMatch(
    /^assetKey +assetName +ipAddress +sourceVulnerabilityId +findingName +findingSeverity/,
  );
  expect(lines).toHaveLength(5);
  expect(lines[4]).toBe(`(3 of ${findings.length.toLocaleString('en-US')} findings)`);
  const top = sortedDesc(findings, 'detectionScore').slice(0, 3);
  const asset = byKey();
  top.forEach((f, i) => {
    const a = asset.get(f.assetKey as string) as Record<string, unknown>;
    expect(lines[i + 1]).toContain(`${f.assetKey}`);
    expect(lines[i + 1]).toContain(` ${a.ipAddress} `);
    expect(lines[i + 1]).toContain(f.findingName as string);
  });
  const all = await etm('query', 'inventory: (truRiskBand: SEVERE)');
  const severe = assets.filter((a) => a.truRiskBand === 'SEVERE').length;
  expect(all.stdout.trimEnd().split('\n').pop()).toBe(`(${severe} of ${severe} assets)`);
});

test('json keeps the records, sorted; asset sort ascending puts missing values last', async () => {
  const r = await etm(
    'query',
    '--format',
    'json',
    '--sort',
    'truRiskScore:desc',
    'inventory: (source: VMDR)',
  );
  expect(jsonRecords(r.stdout).map((a) => a.assetKey)).toEqual(
    sortedDesc(assets, 'truRiskScore').map((a) => a.assetKey),
  );
  const byName = jsonRecords(
    (await etm('query', '--format', 'json', '--sort', 'assetName', 'inventory: (source: VMDR)'))
      .stdout,
  );
  const names = byName.map((a) => a.assetName as string | null);
  const present = names.filter((n) => n !== null) as string[];
  expect(names).toEqual([...present, ...names.filter((n) => n === null)]);
  expect(present).toEqual([...present].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
});

/**
 * Ascending or descending on any value, missing values last, ties by `tie` (ascending) if given,
 * then in store order.
 */
function sortedBy<T extends Record<string, unknown>>(
  list: T[],
  value: (r: T) => unknown,
  desc: boolean,
  tie: (r: T) => unknown = () => null,
): T[] {
  const cmp = (x: unknown, y: unknown): number =>
    x === y ? 0 : (x as string) < (y as string) ? -1 : 1;
  return list
    .map((r, i) => ({ r, i, v: value(r), t: tie(r) }))
    .sort((a, b) => {
      const missing =
        Number(a.v === null || a.v === undefined) - Number(b.v === null || b.v === undefined);
      const tied = cmp(a.t, b.t) || a.i - b.i;
      if (missing !== 0 || a.v === null || a.v === undefined) return missing || tied;
      return (desc ? cmp(b.v, a.v) : cmp(a.v, b.v)) || tied;
    })
    .map((e) => e.r);
}

test('findings sort on QID, detection and asset attributes alike', async () => {
  const asset = byKey();
  // A value of the QID ties by QID, so that a QID's findings stay together (and one index serves
  // the sort: store/schema.ts findings_current_by_qid).
  const qid = (f: Record<string, unknown>) => f.sourceVulnerabilityId;
  const cases: [string, (f: Record<string, unknown>) => unknown, typeof qid?][] = [
    ['findingName', (f) => f.findingName, qid],
    ['cvss3Base:desc', (f) => f.cvss3Base, qid],
    ['sourceVulnerabilityId:desc', qid, qid],
    ['findingFirstFoundOn:desc', (f) => f.findingFirstFoundOn],
    ['ipAddress', (f) => asset.get(f.assetKey as string)?.ipAddress],
    ['findingStatus:desc', (f) => f.findingStatus],
  ];
  for (const [sort, value, tie] of cases) {
    const r = await etm(
      'query',
      '--format',
      'json',
      '--sort',
      sort,
      'finding.vendorProductName: VMDR',
    );
    expect([sort, jsonRecords(r.stdout).map((f) => f.findingKey)]).toEqual([
      sort,
      sortedBy(findings, value, sort.endsWith(':desc'), tie).map((f) => f.findingKey),
    ]);
  }
});

test('bad --sort, --columns and --format say what is wrong', async () => {
  const sort = await etm('query', '--sort', 'severity:desc', 'finding.vendorProductName: VMDR');
  expect(sort.status).toBe(1);
  expect(sort.stderr).toMatch(
    /^etm: sort: unknown etm_Finding field 'severity' \(fields: assetName, ipAddress, findingKey/,
  );
  const columns = await etm('query', '--columns', 'assetName,nope', 'inventory: (source: VMDR)');
  expect(columns.status).toBe(1);
  expect(columns.stderr).toMatch(/^etm: columns: unknown etm_Asset field nope \(fields: assetKey,/);
  const format = await etm('query', '--format', 'xml', 'inventory: (source: VMDR)');
  expect(format.stderr).toBe("etm: --format must be table, json or csv, not 'xml'\n");
});

test('etm asset: hosts merged with their rule and value, TruRisk worked out, findings', async () => {
  // The riskiest asset holding hosts of both subscriptions.
  const merged = sortedDesc(
    assets.filter((a) => (a.qualysHosts as unknown[]).length > 1),
    'truRiskScore',
  )[0];
  const r = await etm('asset', merged.assetKey as string);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`Asset ${merged.assetName ?? '-'} (${merged.assetKey})`);
  expect(r.stdout).toContain(`recognised as one asset by the ${merged.identifiedBy} rule`);
  for (const h of merged.qualysHosts as { subscription: string; hostId: string }[]) {
    expect(r.stdout).toMatch(
      new RegExp(`\\n${h.subscription} +${h.hostId} .* ${merged.identifiedBy} = \\S+`),
    );
  }
  const own = findings.filter((f) => f.assetKey === merged.assetKey);
  const t = expectedTruRisk(own, merged.assetCriticalityScore as number | null);
  expect(t.score).toBe(merged.truRiskScore);
  for (const [band, b] of t.bands) {
    expect(r.stdout).toMatch(
      new RegExp(`\\n  ${band} +≥ \\d+ +\\d\\.\\d +${b.count} +${b.average.toFixed(2)} `),
    );
  }
  expect(r.stdout).toMatch(
    new RegExp(
      `TruRisk = min\\(1000, round\\(${merged.assetCriticalityScore ?? 2} × .*\\)\\) = ${t.score} \\(${merged.truRiskBand}\\)`,
    ),
  );
  expect(r.stdout).toContain(
    `Findings, highest QDS first (${Math.min(10, own.length)} of ${own.length})`,
  );
  // By IP address too.
  const byIp = await etm('asset', merged.ipAddress as string);
  const sameIp = assets.filter((a) => a.ipAddress === merged.ipAddress);
  if (sameIp.length === 1) expect(byIp.stdout).toBe(r.stdout);
  else expect(byIp.stderr).toMatch(new RegExp(`^etm: ${sameIp.length} assets match`));
  const none = await etm('asset', 'no-such-host');
  expect(none.status).toBe(1);
  expect(none.stderr).toBe("etm: no asset has the key, name, FQDN or IP 'no-such-host'\n");
});

test('etm status --format json: the last run summary is an object', async () => {
  const r = await etm('status', '--format', 'json');
  expect(r.status).toBe(0);
  const rows = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(rows.map((c) => c.name)).toEqual(['americas', 'emea']);
  for (const c of rows) {
    expect(c.last_run.summary).toMatchObject({
      connector: c.name,
      records: expect.any(Number),
      changes: { findingsNew: expect.any(Number), statusChanges: expect.any(Object) },
    });
  }
  // americas syncs last: its totals are the store's.
  expect(rows[0].last_run.summary.totals).toMatchObject({
    assets: assets.length,
    findings: findings.length,
  });
  for (const p of s.passwords) expect(r.stdout).not.toContain(p);
});
