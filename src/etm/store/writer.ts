/**
 * Writes converter output into the store inside the open transaction: a host's asset attributes,
 * each detection as its host's report of a finding (the latest LAST_FOUND wins; an older report
 * replayed by an overlapping sync changes nothing), and per-QID attributes once per QID (the
 * newest knowledge wins). A host deletion closes that host's findings and detaches it
 * (store/host-purge.ts). Counts what changed, for the sync summary.
 *
 * Host attributes and findings are held and written together (`flush`), across hosts: one read
 * of what a few hundred hosts reported before, then multi-row upserts of hundreds of rows —
 * a few statements per batch instead of a few per host. The per-statement cost is what dominates
 * SQLite writes from Node, and the round trip what dominates PostgreSQL's. Held writes are
 * flushed before anything that reads them: an asset merge or host move (the resolver asks),
 * a purge, the materialiser at each commit.
 */
import { VError } from 'verror';

import { CompiledMap } from '../attribute-mapping';
import { ASSET_DELETION, DestinationRecord, VULNERABILITY } from '../converter';
import { ASSET, FINDING } from '../models';
import { marks, padded, repeated, writeRows } from './batches';
import { DirtyAssets } from './dirty-assets';
import { CachedHost, HostCache } from './host-cache';
import { HostPurger } from './host-purge';
import { layoutId } from './layouts';
import { Sql } from './sql';

export interface WriteStats {
  hosts: number;
  findingsNew: number;
  findingsUpdated: number;
  /** Reports older than the one stored (overlapping windows, replays): ignored. */
  findingsStale: number;
  /** `ACTIVE→FIXED`: how many findings moved between statuses. */
  statusChanges: Record<string, number>;
  vulnerabilities: number;
  /** Hosts Qualys no longer lists (deletion records of hosts the store held). */
  hostsPurged: number;
  /** Open host reports those purges closed. */
  findingsClosedByPurge: number;
}

export const emptyWriteStats = (): WriteStats => ({
  hosts: 0,
  findingsNew: 0,
  findingsUpdated: 0,
  findingsStale: 0,
  statusChanges: {},
  vulnerabilities: 0,
  hostsPurged: 0,
  findingsClosedByPurge: 0,
});

/** QIDs whose current version this run has written; bounded, cleared when full. */
const KNOWLEDGE_CACHE_LIMIT = 50000;
/** Rows per multi-row upsert (12 parameters each, well under either engine's limit). */
const CHUNK = 512;
/** Hosts whose earlier reports are read in one statement, and attribute rows per UPDATE. */
const HOST_CHUNK = 512;
/** Findings held before they are written without waiting for a commit. */
const HELD_FINDINGS = 10000;
/** Knowledge rows per upsert: records are a few KB each. */
const KNOWLEDGE_CHUNK = 128;

/** A QID's knowledge as the store holds it, or will once held writes are flushed. */
interface Knowledge {
  readonly version: string | null;
  readonly record: Record<string, unknown>;
}

const FINDING_COLUMNS = [
  'asset_seq',
  'detection_key',
  'host_seq',
  'vulnerability_key',
  'status',
  'sub_type',
  'ignored',
  'score',
  'severity',
  'last_found',
  'layout',
  'record',
];
const UPSERT_SET = FINDING_COLUMNS.slice(3)
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

/** A host's findings held for the next flush: one report per detection key. */
interface HeldFindings {
  readonly host: CachedHost;
  /** By detection key. */
  readonly reports: Map<string, Report>;
}

interface StoredReport {
  readonly asset_seq: number;
  readonly host_seq: number;
  readonly detection_key: string;
  readonly status: string | null;
  readonly last_found: string | null;
}

interface Report {
  readonly detectionKey: string;
  readonly status: string | null;
  readonly lastFound: string | null;
  readonly row: unknown[];
}

const SQL = {
  host: `SELECT h.seq, h.attributes, h.asset_key, a.seq AS asset_seq
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE h.subscription = ? AND h.host_id = ?`,
  reports: (
    n: number,
  ) => `SELECT asset_seq, host_seq, detection_key, status, last_found FROM findings
          WHERE asset_seq IN (${marks(n)}) AND host_seq IN (${marks(n)})`,
  // VALUES columns are column1, column2… on both engines; the cast types PostgreSQL's parameter.
  setHosts: (n: number) => `UPDATE asset_hosts SET attributes = v.column2, last_scanned = v.column3
          FROM (VALUES ${repeated(n, '(CAST(? AS INTEGER), ?, ?)')}) AS v
          WHERE asset_hosts.seq = v.column1`,
  vulnerability: `SELECT version, record FROM vulnerabilities WHERE vulnerability_key = ?`,
  vulnerabilities: (n: number) =>
    `SELECT vulnerability_key, version, record FROM vulnerabilities WHERE vulnerability_key IN (${marks(n)})`,
  upsertVulnerabilities: (
    n: number,
  ) => `INSERT INTO vulnerabilities (vulnerability_key, version, record)
         VALUES ${repeated(n, '(?, ?, ?)')}
         ON CONFLICT (vulnerability_key) DO UPDATE SET version = excluded.version, record = excluded.record`,
};

