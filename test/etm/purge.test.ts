/**
 * Hosts purged from Qualys: the `hosts` stream's deletion records (Airbyte CDC,
 * `_ab_cdc_deleted_at`) close the host's findings and detach it from its asset
 * (src/etm/store/host-purge.ts).
 *
 * The estate: host A/1 (SUB_A, cloud instance i-0a1) and host B/77 (SUB_B) are one machine,
 * app01.corp, merged by FQDN; host A/2 is alone on lone.corp. A/1 reports QID 100 (also reported by B/77, less recently), 200,
 * 300 (already Fixed) and 400; B/77 reports 100 and 500; A/2 reports 100.
 */
import fs from 'fs';
import path from 'path';

import { Hosts } from '../../src/etm/converters/hosts';
import { compileQuery } from '../../src/etm/query/compiler';
import { parseQuery } from '../../src/etm/query/parser';
import { selectRecords } from '../../src/etm/query/select';
import { Connectors } from '../../src/etm/store/connectors';
import { EtmStore } from '../../src/etm/store/database';
import { SCHEMA_VERSION } from '../../src/etm/store/schema';
import {
  FINDING_COLUMNS,
  FINDINGS_FROM,
  FindingAssembler,
  FindingRow,
  collect,
} from '../../src/etm/store/reader';
import { WriteStats } from '../../src/etm/store/writer';
import { SyncConsumer } from '../../src/etm/sync/consumer';
import { findingChanges, findingStatuses } from '../../src/etm/sync/finding-changes';
import { readSourceConfig } from '../../src/etm/sync/source-config';
import { syncSubscription } from '../../src/etm/sync/subscription-sync';
import { formatSummary } from '../../src/etm/sync/summary';
import {
  asLines,
  assets,
  captureLogger,
  destination,
  detection,
  detectionsRecord,
  findings,
  FIXTURES,
  host,
  hostsRecord,
  stateMessage,
  SUB_A,
  SUB_B,
  tempDir,
  tempLocation,
  onEachEngine,
  tempStore,
} from './helpers';

/** A third subscription: its host IDs are compared with neither A's nor B's. */
const SUB_C = 'ops@qualysapi.qg1.apps.qualys.com';
const DELETED_AT = '2025-06-02T03:27:58Z';
/** DELETED_AT as the store keeps date-times. */
const CLOSED_AT = '2025-06-02T03:27:58.000Z';

const deletion = (subscription: string, ID: number, at = DELETED_AT): string =>
  hostsRecord({ ID, subscription, _ab_cdc_deleted_at: at });

const vuln = (QID: number, STATUS: string, score: number, lastFound = '2025-05-20T10:00:00Z') =>
  detection({ QID, STATUS, QDS: { value: score }, LAST_FOUND_DATETIME: lastFound });

const FIRST_SYNC = [
  hostsRecord({
    subscription: SUB_A,
    ID: 1,
    DNS_DATA: { FQDN: 'app01.corp' },
    CLOUD_RESOURCE_ID: 'i-0a1',
    ASSET_CRITICALITY_SCORE: 5,
  }),
  hostsRecord({
    subscription: SUB_B,
    ID: 77,
    DNS_DATA: { FQDN: 'APP01.corp' },
    ASSET_CRITICALITY_SCORE: 3,
  }),
  hostsRecord({ subscription: SUB_A, ID: 2, DNS_DATA: { FQDN: 'lone.corp' } }),
  detectionsRecord(
    host({
      subscription: SUB_A,
      ID: 1,
      DNS_DATA: { FQDN: 'app01.corp' },
      CLOUD_RESOURCE_ID: 'i-0a1',
      VULNERABILITIES: [
        vuln(100, 'Active', 95),
        vuln(200, 'New', 80),
        vuln(300, 'Fixed', 70),
        vuln(400, 'Active', 50),
      ],
    }),
  ),
  detectionsRecord(
    host({
      subscription: SUB_B,
      ID: 77,
      DNS_DATA: { FQDN: 'APP01.corp' },
      VULNERABILITIES: [vuln(100, 'Active', 95, '2025-05-10T10:00:00Z'), vuln(500, 'Active', 60)],
    }),
  ),
  detectionsRecord(
    host({
      subscription: SUB_A,
      ID: 2,
      DNS_DATA: { FQDN: 'lone.corp' },
      VULNERABILITIES: [vuln(100, 'Active', 95)],
    }),
  ),
  stateMessage({ n: 1 }),
];

