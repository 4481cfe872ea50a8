/**
 * Several destinations writing to one PostgreSQL store at once, as Airbyte runs connections in
 * parallel: 4 writers (connections of their own) over subscriptions whose hosts overlap — by
 * FQDN across all four, by cloud instance across pairs — end with the same assets, merges and
 * findings as the same syncs run one after another. Write transactions take the store's
 * advisory lock (store/sql.ts), so identity resolution never works from a stale view.
 *
 * Asset keys come from the founding host, which depends on which sync got there first: assets
 * are compared by the hosts they hold, findings by their asset's hosts and detection key.
 */
import { EtmStore } from '../../src/etm/store/database';
import { allAssets, allFindings, collect } from '../../src/etm/store/reader';
import { consume, detection, detectionsRecord, host, stateMessage, tempLocation } from './helpers';

const SUBSCRIPTIONS = ['s1@q', 's2@q', 's3@q', 's4@q'];
const HOSTS = 24;
const CHECKPOINT_EVERY = 3;

/** Subscription k's messages: HOSTS hosts, a third shared with all, a third with a partner. */
function messages(k: number): string[] {
  const subscription = SUBSCRIPTIONS[k];
  const lines: string[] = [];
  for (let i = 0; i < HOSTS; i++) {
    const shared = i % 3 === 0;
    const paired = i % 3 === 1;
    const data = host({
      subscription,
      ID: 1000 * (k + 1) + i,
      DNS_DATA: { FQDN: shared ? `shared-${i}.corp` : `own-${k}-${i}.corp` },
      ...(paired ? { CLOUD_RESOURCE_ID: `i-pair${k >> 1}-${i}`, CLOUD_PROVIDER: 'AWS' } : {}),
      LAST_SCAN_DATETIME: `2025-03-1${k}T10:00:00Z`,
      VULNERABILITIES: [0, 1, 2].map((j) =>
        detection({
          QID: 100 + ((i + j) % 7),
          UNIQUE_VULN_ID: (k + 1) * 100000 + i * 10 + j,
          STATUS: ['Active', 'New', 'Fixed'][(i + j + k) % 3],
          LAST_FOUND_DATETIME: `2025-03-1${(i + k) % 9}T22:18:40Z`,
        }),
      ),
    });
    lines.push(detectionsRecord(data));
    if ((i + 1) % CHECKPOINT_EVERY === 0) lines.push(stateMessage({ k, i }));
  }
  return lines;
}

/**
 * Written first in both runs: the store's first writes (its layout, the rules in use) would
 * otherwise make the 4 writers queue on those rows and take turns by themselves.
 */
const WARM_UP = [
  detectionsRecord(host({ subscription: 'warm@q', ID: 1, VULNERABILITIES: [detection()] })),
  stateMessage({ warm: true }),
];

type Row = Record<string, unknown>;

/** The store's content with asset keys replaced by the hosts each asset holds. */
async function canonical(db: string): Promise<{ assets: Row[]; findings: Row[] }> {
  const store = await EtmStore.open(db, { readonly: true });
  try {
    const hostsOf = new Map<string, string>();
    const assets: Row[] = [];
    for (const { record } of await collect(allAssets(store.sql))) {
      const hosts = JSON.stringify(record.qualysHosts);
      hostsOf.set(record.assetKey as string, hosts);
      const { assetKey: _key, ...rest } = record;
      assets.push(rest);
    }
    const findings: Row[] = [];
    for (const { record } of await collect(allFindings(store.sql))) {
      const { findingKey: _f, assetKey, ...rest } = record;
      findings.push({ asset: hostsOf.get(assetKey as string), ...rest });
    }
    const order = (a: Row, b: Row): number => JSON.stringify(a).localeCompare(JSON.stringify(b));
    return { assets: assets.sort(order), findings: findings.sort(order) };
  } finally {
    await store.close();
  }
}

describe('concurrent writers on PostgreSQL', () => {
  test('4 writers over overlapping subscriptions give what the same syncs give one after another', async () => {
    const input = SUBSCRIPTIONS.map((_, k) => messages(k));
    const sequential = tempLocation('postgres');
    const concurrent = tempLocation('postgres');
    try {
      const one = await EtmStore.open(sequential.db);
      try {
        for (const lines of [WARM_UP, ...input])
          expect((await consume(one, lines)).failures).toEqual([]);
      } finally {
        await one.close();
      }
      const stores = await Promise.all(input.map(() => EtmStore.open(concurrent.db)));
      try {
        await consume(stores[0], WARM_UP);
        const results = await Promise.all(input.map((lines, k) => consume(stores[k], lines)));
        for (const r of results) expect(r).toMatchObject({ failures: [], checkpoints: 8 });
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const expected = await canonical(sequential.db);
      // Merges happened: shared FQDNs join four hosts, cloud instances two.
      const sizes = expected.assets.map((a) => (a.qualysHosts as unknown[]).length);
      expect(sizes.filter((n) => n === 4)).toHaveLength(HOSTS / 3);
      expect(expected.findings.length).toBeGreaterThan(0);
      expect(await canonical(concurrent.db)).toEqual(expected);
    } finally {
      await sequential.remove();
      await concurrent.remove();
    }
  });
});
