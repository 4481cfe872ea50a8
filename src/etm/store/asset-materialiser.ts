/**
 * At each commit, rebuilds the assets touched since the last one: merges the attributes of the
 * hosts that make up the asset, picks which host's report of each finding is current (the latest
 * LAST_FOUND; ties go to subscription then host ID, so the choice never depends on arrival
 * order), and computes TruRisk over the current open findings. Work is per touched asset,
 * read in batches, so memory does not grow with the store.
 *
 * Purged hosts (store/host-purge.ts) no longer make up the asset: their reports become current
 * only where no live host reports the finding. An asset with purged hosts only is kept as they
 * last described it, marked `purgedAt` (the latest purge); its findings are all closed.
 */
import { CompiledMap } from '../attribute-mapping';
import { HostIdentity, IdentificationRules } from '../identification-rules';
import { ASSET, MODELS, SOURCE } from '../models';
import { criticalityUsed, OPEN_FINDINGS_SQL, TruRiskAccumulator, truRiskBand } from '../trurisk';
import { Sql } from './sql';

interface HostRow {
  subscription: string;
  host_id: string;
  identifiers: string;
  attributes: string;
  purged_at: string | null;
}

interface FindingRow {
  id: number;
  detection_key: string;
  current: number;
  status: string | null;
  sub_type: string | null;
  ignored: number | null;
  score: number | null;
}

const BATCH = 500;
const ASSET_MODEL = MODELS[ASSET];

const SQL = {
  dirty: `SELECT seq, asset_key, identified_by FROM assets WHERE dirty = 1 LIMIT ${BATCH}`,
  hosts: `SELECT subscription, host_id, identifiers, attributes, purged_at FROM asset_hosts
          WHERE asset_key = ? ORDER BY last_scanned DESC NULLS LAST, seq`,
  // A live host's report before a purged host's; ties on LAST_FOUND go to subscription then
  // host ID, never to arrival order.
  findings: `SELECT f.id, f.detection_key, f.current, f.status, f.sub_type, f.ignored, f.score
           FROM findings f JOIN asset_hosts h ON h.seq = f.host_seq
          WHERE f.asset_seq = ?
          ORDER BY f.detection_key, h.purged_at IS NOT NULL, f.last_found DESC NULLS LAST,
                   h.subscription, h.host_id`,
  // One host: no two reports share a detection key, so every row is current (one may not be
  // if another host just left the asset), and TruRisk needs only per-band counts and sums.
  allCurrent: `UPDATE findings SET current = 1 WHERE asset_seq = ? AND current = 0`,
  openByBand: `SELECT ${OPEN_FINDINGS_SQL.band} AS band, COUNT(*) AS n, SUM(score) AS total FROM findings
          WHERE asset_seq = ? AND ${OPEN_FINDINGS_SQL.where} GROUP BY 1`,
  setCurrent: `UPDATE findings SET current = ? WHERE id = ?`,
  deleteAsset: `DELETE FROM assets WHERE asset_key = ?`,
  save: `UPDATE assets SET record = ?, tru_risk_score = ?, tru_risk_band = ?, dirty = 0 WHERE asset_key = ?`,
};

export class AssetMaterialiser {
  constructor(
    private readonly sql: Sql,
    private readonly map: CompiledMap,
    private readonly rules: IdentificationRules,
  ) {}

  /** Rebuilds every dirty asset; returns how many. */
  async run(): Promise<number> {
    let n = 0;
    for (;;) {
      const batch = await this.sql.all<{
        seq: number;
        asset_key: string;
        identified_by: string | null;
      }>(SQL.dirty);
      if (batch.length === 0) return n;
      for (const a of batch) await this.rebuild(a.seq, a.asset_key, a.identified_by);
      n += batch.length;
    }
  }