/** Runs messages through a fresh destination, as one sync does; returns what it counted. */
async function sync(store: EtmStore, lines: string[]): Promise<WriteStats> {
  const dest = destination(store);
  const result = await new SyncConsumer(dest).consume(asLines(lines));
  expect(result.failures).toEqual([]);
  return dest.writer.stats;
}

/** Every report a host made, current or not, as etm_Finding records keyed by QID. */
async function reports(store: EtmStore, subscription: string, hostId: string) {
  const rows = await store.sql.all<FindingRow & { current: number }>(
    `SELECT ${FINDING_COLUMNS}, f.current FROM ${FINDINGS_FROM}
      WHERE h.subscription = ? AND h.host_id = ?`,
    [subscription, hostId],
  );
  const assembler = new FindingAssembler(store.sql);
  const entries: [unknown, Record<string, unknown>][] = [];
  for (const row of rows) {
    const { record } = await assembler.record(row);
    entries.push([record.sourceVulnerabilityId, { ...record, current: row.current === 1 }]);
  }
  return Object.fromEntries(entries);
}

/** An asset's ETM findings by QID: who reports the current one and its status. */
async function assetFindings(store: EtmStore, assetKey: unknown) {
  return Object.fromEntries(
    (await findings(store))
      .filter((f) => f.assetKey === assetKey)
      .map((f) => [
        f.sourceVulnerabilityId,
        `${f.subscription === SUB_A ? 'A' : 'B'}/${f.qualysHostId} ${f.findingStatus}`,
      ]),
  );
}

const assetOf = async (store: EtmStore, hostId: string) =>
  (await assets(store)).find((a) =>
    (a.qualysHosts as { hostId: string }[]).some((h) => h.hostId === hostId),
  ) as Record<string, unknown>;

const assetByKey = async (store: EtmStore, key: unknown) =>
  (await assets(store)).find((a) => a.assetKey === key) as Record<string, unknown>;

/** Every table a purge could touch, row by row (in key order: PostgreSQL has no rowid order). */
async function tables(store: EtmStore): Promise<Record<string, unknown[]>> {
  const tables: Record<string, string> = {
    assets: 'seq',
    asset_hosts: 'seq',
    host_identifiers: 'rule, value, host_seq',
    findings: 'id',
    layouts: 'id',
  };
  const out: Record<string, unknown[]> = {};
  for (const [t, key] of Object.entries(tables))
    out[t] = await store.sql.all(`SELECT * FROM ${t} ORDER BY ${key}`);
  return out;
}

const query = async (store: EtmStore, text: string) =>
  (
    await collect(
      selectRecords(store, compileQuery(parseQuery(text), undefined, store.dialect)).records,
    )
  ).map((r) => r.record);

onEachEngine('the hosts converter', () => {
  test('turns a deletion record into an etm_Asset__Deletion, resolving no asset', async () => {
    const t = await tempStore();
    try {
      const ctx = destination(t.store).ctx;
      const data = { ID: 110002122, subscription: SUB_A, _ab_cdc_deleted_at: DELETED_AT };
      expect(await new Hosts().convert({ stream: 'hosts', data }, ctx)).toEqual([
        {
          model: 'etm_Asset__Deletion',
          record: { where: { subscription: SUB_A, hostId: '110002122' }, deletedAt: CLOSED_AT },
        },
      ]);
      expect(await t.store.sql.get(`SELECT COUNT(*) AS n FROM asset_hosts`)).toEqual({ n: 0 });
      await expect(
        new Hosts().convert(
          { stream: 'hosts', data: { ...data, _ab_cdc_deleted_at: 'soon' } },
          ctx,
        ),
      ).rejects.toThrow(
        /hosts deletion record for host .*\/110002122: _ab_cdc_deleted_at 'soon' is not a date-time/,
      );
    } finally {
      await t.cleanup();
    }
  });
});

