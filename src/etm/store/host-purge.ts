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
import { Statement } from 'better-sqlite3';

import { NORMALISERS } from '../normalisers';
import { hostUnindexer } from './asset-resolver';
import { Db } from './database';
import { layoutId, Layouts } from './layouts';

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

export class HostPurger {
  private readonly s: Record<string, Statement>;
  private readonly unindex: (hostSeq: number, identifiers: string) => void;

  constructor(private readonly db: Db) {
    this.s = {
      host: db.prepare(
        `SELECT h.seq, h.asset_key, a.seq AS asset_seq, h.identifiers, h.purged_at
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE h.subscription = ? AND h.host_id = ?`,
      ),
      openReports: db.prepare(
        `SELECT id, layout, record FROM findings
          WHERE asset_seq = ? AND host_seq = ? AND status IS NOT ?`,
      ),
      close: db.prepare(`UPDATE findings SET status = ?, layout = ?, record = ? WHERE id = ?`),
      markPurged: db.prepare(`UPDATE asset_hosts SET purged_at = ? WHERE seq = ?`),
      markDirty: db.prepare(`UPDATE assets SET dirty = 1 WHERE asset_key = ? AND dirty = 0`),
    };
    this.unindex = hostUnindexer(db);
  }

  /** Undefined when there is nothing to purge: a host never stored, or already purged. */
  purge(subscription: string, hostId: string, deletedAt: string): PurgeResult | undefined {
    const host = this.s.host.get(subscription, hostId) as HostRow | undefined;
    if (!host || host.purged_at !== null) return undefined;
    const closed = this.closeReports(host, deletedAt);
    this.unindex(host.seq, host.identifiers);
    this.s.markPurged.run(deletedAt, host.seq);
    this.s.markDirty.run(host.asset_key);
    return { closed };
  }

  /** Every report of the host not already closed; returns how many. */
  private closeReports(host: HostRow, deletedAt: string): number {
    const values: Record<string, unknown> = {
      findingStatus: CLOSED_STATUS,
      findingLastFixedOn: deletedAt,
    };
    // Layouts are looked up per purge: one created here is rolled back with the transaction.
    const layouts = new Layouts(this.db);
    const closings = new Map<number, Closing>();
    const reports = this.s.openReports.all(host.asset_seq, host.seq, CLOSED_STATUS) as OpenReport[];
    for (const report of reports) {
      let closing = closings.get(report.layout);
      if (!closing) {
        closing = this.closing(
          report.layout,
          layouts.positions(report.layout),
          Object.keys(values),
        );
        closings.set(report.layout, closing);
      }
      const record = JSON.parse(report.record) as unknown[];
      for (const [name, value] of Object.entries(values)) {
        record[closing.positions.get(name) as number] = value;
      }
      this.s.close.run(CLOSED_STATUS, closing.layout, JSON.stringify(record), report.id);
    }
    return reports.length;
  }

  /**
   * A map may not map findingStatus or findingLastFixedOn (the default maps no fixed date): a
   * closed record then gets them appended, under the layout of its attributes plus those.
   */
  private closing(
    layout: number,
    positions: ReadonlyMap<string, number>,
    names: ReadonlyArray<string>,
  ): Closing {
    const missing = names.filter((n) => !positions.has(n));
    if (missing.length === 0) return { layout, positions };
    const attributes = [...positions.entries()].sort((a, b) => a[1] - b[1]).map(([n]) => n);
    const extended = [...attributes, ...missing];
    return {
      layout: layoutId(this.db, extended),
      positions: new Map(extended.map((n, i) => [n, i])),
    };
  }
}
