/**
 * What a sync did to the ETM findings, by comparing the store's current findings with a snapshot
 * taken before it: findings that are new, and findings whose status moved to FIXED or REOPENED.
 * These are ETM findings, not host reports: a detection that a second subscription reports on a
 * shared asset is not a new finding. Reads every current finding; meant for demo-sized stores.
 */
import { Db } from '../store/database';
import { allFindings, EtmRecord } from '../store/reader';

/** Finding key → findingStatus. */
export type FindingStatuses = ReadonlyMap<string, unknown>;

export interface FindingChange {
  /** `new`, or the status move, e.g. `ACTIVE→FIXED`. */
  readonly change: string;
  readonly finding: EtmRecord;
}

export interface FindingChanges {
  readonly added: FindingChange[];
  readonly fixed: FindingChange[];
  readonly reopened: FindingChange[];
}

export function findingStatuses(db: Db): FindingStatuses {
  const statuses = new Map<string, unknown>();
  for (const { record } of allFindings(db))
    statuses.set(record.findingKey as string, record.findingStatus);
  return statuses;
}

export function findingChanges(before: FindingStatuses, db: Db): FindingChanges {
  const changes: FindingChanges = { added: [], fixed: [], reopened: [] };
  for (const finding of allFindings(db)) {
    const key = finding.record.findingKey as string;
    const now = finding.record.findingStatus;
    if (!before.has(key)) {
      changes.added.push({ change: 'new', finding });
      continue;
    }
    const was = before.get(key);
    if (now === was) continue;
    const change = `${was ?? 'NONE'}→${now ?? 'NONE'}`;
    if (now === 'FIXED') changes.fixed.push({ change, finding });
    else if (now === 'REOPENED') changes.reopened.push({ change, finding });
  }
  return changes;
}
