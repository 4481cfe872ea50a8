/**
 * Each host's count of current findings (asset_hosts.current_findings), which the asset
 * materialiser keeps and the console's asset and subscription sorts read instead of counting 1M
 * findings: it must equal the count of the findings themselves after every way a store changes —
 * syncs that merge hosts of two subscriptions, a purged host, a removed connector, and the
 * migration that fills the column in a store made before it.
 */
import { EtmStore } from '../../src/etm/store/database';
import { removeConnector } from '../../src/etm/store/connector-removal';
import { SCHEMA_VERSION } from '../../src/etm/store/schema';
import {
  consume,
  fixtureLines,
  hostsRecord,
  onEachEngine,
  stateMessage,
  SUB_A,
  SUB_B,
  tempStore,
} from './helpers';

type Counts = Array<{ seq: number; kept: number | null; counted: number }>;

/** Each host's kept count beside the count of its current findings. */
async function counts(store: EtmStore): Promise<Counts> {
  const rows = await store.sql.all<{ seq: number; kept: number | null; counted: number | string }>(
    `SELECT h.seq AS seq, h.current_findings AS kept, COUNT(f.id) AS counted
       FROM asset_hosts h LEFT JOIN findings f ON f.host_seq = h.seq AND f.current = 1
      GROUP BY h.seq, h.current_findings ORDER BY h.seq`,
  );
  return rows.map((r) => ({ seq: Number(r.seq), kept: r.kept, counted: Number(r.counted) }));
}

function expectKept(list: Counts): void {
  expect(list.length).toBeGreaterThan(0);
  expect(list.map((c) => c.kept)).toEqual(list.map((c) => c.counted));
}

onEachEngine('current findings counted per host', () => {
  test('after syncs, a purge, a removed connector and a migration', async () => {
    const t = await tempStore();
    try {
      await consume(t.store, fixtureLines('subscription-a.jsonl'));
      await consume(t.store, fixtureLines('subscription-b.jsonl'));
      const synced = await counts(t.store);
      expectKept(synced);
      // Some asset merges hosts of both subscriptions; hosts have findings.
      const merged = await t.store.sql.get<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM (SELECT asset_key FROM asset_hosts GROUP BY asset_key
           HAVING COUNT(DISTINCT subscription) > 1) m`,
      );
      expect(Number(merged?.n)).toBeGreaterThan(0);
      expect(synced.filter((c) => c.counted > 1).length).toBeGreaterThan(1);

      const purged = await t.store.sql.get<{ host_id: string }>(
        `SELECT host_id FROM asset_hosts WHERE subscription = ? ORDER BY seq LIMIT 1`,
        [SUB_A],
      );
      await consume(t.store, [
        hostsRecord({
          ID: Number(purged?.host_id),
          subscription: SUB_A,
          _ab_cdc_deleted_at: '2025-06-01T00:00:00Z',
        }),
        stateMessage({ n: 2 }),
      ]);
      expectKept(await counts(t.store));

      await removeConnector(t.store.sql, SUB_B);
      const left = await counts(t.store);
      expectKept(left);
      expect(left.length).toBeLessThan(synced.length);

      // A store of schema 5 had no counts: the migration fills them.
      await t.store.sql.exec(`ALTER TABLE asset_hosts DROP COLUMN current_findings`);
      await t.store.setMeta('schema_version', '5');
      await t.store.close();
      const reopened = await EtmStore.open(t.file);
      try {
        expect(await reopened.getMeta('schema_version')).toBe(String(SCHEMA_VERSION));
        expect(await counts(reopened)).toEqual(left);
      } finally {
        await reopened.close();
      }
    } finally {
      await t.cleanup().catch(() => undefined);
    }
  });
});