onEachEngine('hosts purged from Qualys', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  beforeEach(async () => {
    t = await tempStore();
    await sync(t.store, FIRST_SYNC);
  });
  afterEach(() => t.cleanup());

  test("closes the purged host's open findings: FIXED, last fixed at the deletion time", async () => {
    const before = await reports(t.store, SUB_A, '1');
    const stats = await sync(t.store, [deletion(SUB_A, 1), stateMessage({ n: 2 })]);
    const after = await reports(t.store, SUB_A, '1');
    const closed = { findingStatus: 'FIXED', findingLastFixedOn: CLOSED_AT };
    // QID 100: B/77 reports it too, so A/1's closed report is no longer the current one.
    expect(after['100']).toEqual({ ...before['100'], ...closed, current: false });
    expect(after['200']).toEqual({ ...before['200'], ...closed });
    expect(after['400']).toEqual({ ...before['400'], ...closed });
    // Already fixed by Qualys: left as it was, not counted.
    expect(after['300']).toEqual(before['300']);
    expect(before['300'].findingStatus).toBe('FIXED');
    expect(after['300']).not.toHaveProperty('findingLastFixedOn');
    expect(stats).toMatchObject({ hostsPurged: 1, findingsClosedByPurge: 3 });
    // Queryable (the status by its column), though the default map has no findingLastFixedOn row.
    expect(
      (
        await query(
          t.store,
          `finding.findingLastFixedOn = ${DELETED_AT} and finding.findingStatus: FIXED`,
        )
      ).map((f) => f.sourceVulnerabilityId),
    ).toEqual(['200', '400']);
  });

  test("another host's findings on the same asset stay, and become current in the purged host's place", async () => {
    const merged = (await assetOf(t.store, '77')).assetKey;
    const otherBefore = await reports(t.store, SUB_B, '77');
    expect(await assetFindings(t.store, merged)).toEqual({
      '100': 'A/1 ACTIVE',
      '200': 'A/1 NEW',
      '300': 'A/1 FIXED',
      '400': 'A/1 ACTIVE',
      '500': 'B/77 ACTIVE',
    });
    await sync(t.store, [deletion(SUB_A, 1), stateMessage({ n: 2 })]);
    // B/77's reports are as they were, its QID 100 now the current one.
    expect(otherBefore['100'].current).toBe(false);
    expect(await reports(t.store, SUB_B, '77')).toEqual({
      ...otherBefore,
      '100': { ...otherBefore['100'], current: true },
    });
    expect(await assetFindings(t.store, merged)).toEqual({
      '100': 'B/77 ACTIVE',
      '200': 'A/1 FIXED',
      '300': 'A/1 FIXED',
      '400': 'A/1 FIXED',
      '500': 'B/77 ACTIVE',
    });
  });

  test('the asset loses the purged host and its attributes; TruRisk no longer counts the closed findings', async () => {
    const before = await assetOf(t.store, '1');
    // ACS 5 (A/1's) × (critical 95 + high 0.6 × 80 + medium 0.4 × avg(50, 60) × 2^0.01)
    expect(before).toMatchObject({
      assetCriticalityScore: 5,
      truRiskScore: 826,
      truRiskBand: 'HIGH',
      qualysHosts: [
        { subscription: SUB_A, hostId: '1' },
        { subscription: SUB_B, hostId: '77' },
      ],
    });
    await sync(t.store, [deletion(SUB_A, 1), stateMessage({ n: 2 })]);
    const after = await assetByKey(t.store, before.assetKey);
    // ACS 3 (B/77's) × (critical 95 + medium 0.4 × 60): B/77's open findings only.
    expect(after).toMatchObject({
      subscriptions: [SUB_B],
      qualysHosts: [{ subscription: SUB_B, hostId: '77' }],
      assetCriticalityScore: 3,
      truRiskScore: 357,
      truRiskBand: 'LOW',
    });
    expect(after).not.toHaveProperty('purgedAt');
    const row = await t.store.sql.get(
      `SELECT tru_risk_score, dirty FROM assets WHERE asset_key = ?`,
      [before.assetKey],
    );
    expect(row).toEqual({ tru_risk_score: 357, dirty: 0 });
  });

  test('an asset whose only host was purged is kept, marked purged', async () => {
    const before = await assetOf(t.store, '2');
    expect(before.truRiskScore).toBe(190);
    await sync(t.store, [deletion(SUB_A, 2), stateMessage({ n: 2 })]);
    const after = await assetByKey(t.store, before.assetKey);
    expect(after).toEqual({
      ...before,
      truRiskScore: 0,
      truRiskBand: 'LOW',
      purgedAt: CLOSED_AT,
    });
    expect(await assetFindings(t.store, before.assetKey)).toEqual({ '100': 'A/2 FIXED' });
    expect(await query(t.store, 'inventory: (purgedAt != null)')).toEqual([after]);
    expect(await query(t.store, `inventory: (purgedAt >= ${DELETED_AT})`)).toEqual([after]);
  });

  test("a purged host's identifiers no longer match new hosts, nor rule them out", async () => {
    const merged = (await assetOf(t.store, '1')).assetKey;
    const lone = (await assetOf(t.store, '2')).assetKey;
    const indexed = () =>
      t.store.sql.all(
        `SELECT h.host_id, COUNT(*) AS n FROM host_identifiers i JOIN asset_hosts h ON h.seq = i.host_seq
          GROUP BY 1 ORDER BY 1`,
      );
    expect(await indexed()).toEqual([
      { host_id: '1', n: 3 },
      { host_id: '2', n: 2 },
      { host_id: '77', n: 2 },
    ]);
    await sync(t.store, [deletion(SUB_A, 1), deletion(SUB_A, 2), stateMessage({ n: 2 })]);
    expect(await indexed()).toEqual([{ host_id: '77', n: 2 }]);
    await sync(t.store, [
      // lone.corp was A/2's: this is another asset, not the purged one.
      hostsRecord({ subscription: SUB_A, ID: 3, DNS_DATA: { FQDN: 'lone.corp' } }),
      // Another cloud instance than A/1's i-0a1, which kept it out while A/1 was live.
      hostsRecord({
        subscription: SUB_C,
        ID: 88,
        DNS_DATA: { FQDN: 'app01.corp' },
        CLOUD_RESOURCE_ID: 'i-0ff',
      }),
      stateMessage({ n: 3 }),
    ]);
    expect((await assetOf(t.store, '3')).assetKey).not.toBe(lone);
    expect((await assetOf(t.store, '88')).assetKey).toBe(merged);
    expect((await assetByKey(t.store, lone)).purgedAt).toBe(CLOSED_AT);
  });

  test('the changes a sync made tell findings closed by a purge from findings Qualys fixed', async () => {
    const before = await findingStatuses(t.store.sql);
    await sync(t.store, [
      deletion(SUB_A, 1),
      deletion(SUB_A, 2),
      detectionsRecord(
        host({
          subscription: SUB_B,
          ID: 77,
          DNS_DATA: { FQDN: 'APP01.corp' },
          VULNERABILITIES: [vuln(500, 'Fixed', 60, '2025-06-01T10:00:00Z')],
        }),
      ),
      stateMessage({ n: 2 }),
    ]);
    const changes = await findingChanges(before, t.store.sql);
    const listed = (list: typeof changes.fixed) =>
      list.map(
        (c) =>
          `${c.finding.record.qualysHostId}/${c.finding.record.sourceVulnerabilityId} ${c.change}`,
      );
    expect(listed(changes.closedByPurge).sort()).toEqual([
      '1/200 NEW→FIXED (host purged)',
      '1/400 ACTIVE→FIXED (host purged)',
      '2/100 ACTIVE→FIXED (host purged)',
    ]);
    expect(listed(changes.fixed)).toEqual(['77/500 ACTIVE→FIXED']);
  });

  test('a deletion of a host the store never held changes nothing', async () => {
    const before = await tables(t.store);
    const stats = await sync(t.store, [deletion(SUB_A, 999), stateMessage({ n: 2 })]);
    expect(await tables(t.store)).toEqual(before);
    expect(stats).toMatchObject({ hostsPurged: 0, findingsClosedByPurge: 0 });
  });

  test('a repeated deletion changes nothing, not even the purge time', async () => {
    await sync(t.store, [deletion(SUB_A, 1), deletion(SUB_A, 2), stateMessage({ n: 2 })]);
    const before = await tables(t.store);
    const stats = await sync(t.store, [
      deletion(SUB_A, 1, '2025-06-03T00:00:00Z'),
      deletion(SUB_A, 2, '2025-06-03T00:00:00Z'),
      stateMessage({ n: 3 }),
    ]);
    expect(await tables(t.store)).toEqual(before);
    expect(stats).toMatchObject({ hostsPurged: 0, findingsClosedByPurge: 0 });
    expect((await assetOf(t.store, '2')).purgedAt).toBe(CLOSED_AT);
  });

  test('a host reported again after its deletion is live again, in its asset', async () => {
    const lone = await assetOf(t.store, '2');
    await sync(t.store, [deletion(SUB_A, 2), stateMessage({ n: 2 })]);
    const stats = await sync(t.store, [
      hostsRecord({ subscription: SUB_A, ID: 2, DNS_DATA: { FQDN: 'lone.corp' } }),
      detectionsRecord(
        host({
          subscription: SUB_A,
          ID: 2,
          DNS_DATA: { FQDN: 'lone.corp' },
          VULNERABILITIES: [vuln(100, 'Active', 95, '2025-06-10T10:00:00Z')],
        }),
      ),
      // Its identifiers match again: a new host on its FQDN joins its asset.
      hostsRecord({ subscription: SUB_B, ID: 4, DNS_DATA: { FQDN: 'lone.corp' } }),
      stateMessage({ n: 3 }),
    ]);
    expect(stats).toMatchObject({ findingsUpdated: 1, statusChanges: { 'FIXED→ACTIVE': 1 } });
    const after = await assetByKey(t.store, lone.assetKey);
    expect(after).not.toHaveProperty('purgedAt');
    expect(after).toMatchObject({
      qualysHosts: [
        { subscription: SUB_A, hostId: '2' },
        { subscription: SUB_B, hostId: '4' },
      ],
      truRiskScore: 190,
    });
    expect((await reports(t.store, SUB_A, '2'))['100']).toMatchObject({
      findingStatus: 'ACTIVE',
      findingLastFoundOn: '2025-06-10T10:00:00.000Z',
      current: true,
    });
    // Live again, so a later deletion purges it again.
    const again = await sync(t.store, [deletion(SUB_A, 2), stateMessage({ n: 4 })]);
    expect(again).toMatchObject({ hostsPurged: 1, findingsClosedByPurge: 1 });
  });
});

