/**
 * Writes converter output into the store inside the open transaction: a host's asset attributes,
 * each detection as its host's report of a finding (the latest LAST_FOUND wins; an older report
 * replayed by an overlapping sync changes nothing), and per-QID attributes once per QID (the
 * newest knowledge wins). Counts what changed, for the sync summary.
 */
import { Statement } from 'better-sqlite3';
import { VError } from 'verror';

import { CompiledMap } from '../attribute-mapping';
import { DestinationRecord, VULNERABILITY } from '../converter';
import { ASSET, FINDING } from '../models';
import { Db } from './database';

export interface WriteStats {
  hosts: number;
  findingsNew: number;
  findingsUpdated: number;
  /** Reports older than the one stored (overlapping windows, replays): ignored. */
  findingsStale: number;
  /** `ACTIVE→FIXED`: how many findings moved between statuses. */
  statusChanges: Record<string, number>;
  vulnerabilities: number;
}

export const emptyWriteStats = (): WriteStats => ({
  hosts: 0,
  findingsNew: 0,
  findingsUpdated: 0,
  findingsStale: 0,
  statusChanges: {},
  vulnerabilities: 0,
});

/** Per-QID records repeat on every detection of the QID; remember what was written lately. */
const KNOWLEDGE_CACHE_LIMIT = 20000;

interface StoredFinding {
  id: number;
  status: string | null;
  last_found: string | null;
}

export class EtmWriter {
  stats: WriteStats = emptyWriteStats();
  private readonly s: Record<string, Statement>;
  private readonly written = new Map<string, string>();

  constructor(
    db: Db,
    private readonly map: CompiledMap,
  ) {
    this.s = {
      hostAttributes: db.prepare(
        `SELECT attributes, last_scanned FROM asset_hosts WHERE subscription = ? AND host_id = ?`,
      ),
      setHostAttributes: db.prepare(
        `UPDATE asset_hosts SET attributes = ?, last_scanned = ? WHERE subscription = ? AND host_id = ?`,
      ),
      finding: db.prepare(
        `SELECT id, status, last_found FROM findings
          WHERE asset_key = ? AND detection_key = ? AND subscription = ? AND host_id = ?`,
      ),
      insertFinding: db.prepare(
        `INSERT INTO findings (asset_key, detection_key, subscription, host_id, vulnerability_key,
                               status, sub_type, ignored, score, severity, last_found, record)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateFinding: db.prepare(
        `UPDATE findings SET vulnerability_key = ?, status = ?, sub_type = ?, ignored = ?, score = ?,
                             severity = ?, last_found = ?, record = ?
          WHERE id = ?`,
      ),
      markDirty: db.prepare(`UPDATE assets SET dirty = 1 WHERE asset_key = ? AND dirty = 0`),
      vulnerability: db.prepare(
        `SELECT version, record FROM vulnerabilities WHERE vulnerability_key = ?`,
      ),
      upsertVulnerability: db.prepare(
        `INSERT INTO vulnerabilities (vulnerability_key, version, record) VALUES (?, ?, ?)
         ON CONFLICT (vulnerability_key) DO UPDATE SET version = excluded.version, record = excluded.record`,
      ),
    };
  }

  write(records: ReadonlyArray<DestinationRecord>): void {
    for (const { model, record } of records) {
      if (model === ASSET) this.writeHost(record);
      else if (model === FINDING) this.writeFinding(record);
      else if (model === VULNERABILITY) this.writeVulnerability(record);
      else throw new VError('no writer for destination model %j', model);
    }
  }

  /** After a rollback the store no longer holds what the cache says was written. */
  discard(): void {
    this.written.clear();
  }

  /**
   * A host's attributes are patched, not replaced: Host List and Host List Detection records
   * each carry only some (the detection API has no TRURISK_SCORE), so a value one stream omits
   * must not erase what the other reported.
   */
  private writeHost(record: Record<string, unknown>): void {
    const [{ subscription, hostId }] = record.qualysHosts as {
      subscription: string;
      hostId: string;
    }[];
    const row = this.s.hostAttributes.get(subscription, hostId) as
      { attributes: string; last_scanned: string | null } | undefined;
    if (!row)
      throw new VError(
        'host %s/%s was not resolved to an asset before its attributes arrived',
        subscription,
        hostId,
      );
    const attributes = JSON.parse(row.attributes) as Record<string, unknown>;
    for (const name of this.map.asset.attributes) {
      if (record[name] !== null && record[name] !== undefined) attributes[name] = record[name];
    }
    const scanned = (attributes.lastScannedOn as string | undefined) ?? null;
    this.s.setHostAttributes.run(JSON.stringify(attributes), scanned, subscription, hostId);
    this.s.markDirty.run(record.assetKey);
    this.stats.hosts++;
  }

  private writeFinding(record: Record<string, unknown>): void {
    const assetKey = record.assetKey as string;
    const detectionKey = (record.findingKey as string).slice(assetKey.length + 1);
    const attributes: Record<string, unknown> = {};
    for (const name of this.map.detection.attributes) attributes[name] = record[name] ?? null;
    const status = (record.findingStatus as string | null) ?? null;
    const lastFound = (record.findingLastFoundOn as string | null) ?? null;
    const columns = [
      status,
      record.findingSubType ?? null,
      typeof record.ignoreFinding === 'boolean' ? Number(record.ignoreFinding) : null,
      record.detectionScore ?? null,
      record.findingSeverity ?? null,
      lastFound,
      JSON.stringify(attributes),
    ];
    const stored = this.s.finding.get(
      assetKey,
      detectionKey,
      record.subscription,
      record.qualysHostId,
    ) as StoredFinding | undefined;
    if (!stored) {
      this.s.insertFinding.run(
        assetKey,
        detectionKey,
        record.subscription,
        record.qualysHostId,
        record.vulnerabilityKey,
        ...columns,
      );
      this.stats.findingsNew++;
      return;
    }
    // ISO dates in one format compare as text; a report without LAST_FOUND never beats one with.
    if ((lastFound ?? '') < (stored.last_found ?? '')) {
      this.stats.findingsStale++;
      return;
    }
    this.s.updateFinding.run(record.vulnerabilityKey, ...columns, stored.id);
    this.stats.findingsUpdated++;
    if (stored.status !== status) {
      const change = `${stored.status ?? 'NONE'}→${status ?? 'NONE'}`;
      this.stats.statusChanges[change] = (this.stats.statusChanges[change] ?? 0) + 1;
    }
  }

  /** Newest knowledge wins; a record without a version is taken as current. Fields not sent are kept. */
  private writeVulnerability(record: Record<string, unknown>): void {
    const { vulnerabilityKey, version, ...attributes } = record;
    const key = String(vulnerabilityKey);
    const fingerprint = JSON.stringify(record);
    if (this.written.get(key) === fingerprint) return;
    const stored = this.s.vulnerability.get(key) as
      { version: string | null; record: string } | undefined;
    if (stored && version && stored.version && (version as string) < stored.version) return;
    const merged = stored ? { ...JSON.parse(stored.record), ...attributes } : attributes;
    this.s.upsertVulnerability.run(
      key,
      (version as string | null) ?? stored?.version ?? null,
      JSON.stringify(merged),
    );
    this.stats.vulnerabilities++;
    if (this.written.size >= KNOWLEDGE_CACHE_LIMIT) this.written.clear();
    this.written.set(key, fingerprint);
  }
}
