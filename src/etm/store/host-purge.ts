/**
 * Applies an etm_Asset__Deletion: a host Qualys no longer lists (purged, or outside the tag
 * filter). Its reports of findings are kept as history but closed, as a detection Qualys reports
 * Fixed is: status FIXED, findingLastFixedOn the deletion time. Its identifiers are removed, so
 * new hosts no longer match it, and its row is marked `purged_at`, so its attributes no longer
 * feed its asset; the asset is rebuilt at the next commit (store/asset-materialiser.ts): another
 * host's report of the same finding becomes current, TruRisk drops the closed findings, and an
 * asset with no live host left is kept, marked `purgedAt`. A later record of the same host
 * restores it (store/asset-resolver.ts).
 */
import { NORMALISERS } from '../normalisers';
import { unindexHost } from './asset-resolver';
import { layoutId, Layouts } from './layouts';
import { DirtyAssets } from './dirty-assets';
import { Sql } from './sql';

/** The findingStatus normaliser's value for Qualys' STATUS "Fixed": closed the same way. */
export const CLOSED_STATUS = NORMALISERS.get('findingStatus')?.apply('Fixed') as string;

export interface PurgeResult {
  /** Open reports the purge closed (host reports of findings, as the summary counts them). */
  readonly closed: number;
}

interface HostRow {
  seq: number;
  asset_key: string;
  asset_seq: number;
  identifiers: string;
  purged_at: string | null;
}

interface OpenReport {
  id: number;
  layout: number;
  record: string;
}

/** Where the closing values go in a layout, and the layout a closed record is stored under. */
interface Closing {
  readonly layout: number;
  readonly positions: ReadonlyMap<string, number>;
}

const SQL = {
  host: `SELECT h.seq, h.asset_key, a.seq AS asset_seq, h.identifiers, h.purged_at
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE h.subscription = ? AND h.host_id = ?`,
  openReports: `SELECT id, layout, record FROM findings
          WHERE asset_seq = ? AND host_seq = ? AND status IS DISTINCT FROM ?`,
  close: `UPDATE findings SET status = ?, layout = ?, record = ? WHERE id = ?`,
  markPurged: `UPDATE asset_hosts SET purged_at = ? WHERE seq = ?`,
};

export class HostPurger {
  constructor(
    private readonly sql: Sql,
    private readonly dirty: DirtyAssets,
  ) {}

  /** Undefined when there is nothing to purge: a host never stored, or already purged. */
  async purge(
    subscription: string,
    hostId: string,
    deletedAt: string,
  ): Promise<PurgeResult | undefined> {
    const host = await this.sql.get<HostRow>(SQL.host, [subscription, hostId]);
    if (!host || host.purged_at !== null) return undefined;
    const closed = await this.closeReports(host, deletedAt);
    await unindexHost(this.sql, host.seq, host.identifiers);
    await this.sql.run(SQL.markPurged, [deletedAt, host.seq]);
    await this.dirty.mark(host.asset_key);
    return { closed };
  }

  /** Every report of the host not already closed; returns how many. */
  private async closeReports(host: HostRow, deletedAt: string): Promise<number> {
    const values: Record<string, unknown> = {
      findingStatus: CLOSED_STATUS,
      findingLastFixedOn: deletedAt,
    };
    // Layouts are looked up per purge: one created here is rolled back with the transaction.
    const layouts = new Layouts(this.sql);
    const closings = new Map<number, Closing>();
    const reports = await this.sql.all<OpenReport>(SQL.openReports, [
      host.asset_seq,
      host.seq,
      CLOSED_STATUS,
    ]);
    for (const report of reports) {
      let closing = closings.get(report.layout);
      if (!closing) {
        closing = await this.closing(
          report.layout,
          await layouts.positions(report.layout),
          Object.keys(values),
        );
        closings.set(report.layout, closing);
      }
      const record = JSON.parse(report.record) as unknown[];
      for (const [name, value] of Object.entries(values)) {
        record[closing.positions.get(name) as number] = value;
      }
      await this.sql.run(SQL.close, [
        CLOSED_STATUS,
        closing.layout,
        JSON.stringify(record),
        report.id,
      ]);
    }
    return reports.length;
  }

  /**
   * A map may not map findingStatus or findingLastFixedOn (the default maps no fixed date): a
   * closed record then gets them appended, under the layout of its attributes plus those.
   */
  private async closing(
    layout: number,
    positions: ReadonlyMap<string, number>,
    names: ReadonlyArray<string>,
  ): Promise<Closing> {
    const missing = names.filter((n) => !positions.has(n));
    if (missing.length === 0) return { layout, positions };
    const attributes = [...positions.entries()].sort((a, b) => a[1] - b[1]).map(([n]) => n);
    const extended = [...attributes, ...missing];
    return {
      layout: await layoutId(this.sql, extended),
      positions: new Map(extended.map((n, i) => [n, i])),
    };
  }
}
