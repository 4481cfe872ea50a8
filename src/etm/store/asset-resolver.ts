/**
 * Resolves a Qualys host (subscription + host ID + identifiers) to its asset, in the store.
 *
 * Candidates are the assets holding a host with an equal identifier under some enabled rule
 * (indexed lookups). A candidate matches when the identification rules' first applicable rule
 * says equal. The host joins the best match (highest-precedence deciding rule, then the oldest
 * asset); other matching assets that do not conflict with it are merged in too, since this host
 * links them — which makes the result independent of the order hosts arrive in. The oldest asset
 * of a merge keeps its key. A host whose identifiers have not changed skips all of this.
 */
import crypto from 'crypto';
import { Statement } from 'better-sqlite3';

import { AssetIdentity } from '../converter';
import { HostIdentity, IdentificationRules } from '../identification-rules';
import { Db } from './database';

interface HostRow {
  seq: number;
  subscription: string;
  host_id: string;
  asset_key: string;
  identifiers: string;
}

interface Match {
  readonly key: string;
  readonly rule: string;
  readonly seq: number;
  readonly identifiedBy: string | null;
  readonly hosts: HostIdentity[];
}

export interface ResolverStats {
  assetsCreated: number;
  /** New hosts recognised as an asset already known (from another subscription, say). */
  hostsJoined: number;
  assetsMerged: number;
  hostsMoved: number;
}

/** Candidate lookups per rule are capped: an identifier shared that widely identifies nothing. */
const CANDIDATE_LIMIT = 100;

export class AssetResolver implements AssetIdentity {
  readonly stats: ResolverStats = {
    assetsCreated: 0,
    hostsJoined: 0,
    assetsMerged: 0,
    hostsMoved: 0,
  };
  private readonly s: Record<string, Statement>;

  constructor(
    private readonly db: Db,
    private readonly rules: IdentificationRules,
  ) {
    this.s = {
      host: db.prepare(
        `SELECT seq, subscription, host_id, asset_key, identifiers FROM asset_hosts WHERE subscription = ? AND host_id = ?`,
      ),
      byValue: db.prepare(
        `SELECT DISTINCT h.asset_key FROM host_identifiers i
           JOIN asset_hosts h ON h.subscription = i.subscription AND h.host_id = i.host_id
          WHERE i.rule = ? AND i.value = ? LIMIT ${CANDIDATE_LIMIT}`,
      ),
      byScopedValue: db.prepare(
        `SELECT DISTINCT h.asset_key FROM host_identifiers i
           JOIN asset_hosts h ON h.subscription = i.subscription AND h.host_id = i.host_id
          WHERE i.rule = ? AND i.value = ? AND i.subscription = ? LIMIT ${CANDIDATE_LIMIT}`,
      ),
      hostsOf: db.prepare(
        `SELECT seq, subscription, host_id, asset_key, identifiers FROM asset_hosts WHERE asset_key = ?`,
      ),
      asset: db.prepare(`SELECT seq, identified_by FROM assets WHERE asset_key = ?`),
      insertAsset: db.prepare(`INSERT INTO assets (asset_key) VALUES (?)`),
      setIdentifiedBy: db.prepare(
        `UPDATE assets SET identified_by = ?, dirty = 1 WHERE asset_key = ?`,
      ),
      markDirty: db.prepare(`UPDATE assets SET dirty = 1 WHERE asset_key = ? AND dirty = 0`),
      deleteAsset: db.prepare(`DELETE FROM assets WHERE asset_key = ?`),
      insertHost: db.prepare(
        `INSERT INTO asset_hosts (subscription, host_id, asset_key, identifiers) VALUES (?, ?, ?, ?)`,
      ),
      updateHost: db.prepare(`UPDATE asset_hosts SET asset_key = ?, identifiers = ? WHERE seq = ?`),
      moveHosts: db.prepare(`UPDATE asset_hosts SET asset_key = ? WHERE asset_key = ?`),
      moveFindings: db.prepare(`UPDATE findings SET asset_key = ? WHERE asset_key = ?`),
      moveHostFindings: db.prepare(
        `UPDATE findings SET asset_key = ? WHERE asset_key = ? AND subscription = ? AND host_id = ?`,
      ),
      deleteIdentifiers: db.prepare(
        `DELETE FROM host_identifiers WHERE subscription = ? AND host_id = ?`,
      ),
      insertIdentifier: db.prepare(
        `INSERT INTO host_identifiers (rule, value, subscription, host_id) VALUES (?, ?, ?, ?)`,
      ),
    };
  }

