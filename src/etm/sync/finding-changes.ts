/**
 * What a sync did to the ETM findings, by comparing the store's current findings with a snapshot
 * taken before it: findings that are new, findings whose status moved to FIXED or REOPENED, and
 * findings closed because the host reporting them was purged from Qualys (store/host-purge.ts),
 * apart from those Qualys reported fixed. These are ETM findings, not host reports: a detection
 * that a second subscription reports on a shared asset is not a new finding. Reads every current
 * finding; meant for demo-sized stores.
 */
import { findingKey } from '../finding-key';
import { Sql } from '../store/sql';
import { CLOSED_STATUS } from '../store/host-purge';
import { allFindings, EtmRecord } from '../store/reader';

/** Finding key → findingStatus. */
export type FindingStatuses = ReadonlyMap<string, unknown>;

export interface FindingChange {
  /** `new`, or the status move, e.g. `ACTIVE→FIXED` or `ACTIVE→FIXED (host purged)`. */
  readonly change: string;
  readonly finding: EtmRecord;
}

export interface FindingChanges {
  readonly added: FindingChange[];
  readonly fixed: FindingChange[];
  readonly reopened: FindingChange[];
  readonly closedByPurge: FindingChange[];
}

export async function findingStatuses(sql: Sql): Promise<FindingStatuses> {
  const statuses = new Map<string, unknown>();
  for await (const { record } of allFindings(sql))
    statuses.set(record.findingKey as string, record.findingStatus);
  return statuses;
}

export async function findingChanges(before: FindingStatuses, sql: Sql): Promise<FindingChanges> {
  const changes: FindingChanges = { added: [], fixed: [], reopened: [], closedByPurge: [] };
  const purged = await purgedReports(sql);
  for await (const finding of allFindings(sql)) {
    const key = finding.record.findingKey as string;
    const now = finding.record.findingStatus;
    if (!before.has(key)) {
      changes.added.push({ change: 'new', finding });
      continue;
    }
    const was = before.get(key);
    if (now === was) continue;
    const change = `${was ?? 'NONE'}→${now ?? 'NONE'}`;
    if (now === CLOSED_STATUS && purged.has(key))
      changes.closedByPurge.push({ change: `${change} (host purged)`, finding });
    else if (now === CLOSED_STATUS) changes.fixed.push({ change, finding });
    else if (now === 'REOPENED') changes.reopened.push({ change, finding });
  }
  return changes;
}

/** Keys of the findings whose current report is a purged host's. */
async function purgedReports(sql: Sql): Promise<Set<string>> {
  const rows = await sql.all<{ asset_key: string; detection_key: string }>(
    `SELECT a.asset_key, f.detection_key FROM findings f
       JOIN assets a ON a.seq = f.asset_seq JOIN asset_hosts h ON h.seq = f.host_seq
      WHERE f.current = 1 AND h.purged_at IS NOT NULL`,
  );
  return new Set(rows.map((r) => findingKey(r.asset_key, r.detection_key)));
}
