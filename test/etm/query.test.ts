import { compileQuery } from '../../src/etm/query/compiler';
import { parseQuery } from '../../src/etm/query/parser';
import { EtmStore } from '../../src/etm/store/database';
import { FindingAssembler, FindingRow } from '../../src/etm/store/reader';
import { consume, fixtureLines, onEachEngine, SUB_A, SUB_B, tempStore } from './helpers';

let t: Awaited<ReturnType<typeof tempStore>>;

async function run(
  text: string,
  store: EtmStore = t.store,
): Promise<{ model: string; records: Record<string, unknown>[] }> {
  const q = compileQuery(parseQuery(text), undefined, store.dialect);
  const rows = await store.sql.all(q.sql, q.params);
  const assembler = new FindingAssembler(store.sql);
  const records: Record<string, unknown>[] = [];
  for (const row of rows) {
    records.push(
      q.model === 'etm_Asset'
        ? JSON.parse((row as { record: string }).record)
        : (await assembler.record(row as FindingRow)).record,
    );
  }
  return { model: q.model, records };
}

describe('query parser', () => {
  test('the product tokens, with or without backquotes', () => {
    expect(parseQuery('inventory: (source: `VMDR`)')).toEqual({
      kind: 'cond',
      scope: 'asset',
      field: 'source',
      op: ':',
      value: 'VMDR',
      quoted: true,
    });
    expect(parseQuery('finding.vendorProductName: VMDR')).toMatchObject({
      scope: 'finding',
      field: 'vendorProductName',
      value: 'VMDR',
    });
  });

  test('and / or / not with parentheses; and binds tighter than or', () => {
    expect(parseQuery('asset.a: 1 or asset.b: 2 and not asset.c: 3')).toEqual({
      kind: 'or',
      parts: [
        { kind: 'cond', scope: 'asset', field: 'a', op: ':', value: '1', quoted: false },
        {
          kind: 'and',
          parts: [
            { kind: 'cond', scope: 'asset', field: 'b', op: ':', value: '2', quoted: false },
            {
              kind: 'not',
              part: {
                kind: 'cond',
                scope: 'asset',
                field: 'c',
                op: ':',
                value: '3',
                quoted: false,
              },
            },
          ],
        },
      ],
    });
  });

  test('bare values may hold colons and dots', () => {
    expect(parseQuery('finding.findingLastFoundOn >= 2025-03-14T00:00:00Z')).toMatchObject({
      op: '>=',
      value: '2025-03-14T00:00:00Z',
    });
    expect(parseQuery('asset.ipAddress: 10.20.30.41')).toMatchObject({ value: '10.20.30.41' });
  });

  test.each([
    ['finding.findingSeverity', /expected an operator/],
    ['finding.findingSeverity >=', /expected a value/],
    ['inventory: (source: VMDR', /expected "\)"/],
    ['findingSeverity: 5', /field 'findingSeverity' must start with finding\. or asset\./],
    ['finding.name: "open', /unterminated "-quoted value/],
    ['asset.a: 1 asset.b: 2', /unexpected text at position 12/],
  ])('%s is refused clearly', (text, message) => expect(() => parseQuery(text)).toThrow(message));
});

onEachEngine('query results', () => {
  beforeAll(async () => {
    t = await tempStore();
    await consume(t.store, fixtureLines('subscription-a.jsonl'));
    await consume(t.store, fixtureLines('subscription-b.jsonl'));
  });
  afterAll(() => t.cleanup());

  test('inventory: (source: VMDR) lists every asset', async () => {
    const { model, records } = await run('inventory: (source: `VMDR`)');
    expect(model).toBe('etm_Asset');
    expect(records).toHaveLength(3);
    expect(records.map((r) => r.source)).toEqual(['VMDR', 'VMDR', 'VMDR']);
    // Every asset's source is VMDR, so the condition reads no record (query/compiler.ts).
    expect((await run('inventory: (source: vmdr)')).records).toHaveLength(3);
    expect((await run('inventory: (source: Tenable)')).records).toHaveLength(0);
    expect((await run('inventory: (not source: VMDR)')).records).toHaveLength(0);
  });

  test('finding.vendorProductName: VMDR lists every finding', async () => {
    const { model, records } = await run('finding.vendorProductName: VMDR');
    expect(model).toBe('etm_Finding');
    expect(records).toHaveLength(8);
  });

  test('assetKey: the asset, whatever the case, by its index; not, != and wildcards as usual', async () => {
    const all = (await run('finding.vendorProductName: VMDR')).records;
    const key = all[0].assetKey as string;
    const own = all.filter((f) => f.assetKey === key);
    expect(own.length).toBeGreaterThan(0);
    expect((await run(`finding.assetKey: ${key.toUpperCase()}`)).records).toEqual(own);
    expect((await run(`finding.assetKey = \`${key}\``)).records).toEqual(own);
    expect((await run(`not finding.assetKey: ${key}`)).records).toEqual(
      all.filter((f) => f.assetKey !== key),
    );
    expect((await run(`finding.assetKey != ${key}`)).records).toEqual(
      all.filter((f) => f.assetKey !== key),
    );
    expect(
      (await run(`finding.assetKey: ${key.slice(0, 8)}*`)).records.length,
    ).toBeGreaterThanOrEqual(own.length);
    expect((await run('finding.assetKey: vmdr-0000000000000000')).records).toEqual([]);
    expect(
      (await run(`inventory: (assetKey: ${key.toUpperCase()})`)).records.map((a) => a.assetKey),
    ).toEqual([key]);
    // The plan is SQLite's to show; PostgreSQL plans a table this small as it likes.
    if (t.store.engine === 'sqlite') {
      const plan = await t.store.sql.all<{ detail: string }>(
        `EXPLAIN QUERY PLAN ${compileQuery(parseQuery(`finding.assetKey: ${key}`)).sql}`,
        [key],
      );
      expect(plan.map((p) => p.detail).join('\n')).toMatch(
        /SEARCH f USING INDEX findings_identity \(asset_seq=\?\)/,
      );
    }
  });

  test('field conditions combine with and', async () => {
    const { records } = await run(
      'finding.vendorProductName: VMDR and finding.findingSeverity >= 4',
    );
    expect(records.map((r) => [r.sourceVulnerabilityId, r.findingSeverity])).toEqual([
      ['11827', 4],
      ['91234', 5],
      ['352001', 4],
      ['352001', 4],
    ]);
  });

  test('equality ignores case; * is a wildcard; lists match by contains', async () => {
    expect((await run('finding.findingStatus: reopened')).records).toHaveLength(1);
    expect((await run('finding.findingName: *openssl*')).records).toHaveLength(2);
    expect(
      (await run('finding.cveId: cve-2025-00003')).records.map((r) => r.sourceVulnerabilityId),
    ).toEqual(['91234']);
    expect((await run('finding.mitreTactics: Impact')).records).toHaveLength(2);
    expect(
      (await run(`asset.subscriptions: ${SUB_B} and asset.subscriptions: ${SUB_A}`)).records,
    ).toHaveLength(2);
  });

  test('asset conditions select findings by their asset, and finding conditions assets by their findings', async () => {
    const onMerged = (await run(`finding.vendorProductName: VMDR and asset.identifiedBy: fqdn`))
      .records;
    expect(new Set(onMerged.map((r) => r.assetKey)).size).toBe(1);
    expect(onMerged).toHaveLength(5);
    const withCritical = (await run('inventory: (source: VMDR) and finding.detectionScore >= 90'))
      .records;
    expect(withCritical.map((a) => a.identifiedBy)).toEqual(['fqdn']);
  });

  test('conditions on the other model hold for one related record together', async () => {
    // An asset with a FIXED finding and an asset with a QDS 27 finding: the same one, in one finding.
    expect(
      (
        await run(
          'inventory: (source: VMDR) and finding.findingStatus: FIXED and finding.detectionScore < 30',
        )
      ).records,
    ).toHaveLength(1);
    expect(
      (
        await run(
          'inventory: (source: VMDR) and finding.findingStatus: FIXED and finding.detectionScore > 30',
        )
      ).records,
    ).toHaveLength(0);
  });

  test('or, not, null, != and dates', async () => {
    expect(
      (await run('finding.findingStatus: FIXED or finding.findingStatus: REOPENED')).records,
    ).toHaveLength(2);
    expect(
      (await run('finding.vendorProductName: VMDR and not finding.findingStatus: ACTIVE')).records,
    ).toHaveLength(6);
    expect((await run('finding.findingStatus: null')).records.map((r) => r.findingSubType)).toEqual(
      ['INFORMATION'],
    );
    expect((await run('finding.findingPort != null')).records.map((r) => r.findingPort)).toEqual([
      80, 443, 8443,
    ]);
    expect((await run('finding.findingLastFoundOn >= 2025-03-14T00:00:00Z')).records).toHaveLength(
      2,
    );
    expect((await run('finding.findingLastFoundOn: 2025-03-13')).records).toHaveLength(4);
    expect(
      (await run('finding.ignoreFinding: true')).records.map((r) => r.sourceVulnerabilityId),
    ).toEqual(['11827']);
  });

  test('asset.truRiskBand and numeric asset fields', async () => {
    expect((await run('asset.truRiskBand: LOW')).records).toHaveLength(3);
    expect((await run('asset.truRiskBand: SEVERE')).records).toHaveLength(0);
    expect(
      (await run('asset.truRiskScore > 200 and asset.assetCriticalityScore >= 4')).records.map(
        (a) => a.truRiskScore,
      ),
    ).toEqual([453, 216]);
  });

  test.each([
    [
      'finding.findingSevrity >= 4',
      /unknown field finding\.findingSevrity \(etm_Finding fields: findingKey, .*findingSeverity/,
    ],
    ['inventory: (vendor: VMDR)', /unknown field asset\.vendor \(etm_Asset fields:/],
    ['finding.findingSeverity >= high', /finding\.findingSeverity is a number, not 'high'/],
    ['finding.cveId > CVE-1', /finding\.cveId is a list; use : \(contains\) or !=/],
    ['finding.ignoreFinding: maybe', /finding\.ignoreFinding is true or false/],
    [
      'finding.findingFirstFoundOn > yesterday',
      /finding\.findingFirstFoundOn is a date-time, not 'yesterday'/,
    ],
  ])('%s is refused clearly', (text, message) =>
    expect(() => compileQuery(parseQuery(text))).toThrow(message),
  );
});