onEachEngine('the run summary', () => {
  test('counts purged hosts, the detections their purge closed and the purged assets', async () => {
    const dir = tempDir();
    const location = tempLocation();
    const store = await EtmStore.open(location.db);
    try {
      const fixture = (name: string, lines: string[]): string => {
        fs.writeFileSync(path.join(dir, name), `${lines.join('\n')}\n`);
        return path.join(dir, name);
      };
      const configFile = path.join(dir, 'a.json');
      const run = async (lines: string[]): Promise<string> => {
        const config = {
          base_url: 'https://qualysapi.qg2.apps.qualys.com',
          username: 'jdoe',
          password: 'not-used',
          subscription: SUB_A,
          fixture: fixture(`run-${lines.length}.jsonl`, lines),
        };
        fs.writeFileSync(configFile, JSON.stringify(config));
        const outcome = await syncSubscription(store, readSourceConfig(configFile), {
          source: path.join(FIXTURES, 'fake-source.js'),
          logger: captureLogger(),
        });
        expect(outcome.error).toBeUndefined();
        return formatSummary(outcome.summary);
      };
      await new Connectors(store.sql).register({ name: SUB_A });
      const first = await run(FIRST_SYNC);
      expect(first).toContain(
        '\n  purges:               0 hosts purged, 0 detections closed by purge; 0 purged assets in store (±0)\n',
      );
      const second = await run([
        deletion(SUB_A, 1),
        deletion(SUB_A, 2),
        deletion(SUB_A, 999),
        stateMessage({ n: 2 }),
      ]);
      expect(second).toContain(
        '\n  purges:               2 hosts purged, 4 detections closed by purge; 1 purged assets in store (+1)\n',
      );
      // Open findings: A/1's 200 and 400 and A/2's 100 closed; A/1's 100 is B/77's now, still open.
      expect(second).toContain(
        '\n  store now:            2 assets (±0), 6 findings (±0), 2 open (-3)\n',
      );
      // etm status shows the last run's summary.
      const summary = JSON.parse(
        (await new Connectors(store.sql).lastRun(SUB_A))?.summary as string,
      );
      expect(summary.changes).toMatchObject({ hostsPurged: 2, findingsClosedByPurge: 4 });
      expect(summary.totals.purgedAssets).toBe(1);
    } finally {
      await store.close();
      await location.remove();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

onEachEngine('stores made before purges were kept', () => {
  test('a store of schema version 1 is upgraded in place, its data kept', async () => {
    const t = await tempStore();
    try {
      await sync(t.store, FIRST_SYNC);
      const before = { assets: await assets(t.store), findings: await findings(t.store) };
      // What version 1 looked like: no purged_at column (and no views, which read it), no
      // declared networks, no merge records, no counts of current findings.
      await t.store.sql.exec(
        `DROP VIEW etm_findings; DROP VIEW etm_assets; ALTER TABLE asset_hosts DROP COLUMN purged_at`,
      );
      await t.store.sql.exec(`ALTER TABLE asset_hosts DROP COLUMN current_findings`);
      await t.store.sql.exec(`ALTER TABLE connectors DROP COLUMN network`);
      await t.store.sql.exec(`ALTER TABLE connectors DROP COLUMN interrupted_at`);
      await t.store.sql.exec(`DROP TABLE asset_merges`);
      // Nor a status history, nor the triggers that keep it.
      for (const trigger of ['insert', 'update', 'delete']) {
        await t.store.sql.exec(
          `DROP TRIGGER findings_history_${trigger}${t.store.engine === 'postgres' ? ' ON findings' : ''}`,
        );
      }
      await t.store.sql.exec(`DROP TABLE finding_history`);
      await t.store.setMeta('schema_version', '1');
      await t.store.close();

      const reopened = await EtmStore.open(t.file);
      try {
        expect(await reopened.getMeta('schema_version')).toBe(String(SCHEMA_VERSION));
        expect({ assets: await assets(reopened), findings: await findings(reopened) }).toEqual(
          before,
        );
        // The history starts with each stored finding's status, at no known moment or run.
        expect(
          await reopened.sql.all(
            `SELECT f.status AS status, h.from_status, h.at, h.run FROM findings f
               LEFT JOIN finding_history h ON h.finding = f.id ORDER BY f.id`,
          ),
        ).toEqual(
          (
            await reopened.sql.all<{ status: string }>(`SELECT status FROM findings ORDER BY id`)
          ).map((f) => ({ status: f.status, from_status: null, at: 0, run: null })),
        );
        const stats = await sync(reopened, [deletion(SUB_A, 2), stateMessage({ n: 2 })]);
        expect(stats).toMatchObject({ hostsPurged: 1, findingsClosedByPurge: 1 });
        expect((await assetOf(reopened, '2')).purgedAt).toBe(CLOSED_AT);
      } finally {
        await reopened.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('a store of a newer schema version is refused', async () => {
    const t = await tempStore();
    try {
      await t.store.setMeta('schema_version', String(SCHEMA_VERSION + 1));
      await t.store.close();
      await expect(EtmStore.open(t.file)).rejects.toThrow(
        `has schema version ${SCHEMA_VERSION + 1}; this etm reads version ${SCHEMA_VERSION}: it was written by another etm version; use that one, or a new store`,
      );
    } finally {
      await t.cleanup();
    }
  });
});