export class EtmWriter {
  stats: WriteStats = emptyWriteStats();
  private readonly upserts = new Map<number, string>();
  private readonly purger: HostPurger;
  /** QID → the version of its attributes staged or stored in this run. */
  private readonly versions = new Map<string, string>();
  /** Findings held for the next flush, by host seq. */
  private held = new Map<number, HeldFindings>();
  private heldRows = 0;
  /** Knowledge read or written in this transaction (null: the store has none), and held. */
  private knowledge = new Map<string, Knowledge | null>();
  private heldKnowledge = new Map<string, Knowledge>();
  /** Hosts whose patched attributes the next flush writes. */
  private patched = new Map<number, CachedHost>();
  /** The layout of this map's finding records; looked up again after a rollback. */
  private layout: number | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly map: CompiledMap,
    private readonly dirty: DirtyAssets = new DirtyAssets(sql),
    private readonly hosts: HostCache = new HostCache(),
  ) {
    this.purger = new HostPurger(sql, dirty);
  }

  async write(records: ReadonlyArray<DestinationRecord>): Promise<void> {
    let findings: Record<string, unknown>[] | undefined;
    for (const { model, record } of records) {
      if (model === ASSET) await this.writeHost(record);
      else if (model === FINDING) (findings ??= []).push(record);
      else if (model === VULNERABILITY) await this.writeVulnerability(record);
      else if (model === ASSET_DELETION) await this.purgeHost(record);
      else throw new VError('no writer for destination model %j', model);
    }
    if (findings) await this.writeFindings(findings);
    if (this.heldRows >= HELD_FINDINGS) await this.flush();
  }

  /** Writes what is held: host attributes, findings (counted here), dirty marks. */
  async flush(): Promise<void> {
    const patched = [...this.patched.values()];
    this.patched = new Map();
    const rows = patched.map((host) => {
      const attributes = host.attributes as Record<string, unknown>;
      return [
        host.seq,
        JSON.stringify(attributes),
        (attributes.lastScannedOn as string | undefined) ?? null,
      ];
    });
    await writeRows(this.sql, SQL.setHosts, rows, HOST_CHUNK);
    const held = [...this.held.values()];
    this.held = new Map();
    this.heldRows = 0;
    for (let i = 0; i < held.length; i += HOST_CHUNK)
      await this.writeHeld(held.slice(i, i + HOST_CHUNK));
    await this.flushKnowledge();
    await this.dirty.flush();
  }

  /**
   * After a commit: another writer of the store may merge assets before this one's next
   * transaction, so hosts are read again rather than trusted from here.
   */
  committed(): void {
    this.knowledge = new Map();
    this.hosts.forget();
    this.dirty.forget();
  }

  /** After a rollback the store no longer holds what the caches say was written. */
  discard(): void {
    this.dirty.forget();
    this.hosts.forget();
    this.held = new Map();
    this.heldRows = 0;
    this.patched = new Map();
    this.knowledge = new Map();
    this.heldKnowledge = new Map();
    this.versions.clear();
    this.layout = undefined;
  }

  /** See StreamContext.knowledgeCurrent. */
  knowledgeCurrent(vulnerabilityKey: string, version: string): boolean {
    return this.versions.get(vulnerabilityKey) === version;
  }

  /**
   * A host's attributes are patched, not replaced: Host List and Host List Detection records
   * each carry only some (the detection API has no TRURISK_SCORE), so a value one stream omits
   * must not erase what the other reported.
   */
  private async writeHost(record: Record<string, unknown>): Promise<void> {
    const [{ subscription, hostId }] = record.qualysHosts as {
      subscription: string;
      hostId: string;
    }[];
    const host = await this.host(subscription, hostId);
    if (typeof host.attributes === 'string')
      host.attributes = JSON.parse(host.attributes) as Record<string, unknown>;
    const attributes = host.attributes;
    for (const name of this.map.asset.attributes) {
      if (record[name] !== null && record[name] !== undefined) attributes[name] = record[name];
    }
    this.patched.set(host.seq, host);
    await this.dirty.mark(record.assetKey as string);
    this.stats.hosts++;
  }

  /** Unknown or already purged hosts are skipped, so a repeated deletion changes nothing. */
  private async purgeHost(record: Record<string, unknown>): Promise<void> {
    const { where, deletedAt } = record as {
      where: { subscription: string; hostId: string };
      deletedAt: string;
    };
    // The purge reads and closes the host's findings: those held must be in the store.
    await this.flush();
    const result = await this.purger.purge(where.subscription, where.hostId, deletedAt);
    if (!result) return;
    // Not the cached host any more: should it come back, it is read again.
    this.hosts.delete(where.subscription, where.hostId);
    this.stats.hostsPurged++;
    this.stats.findingsClosedByPurge += result.closed;
  }

  /** Groups one source record's findings by host (in practice all are one host's) and writes them. */
  private async writeFindings(records: Record<string, unknown>[]): Promise<void> {
    const first = records[0];
    const sameHost = (r: Record<string, unknown>): boolean =>
      r.assetKey === first.assetKey &&
      r.subscription === first.subscription &&
      r.qualysHostId === first.qualysHostId;
    if (records.every(sameHost)) {
      await this.writeHostFindings(records);
      return;
    }
    const groups = new Map<string, Record<string, unknown>[]>();
    for (const r of records) {
      const key = `${r.assetKey}\u0000${r.subscription}\u0000${r.qualysHostId}`;
      const group = groups.get(key);
      if (group) group.push(r);
      else groups.set(key, [r]);
    }
    for (const group of groups.values()) await this.writeHostFindings(group);
  }

  /** Holds one host's findings for the next flush; one report per detection key. */
  private async writeHostFindings(records: Record<string, unknown>[]): Promise<void> {
    const { assetKey, subscription, qualysHostId } = records[0] as Record<string, string>;
    const host = await this.host(subscription, qualysHostId);
    this.layout ??= await layoutId(this.sql, this.map.detection.attributes);
    // One report per detection key: a host listing a detection twice keeps its latest.
    const reports = new Map<string, Report>();
    for (const record of records) {
      const report = this.report(record, assetKey, host);
      const seen = reports.get(report.detectionKey);
      if (!seen || (report.lastFound ?? '') >= (seen.lastFound ?? ''))
        reports.set(report.detectionKey, report);
    }
    // Another record of a host whose findings are held (the detections stream sends one per
    // detection) joins them; one reporting a detection already held waits for those to be
    // written, so that it is counted against them.
    let held = this.held.get(host.seq);
    if (held && [...reports.keys()].some((key) => held?.reports.has(key))) {
      await this.flush();
      held = undefined;
    }
    if (held) for (const [key, report] of reports) held.reports.set(key, report);
    else this.held.set(host.seq, { host, reports });
    this.heldRows += reports.size;
    await this.dirty.mark(assetKey);
  }

  /** Writes these hosts' held findings: one read of what they reported before, then upserts. */
  private async writeHeld(held: ReadonlyArray<HeldFindings>): Promise<void> {
    const stored = new Map<string, StoredReport>();
    const assets = padded(held.map((h) => h.host.assetSeq));
    const hosts = padded(held.map((h) => h.host.seq));
    for (const r of await this.sql.all<StoredReport>(SQL.reports(assets.length), [
      ...assets,
      ...hosts,
    ]))
      stored.set(`${r.asset_seq}\u0000${r.host_seq}\u0000${r.detection_key}`, r);
    const rows: unknown[][] = [];
    for (const { host, reports } of held) {
      const prefix = `${host.assetSeq}\u0000${host.seq}\u0000`;
      for (const report of reports.values()) {
        const before = stored.get(prefix + report.detectionKey);
        if (!before) {
          this.stats.findingsNew++;
        } else if ((report.lastFound ?? '') < (before.last_found ?? '')) {
          // ISO dates in one format compare as text; a report without LAST_FOUND never wins.
          this.stats.findingsStale++;
          continue;
        } else {
          this.stats.findingsUpdated++;
          if (before.status !== report.status) {
            const change = `${before.status ?? 'NONE'}→${report.status ?? 'NONE'}`;
            this.stats.statusChanges[change] = (this.stats.statusChanges[change] ?? 0) + 1;
          }
        }
        rows.push(report.row);
      }
    }
    await writeRows(this.sql, (n) => this.upsert(n), rows, CHUNK);
  }

  private report(record: Record<string, unknown>, assetKey: string, host: CachedHost): Report {
    const detectionKey = (record.findingKey as string).slice(assetKey.length + 1);
    const status = (record.findingStatus as string | null) ?? null;
    const lastFound = (record.findingLastFoundOn as string | null) ?? null;
    const names = this.map.detection.attributes;
    const values = new Array<unknown>(names.length);
    for (let i = 0; i < names.length; i++) values[i] = record[names[i]] ?? null;
    const row = [
      host.assetSeq,
      detectionKey,
      host.seq,
      record.vulnerabilityKey,
      status,
      record.findingSubType ?? null,
      typeof record.ignoreFinding === 'boolean' ? Number(record.ignoreFinding) : null,
      record.detectionScore ?? null,
      record.findingSeverity ?? null,
      lastFound,
      this.layout as number,
      JSON.stringify(values),
    ];
    return { detectionKey, status, lastFound, row };
  }

  /** The host as resolved in this transaction, or read once. */
  private async host(subscription: string, hostId: string): Promise<CachedHost> {
    const cached = this.hosts.get(subscription, hostId);
    if (cached) return cached;
    const row = await this.sql.get<{
      seq: number;
      attributes: string;
      asset_seq: number;
      asset_key: string;
    }>(SQL.host, [subscription, hostId]);
    if (!row)
      throw new VError('host %s/%s has no asset: resolve it before writing', subscription, hostId);
    const host: CachedHost = {
      seq: row.seq,
      assetKey: row.asset_key,
      assetSeq: row.asset_seq,
      attributes: row.attributes,
    };
    this.hosts.set(subscription, hostId, host);
    return host;
  }

  private upsert(rows: number): string {
    let statement = this.upserts.get(rows);
    if (!statement) {
      const values = repeated(rows, `(${marks(FINDING_COLUMNS.length)})`);
      statement = `INSERT INTO findings (${FINDING_COLUMNS.join(', ')}) VALUES ${values}
         ON CONFLICT (asset_seq, detection_key, host_seq) DO UPDATE SET ${UPSERT_SET}`;
      this.upserts.set(rows, statement);
    }
    return statement;
  }

  /**
   * Newest knowledge wins (by LAST_SERVICE_MODIFICATION_DATETIME); a record without a version is
   * taken as current. Attributes a record does not carry are kept, and an older record still fills
   * attributes the stored one lacks (the QID's knowledge arrives from several streams).
   */
  private async writeVulnerability(record: Record<string, unknown>): Promise<void> {
    const { vulnerabilityKey, version, ...attributes } = record;
    const key = String(vulnerabilityKey);
    let stored = this.knowledge.get(key);
    if (stored === undefined) {
      const row = await this.sql.get<{ version: string | null; record: string }>(
        SQL.vulnerability,
        [key],
      );
      stored = row ? { version: row.version, record: JSON.parse(row.record) } : null;
      this.knowledge.set(key, stored);
    }
    // A record without a version that changes nothing (a detection's QID, on each detection).
    if (
      !version &&
      stored &&
      Object.entries(attributes).every(([k, v]) => sameValue(stored.record[k], v))
    )
      return;
    const older = !!(stored && version && stored.version && (version as string) < stored.version);
    let merged: Record<string, unknown> = attributes;
    if (stored) {
      const kept = stored.record;
      if (older && Object.keys(attributes).every((k) => k in kept)) return;
      merged = older ? { ...attributes, ...kept } : { ...kept, ...attributes };
    }
    const newest = older
      ? stored?.version
      : ((version as string | null) ?? stored?.version ?? null);
    const written = { version: newest ?? null, record: merged };
    this.knowledge.set(key, written);
    this.heldKnowledge.set(key, written);
    this.stats.vulnerabilities++;
    if (this.versions.size >= KNOWLEDGE_CACHE_LIMIT) this.versions.clear();
    if (version && !older) this.versions.set(key, version as string);
  }

  /** Reads the stored knowledge of these QIDs ahead, a few hundred per statement. */
  async prefetchKnowledge(qids: ReadonlyArray<string>): Promise<void> {
    const wanted = qids.filter((q) => !this.knowledge.has(q));
    for (let i = 0; i < wanted.length; i += HOST_CHUNK) {
      const chunk = wanted.slice(i, i + HOST_CHUNK);
      for (const q of chunk) this.knowledge.set(q, null);
      const keys = padded(chunk);
      for (const row of await this.sql.all<{
        vulnerability_key: string;
        version: string | null;
        record: string;
      }>(SQL.vulnerabilities(keys.length), keys)) {
        this.knowledge.set(row.vulnerability_key, {
          version: row.version,
          record: JSON.parse(row.record),
        });
      }
    }
  }

  private async flushKnowledge(): Promise<void> {
    const held = [...this.heldKnowledge];
    this.heldKnowledge = new Map();
    const rows = held.map(([key, k]) => [key, k.version, JSON.stringify(k.record)]);
    await writeRows(this.sql, SQL.upsertVulnerabilities, rows, KNOWLEDGE_CHUNK);
  }
}

/** Whether a stored knowledge attribute already has this value (JSON values). */
function sameValue(stored: unknown, value: unknown): boolean {
  if (stored === value) return true;
  return typeof value === 'object' && JSON.stringify(stored) === JSON.stringify(value);
}
