/**
 * At each commit, rebuilds the assets touched since the last one: merges the attributes of the
 * hosts that make up the asset, picks which host's report of each finding is current (the latest
 * LAST_FOUND; ties go to subscription then host ID, so the choice never depends on arrival
 * order), computes TruRisk over the current open findings, and counts each host's current
 * findings (the console places its asset and subscription sorts by them). Work is per touched
 * asset, read in batches, so memory does not grow with the store.
 *
 * Purged hosts (store/host-purge.ts) no longer make up the asset: their reports become current
 * only where no live host reports the finding. An asset with purged hosts only is kept as they
 * last described it, marked `purgedAt` (the latest purge); its findings are all closed.
 */
import { CompiledMap } from '../attribute-mapping';
import { HostIdentity, IdentificationRules } from '../identification-rules';
import { ASSET, MODELS, SOURCE } from '../models';
import { criticalityUsed, OPEN_FINDINGS_SQL, TruRiskAccumulator, truRiskBand } from '../trurisk';
import { marks, padded, repeated, writeRows } from './batches';
import { Sql } from './sql';

interface HostRow {
  seq: number;
  asset_key: string;
  subscription: string;
  host_id: string;
  identifiers: string;
  attributes: string;
  purged_at: string | null;
}

interface FindingRow {
  id: number;
  asset_seq: number;
  host_seq: number;
  detection_key: string;
  current: number;
  status: string | null;
  sub_type: string | null;
  ignored: number | null;
  score: number | null;
}

interface DirtyAsset {
  seq: number;
  asset_key: string;
  identified_by: string | null;
}

/** Assets rebuilt together: a handful of statements for the whole batch, not a few per asset. */
const BATCH = 512;
/** Ids per `UPDATE findings SET current` statement. */
const ID_CHUNK = 1024;
const ASSET_MODEL = MODELS[ASSET];

