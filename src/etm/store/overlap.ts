/**
 * What subscriptions have in common in the store: how many live hosts each reported (purged ones
 * are history: store/host-purge.ts), the assets that hold live hosts of more than one subscription
 * (by the identification rule that recognised them), and the ETM findings that more than one
 * subscription reported — each stored once, its current report chosen by the asset materialiser.
 */
import { Sql } from './sql';

export interface SubscriptionOverlap {
  readonly hostsBySubscription: Readonly<Record<string, number>>;
  readonly sharedAssetsByRule: Readonly<Record<string, number>>;
  readonly sharedAssets: number;
  readonly sharedFindings: number;
}

export async function subscriptionOverlap(sql: Sql): Promise<SubscriptionOverlap> {
  const hosts = await sql.all<{ subscription: string; n: number }>(
    `SELECT subscription, COUNT(*) AS n FROM asset_hosts WHERE purged_at IS NULL
      GROUP BY subscription ORDER BY subscription`,
  );
  const assets = await sql.all<{ rule: string; n: number }>(
    `SELECT coalesce(a.identified_by, 'none') AS rule, COUNT(*) AS n FROM assets a
      WHERE a.record IS NOT NULL
        AND (SELECT COUNT(DISTINCT h.subscription) FROM asset_hosts h
              WHERE h.asset_key = a.asset_key AND h.purged_at IS NULL) > 1
      GROUP BY 1 ORDER BY 1`,
  );
  const shared = (await sql.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM findings f JOIN asset_hosts h ON h.seq = f.host_seq
      GROUP BY f.asset_seq, f.detection_key HAVING COUNT(DISTINCT h.subscription) > 1) s`,
  )) as { n: number };
  const sharedFindings = shared.n;
  return {
    hostsBySubscription: Object.fromEntries(hosts.map((h) => [h.subscription, h.n])),
    sharedAssetsByRule: Object.fromEntries(assets.map((a) => [a.rule, a.n])),
    sharedAssets: assets.reduce((sum, a) => sum + a.n, 0),
    sharedFindings,
  };
}