  private async rebuild(seq: number, assetKey: string, identifiedBy: string | null): Promise<void> {
    const all = await this.sql.all<HostRow>(SQL.hosts, [assetKey]);
    if (all.length === 0) {
      // Its last host moved to another asset.
      await this.sql.run(SQL.deleteAsset, [assetKey]);
      return;
    }
    const live = all.filter((h) => h.purged_at === null);
    // No live host left: the asset stays, as its purged hosts last described it.
    const hosts = live.length > 0 ? live : all;
    const attributes = this.mergeAttributes(hosts.map((h) => JSON.parse(h.attributes)));
    // Purged hosts count here: their closed reports are still findings of the asset.
    const risk = all.length === 1 ? await this.singleHostRisk(seq) : await this.risk(seq);
    const reported = attributes.assetCriticalityScore;
    const criticality = criticalityUsed(typeof reported === 'number' ? reported : null);
    const score = risk.score(criticality.value);
    const band = truRiskBand(score);
    const identities: HostIdentity[] = hosts.map((h) =>
      IdentificationRules.fromStored(h.subscription, h.host_id, h.identifiers),
    );
    const record: Record<string, unknown> = {
      assetKey,
      source: SOURCE,
      subscriptions: [...new Set(hosts.map((h) => h.subscription))].sort(),
      identifiedBy: identifiedBy ?? this.rules.firstWithValue(identities),
      qualysHosts: hosts
        .map((h) => ({ subscription: h.subscription, hostId: h.host_id }))
        .sort(
          (a, b) =>
            a.subscription.localeCompare(b.subscription) || a.hostId.localeCompare(b.hostId),
        ),
      ...attributes,
      truRiskScore: score,
      truRiskBand: band,
      truRiskCriticality: criticality.value,
      truRiskCriticalitySource: criticality.source,
    };
    if (live.length === 0) {
      // Purged when its last host was.
      record.purgedAt = all.map((h) => h.purged_at as string).sort()[all.length - 1];
    }
    await this.sql.run(SQL.save, [JSON.stringify(record), score, band, assetKey]);
  }

  private async singleHostRisk(seq: number): Promise<TruRiskAccumulator> {
    await this.sql.run(SQL.allCurrent, [seq]);
    const risk = new TruRiskAccumulator();
    for (const b of await this.sql.all<{ band: number | null; n: number; total: number }>(
      SQL.openByBand,
      [seq],
    )) {
      if (b.band !== null) risk.addBand(b.band, b.n, b.total);
    }
    return risk;
  }

  /** Several hosts: marks each detection key's latest report current and scores those. */
  private async risk(seq: number): Promise<TruRiskAccumulator> {
    const risk = new TruRiskAccumulator();
    let previous: string | null = null;
    for (const f of await this.sql.all<FindingRow>(SQL.findings, [seq])) {
      const current = f.detection_key !== previous ? 1 : 0;
      previous = f.detection_key;
      if (f.current !== current) await this.sql.run(SQL.setCurrent, [current, f.id]);
      if (current) {
        risk.add({
          findingStatus: f.status,
          findingSubType: f.sub_type,
          ignoreFinding: f.ignored === null ? null : f.ignored === 1,
          detectionScore: f.score,
        });
      }
    }
    return risk;
  }

  /** Hosts arrive most recently scanned first; see models.json assetMerge for the policies. */
  private mergeAttributes(perHost: Record<string, unknown>[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const mapped = new Set(this.map.asset.attributes);
    for (const name of ASSET_MODEL.attributes.keys()) {
      if (!mapped.has(name)) continue;
      const values = perHost.map((h) => h[name]).filter((v) => v !== null && v !== undefined);
      const policy = ASSET_MODEL.merge.get(name) ?? 'freshest';
      if (values.length === 0) out[name] = null;
      else if (policy === 'union') out[name] = [...new Set(values.flat() as unknown[])].sort();
      else if (policy === 'max')
        out[name] = values.reduce((a, b) =>
          (b as number | string) > (a as number | string) ? b : a,
        );
      else out[name] = values[0];
    }
    return out;
  }
}