  resolve(subscription: string, hostId: string, host: unknown): string {
    const identity = IdentificationRules.identify(subscription, host);
    const identifiers = JSON.stringify(Object.fromEntries([...identity.values].sort()));
    const known = this.s.host.get(subscription, hostId) as HostRow | undefined;
    if (known && known.identifiers === identifiers) return known.asset_key;

    const matches = this.matches(identity, known);
    const absorbed = new Set<string>();
    const target =
      matches.length === 0
        ? this.createAsset(subscription, hostId)
        : this.merge(matches, known, absorbed);
    if (known) {
      if (known.asset_key !== target && !absorbed.has(known.asset_key)) {
        // Its identifiers now say another asset: the host and its findings move there.
        this.s.moveHostFindings.run(target, known.asset_key, subscription, hostId);
        this.s.markDirty.run(known.asset_key);
        this.stats.hostsMoved++;
      }
      this.s.updateHost.run(target, identifiers, known.seq);
      this.s.deleteIdentifiers.run(subscription, hostId);
    } else {
      this.s.insertHost.run(subscription, hostId, target, identifiers);
      if (matches.length > 0) this.stats.hostsJoined++;
    }
    for (const [rule, value] of identity.values)
      this.s.insertIdentifier.run(rule, value, subscription, hostId);
    this.s.markDirty.run(target);
    return target;
  }

  private matches(identity: HostIdentity, known: HostRow | undefined): Match[] {
    const candidates = new Set<string>();
    if (known) candidates.add(known.asset_key);
    for (const rule of this.rules.enabled) {
      const value = identity.values.get(rule.name);
      if (value === undefined) continue;
      const keys = (
        rule.scope === 'subscription'
          ? this.s.byScopedValue.pluck().all(rule.name, value, identity.subscription)
          : this.s.byValue.pluck().all(rule.name, value)
      ) as string[];
      for (const k of keys) candidates.add(k);
    }
    const matches: Match[] = [];
    for (const key of candidates) {
      // The host's own previous identifiers count: its host ID still identifies it.
      const hosts = (this.s.hostsOf.all(key) as HostRow[]).map(toIdentity);
      const decision = this.rules.decide([identity], hosts);
      if (!decision?.equal) continue;
      const asset = this.s.asset.get(key) as { seq: number; identified_by: string | null };
      matches.push({
        key,
        rule: decision.rule,
        seq: asset.seq,
        identifiedBy: asset.identified_by,
        hosts,
      });
    }
    return matches.sort(
      (a, b) => this.rules.precedence(a.rule) - this.rules.precedence(b.rule) || a.seq - b.seq,
    );
  }

  /**
   * Joins the best match and every other match compatible with it; returns the survivor and
   * adds the assets merged into it to `absorbed`.
   */
  private merge(matches: Match[], known: HostRow | undefined, absorbed: Set<string>): string {
    const cluster = [matches[0]];
    const hosts = [...matches[0].hosts];
    for (const m of matches.slice(1)) {
      const decision = this.rules.decide(hosts, m.hosts);
      if (decision && !decision.equal) continue;
      cluster.push(m);
      hosts.push(...m.hosts);
    }
    const survivor = cluster.reduce((a, b) => (b.seq < a.seq ? b : a));
    // The rules that recognised different hosts as one: existing merges, plus this host joining
    // any asset it was not already part of.
    const rules = cluster.flatMap((m) => [
      m.identifiedBy,
      m.key === known?.asset_key ? null : m.rule,
    ]);
    const identifiedBy = this.best(rules);
    for (const m of cluster) {
      if (m.key === survivor.key) continue;
      this.s.moveHosts.run(survivor.key, m.key);
      this.s.moveFindings.run(survivor.key, m.key);
      this.s.deleteAsset.run(m.key);
      absorbed.add(m.key);
      this.stats.assetsMerged++;
    }
    if (identifiedBy !== survivor.identifiedBy)
      this.s.setIdentifiedBy.run(identifiedBy, survivor.key);
    return survivor.key;
  }

  private best(rules: ReadonlyArray<string | null>): string | null {
    const named = rules.filter((r): r is string => r !== null);
    if (named.length === 0) return null;
    return named.reduce((a, b) => (this.rules.precedence(b) < this.rules.precedence(a) ? b : a));
  }

  /** Keys derive from the founding host, so the same input always yields the same keys. */
  private createAsset(subscription: string, hostId: string): string {
    for (let n = 0; ; n++) {
      const seed = `${subscription}\n${hostId}${n === 0 ? '' : `\n${n}`}`;
      const key = `vmdr-${crypto.createHash('sha1').update(seed).digest('hex').slice(0, 16)}`;
      if (this.s.asset.get(key) === undefined) {
        this.s.insertAsset.run(key);
        this.stats.assetsCreated++;
        return key;
      }
    }
  }
}

function toIdentity(row: HostRow): HostIdentity {
  return {
    subscription: row.subscription,
    values: new Map(Object.entries(JSON.parse(row.identifiers))),
  };
}
