/**
 * What a sync reports: the store's totals (assets, purged assets, ETM findings by status and
 * severity, assets by TruRisk band) and what changed since the last sync — new and merged assets,
 * new and updated detections (host reports of a finding) and their status transitions (e.g.
 * ACTIVE→FIXED), hosts purged from Qualys and the detections that closed, and how the totals moved.
 */
import { EtmStore } from '../store/database';
import { ResolverStats } from '../store/asset-resolver';
import { WriteStats } from '../store/writer';

export interface StoreTotals {
  assets: number;
  /** Assets kept with no live host left (store/host-purge.ts); counted in `assets` too. */
  purgedAssets: number;
  findings: number;
  openFindings: number;
  findingsByStatus: Record<string, number>;
  findingsBySeverity: Record<string, number>;
  assetsByTruRiskBand: Record<string, number>;
}

export interface SyncSummary {
  connector: string;
  records: number;
  checkpoints: number;
  changes: WriteStats & ResolverStats;
  totals: StoreTotals;
  /** Totals minus the totals before this sync. */
  delta: { assets: number; purgedAssets: number; findings: number; openFindings: number };
}

const OPEN = `CASE WHEN status IN ('NEW', 'ACTIVE', 'REOPENED') THEN 1 ELSE 0 END`;

export async function storeTotals(store: EtmStore): Promise<StoreTotals> {
  const { sql } = store;
  const byStatus: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  let findings = 0;
  let open = 0;
  const rows = await sql.all<{
    status: string | null;
    severity: number | null;
    n: number;
    open: number;
  }>(
    `SELECT status, severity, COUNT(*) AS n, SUM(${OPEN}) AS open FROM findings WHERE current = 1 GROUP BY status, severity`,
  );
  for (const r of rows) {
    const status = r.status ?? 'NONE';
    const severity = r.severity === null ? 'none' : String(r.severity);
    byStatus[status] = (byStatus[status] ?? 0) + r.n;
    bySeverity[severity] = (bySeverity[severity] ?? 0) + r.n;
    findings += r.n;
    open += r.open ?? 0;
  }
  const bands = await sql.all<{ band: string; n: number }>(
    `SELECT tru_risk_band AS band, COUNT(*) AS n FROM assets WHERE record IS NOT NULL GROUP BY tru_risk_band`,
  );
  const purged = (await sql.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM assets WHERE ${store.dialect.field('record', 'purgedAt', 'text')} IS NOT NULL`,
  )) as { n: number };
  const purgedAssets = purged.n;
  return {
    assets: bands.reduce((a, b) => a + b.n, 0),
    purgedAssets,
    findings,
    openFindings: open,
    findingsByStatus: byStatus,
    findingsBySeverity: bySeverity,
    assetsByTruRiskBand: Object.fromEntries(bands.map((b) => [b.band, b.n])),
  };
}

const n = (v: number): string => v.toLocaleString('en-US');
const signed = (v: number): string => (v > 0 ? `+${n(v)}` : v < 0 ? `-${n(-v)}` : '±0');
const pairs = (r: Record<string, number>): string =>
  Object.keys(r).length === 0
    ? '-'
    : Object.entries(r)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ');

export { n as formatCount, pairs as formatCounts };

export function formatSummary(s: SyncSummary): string {
  const c = s.changes;
  return [
    `${s.connector}: ${n(s.records)} records, ${n(s.checkpoints)} checkpoints`,
    `  assets:               ${n(c.assetsCreated)} new, ${n(c.hostsJoined)} hosts joined known assets, ` +
      `${n(c.assetsMerged)} assets merged, ${n(c.hostsMoved)} hosts moved`,
    // Which rules made those joins (etm merges lists each with its value).
    `  joins by rule:        ${pairs(c.joinsByRule)}`,
    // Detections are host reports: one another subscription already reported is no new finding.
    `  detections:           ${n(c.findingsNew)} new, ${n(c.findingsUpdated)} updated, ${n(c.findingsStale)} older reports ignored`,
    `  detection statuses:   ${pairs(c.statusChanges)}`,
    // Hosts Qualys no longer lists: their open detections close; an asset left without a live
    // host is kept, purged.
    `  purges:               ${n(c.hostsPurged)} hosts purged, ${n(c.findingsClosedByPurge)} detections closed by purge; ` +
      `${n(s.totals.purgedAssets)} purged assets in store (${signed(s.delta.purgedAssets)})`,
    `  store now:            ${n(s.totals.assets)} assets (${signed(s.delta.assets)}), ${n(s.totals.findings)} findings ` +
      `(${signed(s.delta.findings)}), ${n(s.totals.openFindings)} open (${signed(s.delta.openFindings)})`,
    `  findings by status:   ${pairs(s.totals.findingsByStatus)}`,
    `  findings by severity: ${pairs(s.totals.findingsBySeverity)}`,
    `  assets by TruRisk:    ${pairs(s.totals.assetsByTruRiskBand)}`,
  ].join('\n');
}