const SQL = {
  dirty: `SELECT seq, asset_key, identified_by FROM assets WHERE dirty = 1 LIMIT ${BATCH}`,
  hosts: (
    n: number,
  ) => `SELECT seq, asset_key, subscription, host_id, identifiers, attributes, purged_at
          FROM asset_hosts WHERE asset_key IN (${marks(n)})
          ORDER BY asset_key, last_scanned DESC NULLS LAST, seq`,
  // A live host's report before a purged host's; ties on LAST_FOUND go to subscription then
  // host ID, never to arrival order.
  findings: (
    n: number,
  ) => `SELECT f.id, f.asset_seq, f.host_seq, f.detection_key, f.current, f.status,
                  f.sub_type, f.ignored, f.score
           FROM findings f JOIN asset_hosts h ON h.seq = f.host_seq
          WHERE f.asset_seq IN (${marks(n)})
          ORDER BY f.asset_seq, f.detection_key, h.purged_at IS NOT NULL, f.last_found DESC NULLS LAST,
                   h.subscription, h.host_id`,
  // One host: no two reports share a detection key, so every row is current (one may not be
  // if another host just left the asset), and TruRisk needs only per-band counts and sums.
  allCurrent: (n: number) =>
    `UPDATE findings SET current = 1 WHERE asset_seq IN (${marks(n)}) AND current = 0`,
  perHost: (n: number) => `SELECT host_seq, COUNT(*) AS n FROM findings
          WHERE asset_seq IN (${marks(n)}) GROUP BY host_seq`,
  openByBand: (n: number) => `SELECT asset_seq, ${OPEN_FINDINGS_SQL.band} AS band, COUNT(*) AS n,
                  SUM(score) AS total FROM findings
          WHERE asset_seq IN (${marks(n)}) AND ${OPEN_FINDINGS_SQL.where} GROUP BY 1, 2`,
  setCurrent: (current: number, n: number) =>
    `UPDATE findings SET current = ${current} WHERE id IN (${marks(n)})`,
  deleteAssets: (n: number) => `DELETE FROM assets WHERE asset_key IN (${marks(n)})`,
  // VALUES columns are column1, column2… on both engines; the casts type PostgreSQL's parameters.
  save: (n: number) => `UPDATE assets SET record = v.column2, tru_risk_score = v.column3,
                  tru_risk_band = v.column4, dirty = 0
          FROM (VALUES ${repeated(n, '(?, ?, CAST(? AS INTEGER), ?)')}) AS v
          WHERE assets.asset_key = v.column1`,
  saveCounts: (n: number) => `UPDATE asset_hosts SET current_findings = v.column2
          FROM (VALUES ${repeated(n, '(CAST(? AS INTEGER), CAST(? AS INTEGER))')}) AS v
          WHERE asset_hosts.seq = v.column1`,
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
      const batch = await this.sql.all<DirtyAsset>(SQL.dirty);
      if (batch.length === 0) return n;
      await this.rebuild(batch);
      n += batch.length;
    }
  }

  private async rebuild(batch: ReadonlyArray<DirtyAsset>): Promise<void> {
    const hostsOf = new Map<string, HostRow[]>();
    const keys = padded(batch.map((a) => a.asset_key));
    for (const h of await this.sql.all<HostRow>(SQL.hosts(keys.length), keys)) {
      const list = hostsOf.get(h.asset_key);
      if (list) list.push(h);
      else hostsOf.set(h.asset_key, [h]);
    }
    // Its last host moved to another asset.
    const gone = batch.filter((a) => !hostsOf.has(a.asset_key));
    if (gone.length > 0) {
      const goneKeys = padded(gone.map((a) => a.asset_key));
      await this.sql.run(SQL.deleteAssets(goneKeys.length), goneKeys);
    }
    const kept = batch.filter((a) => hostsOf.has(a.asset_key));
    // Purged hosts count here: their closed reports are still findings of the asset.
    const single = kept.filter((a) => (hostsOf.get(a.asset_key) as HostRow[]).length === 1);
    const several = kept.filter((a) => (hostsOf.get(a.asset_key) as HostRow[]).length > 1);
    const risks = new Map<number, TruRiskAccumulator>(
      kept.map((a) => [a.seq, new TruRiskAccumulator()]),
    );
    // Current findings per host seq.
    const counts = new Map<number, number>();
    if (single.length > 0) await this.singleHostRisk(single, risks, counts);
    if (several.length > 0) await this.risk(several, risks, counts);
    const rows = kept.map((a) => {
      const record = this.record(a, hostsOf.get(a.asset_key) as HostRow[], risks.get(a.seq));
      return [a.asset_key, JSON.stringify(record), record.truRiskScore, record.truRiskBand];
    });
    await writeRows(this.sql, SQL.save, rows, BATCH);
    const perHost = kept.flatMap((a) =>
      (hostsOf.get(a.asset_key) as HostRow[]).map((h) => [h.seq, counts.get(h.seq) ?? 0]),
    );
    await writeRows(this.sql, SQL.saveCounts, perHost, BATCH);
  }

  private record(
    a: DirtyAsset,
    all: ReadonlyArray<HostRow>,
    risk: TruRiskAccumulator | undefined,
  ): Record<string, unknown> {
    const live = all.filter((h) => h.purged_at === null);
    // No live host left: the asset stays, as its purged hosts last described it.
    const hosts = live.length > 0 ? live : all;
    const attributes = this.mergeAttributes(hosts.map((h) => JSON.parse(h.attributes)));
    const reported = attributes.assetCriticalityScore;
    const criticality = criticalityUsed(typeof reported === 'number' ? reported : null);
    const score = (risk ?? new TruRiskAccumulator()).score(criticality.value);
    const band = truRiskBand(score);
    const identities: HostIdentity[] = hosts.map((h) =>
      IdentificationRules.fromStored(h.subscription, h.host_id, h.identifiers),
    );
    const record: Record<string, unknown> = {
      assetKey: a.asset_key,
      source: SOURCE,
      subscriptions: [...new Set(hosts.map((h) => h.subscription))].sort(),
      identifiedBy: a.identified_by ?? this.rules.firstWithValue(identities),
      qualysHosts: hosts
        .map((h) => ({ subscription: h.subscription, hostId: h.host_id }))
        .sort(
          (x, y) =>
            x.subscription.localeCompare(y.subscription) || x.hostId.localeCompare(y.hostId),
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
    return record;
  }

  private async singleHostRisk(
    assets: ReadonlyArray<DirtyAsset>,
    risks: Map<number, TruRiskAccumulator>,
    counts: Map<number, number>,
  ): Promise<void> {
    const seqs = padded(assets.map((a) => a.seq));
    await this.sql.run(SQL.allCurrent(seqs.length), seqs);
    for (const c of await this.sql.all<{ host_seq: number; n: number | string }>(
      SQL.perHost(seqs.length),
      seqs,
    ))
      counts.set(Number(c.host_seq), Number(c.n));
    for (const b of await this.sql.all<{
      asset_seq: number;
      band: number | null;
      n: number;
      total: number;
    }>(SQL.openByBand(seqs.length), seqs)) {
      if (b.band !== null) risks.get(b.asset_seq)?.addBand(b.band, b.n, b.total);
    }
  }

  /** Several hosts: marks each detection key's latest report current and scores those. */
  private async risk(
    assets: ReadonlyArray<DirtyAsset>,
    risks: Map<number, TruRiskAccumulator>,
    counts: Map<number, number>,
  ): Promise<void> {
    const seqs = padded(assets.map((a) => a.seq));
    const flips: Record<0 | 1, number[]> = { 0: [], 1: [] };
    let previous: string | null = null;
    let previousAsset: number | null = null;
    for (const f of await this.sql.all<FindingRow>(SQL.findings(seqs.length), seqs)) {
      const first = f.asset_seq !== previousAsset || f.detection_key !== previous;
      const current = first ? 1 : 0;
      previous = f.detection_key;
      previousAsset = f.asset_seq;
      if (f.current !== current) flips[current].push(f.id);
      if (current) {
        counts.set(Number(f.host_seq), (counts.get(Number(f.host_seq)) ?? 0) + 1);
        risks.get(f.asset_seq)?.add({
          findingStatus: f.status,
          findingSubType: f.sub_type,
          ignoreFinding: f.ignored === null ? null : f.ignored === 1,
          detectionScore: f.score,
        });
      }
    }
    for (const current of [0, 1] as const) {
      const ids = flips[current];
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        const chunk = padded(ids.slice(i, i + ID_CHUNK));
        await this.sql.run(SQL.setCurrent(current, chunk.length), chunk);
      }
    }
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
