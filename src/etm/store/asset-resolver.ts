/**
 * Resolves a Qualys host (subscription + host ID + identifiers) to its asset, in the store.
 *
 * Candidates are the assets holding a host with an equal identifier under some enabled rule
 * (indexed lookups). A candidate matches when the identification rules' first applicable rule
 * says equal. The host joins the best match (highest-precedence deciding rule, then the oldest
 * asset); other matching assets that do not conflict with it are merged in too, since this host
 * links them — which makes the result independent of the order hosts arrive in. The oldest asset
 * of a merge keeps its key. A host whose identifiers have not changed skips all of this.
 *
 * A purged host (store/host-purge.ts) has no identifiers indexed and is left out of its asset's
 * hosts, so it matches nothing; reported again, it is live again and resolved like a host whose
 * identifiers changed — its host ID still leads it back to its asset.
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
  purged_at: string | null;
}

interface Match {
  readonly key: string;
  readonly rule: string;
  /** The value the rule found equal, and the asset's host that has it. */
  readonly value: string;
  readonly matched: HostIdentity;
  readonly seq: number;
  readonly identifiedBy: string | null;
  readonly hosts: HostIdentity[];
}

export const emptyResolverStats = (): ResolverStats => ({
  assetsCreated: 0,
  hostsJoined: 0,
  assetsMerged: 0,
  hostsMoved: 0,
  joinsByRule: {},
});

export interface ResolverStats {
  assetsCreated: number;
  /** New hosts recognised as an asset already known (from another subscription, say). */
  hostsJoined: number;
  assetsMerged: number;
  hostsMoved: number;
  /** Merge records written (a host joining an asset, or linking two), per deciding rule. */
  joinsByRule: Record<string, number>;
}

/** Candidates per identifier are capped: an identifier shared that widely identifies nothing. */
const CANDIDATE_LIMIT = 100;

export class AssetResolver implements AssetIdentity {
  readonly stats: ResolverStats = emptyResolverStats();
  private readonly s: Record<string, Statement>;
  private readonly shaped = new Map<string, Statement>();
  private readonly unindex: (hostSeq: number, identifiers: string) => void;

  constructor(
    private readonly db: Db,
    private readonly rules: IdentificationRules,
  ) {
    this.s = {
      host: db.prepare(
        `SELECT seq, subscription, host_id, asset_key, identifiers, purged_at FROM asset_hosts
          WHERE subscription = ? AND host_id = ?`,
      ),
      hostsOf: db.prepare(
        `SELECT seq, subscription, host_id, asset_key, identifiers, purged_at FROM asset_hosts
          WHERE asset_key = ? AND purged_at IS NULL`,
      ),
      restoreHost: db.prepare(`UPDATE asset_hosts SET purged_at = NULL WHERE seq = ?`),
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
      moveFindings: db.prepare(`UPDATE findings SET asset_seq = ? WHERE asset_seq = ?`),
      moveHostFindings: db.prepare(
        `UPDATE findings SET asset_seq = ? WHERE asset_seq = ? AND host_seq = ?`,
      ),
      recordMerge: db.prepare(
        `INSERT INTO asset_merges (asset_key, kind, subscription, host_id, matched_subscription,
           matched_host_id, rule, value, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      moveMerges: db.prepare(`UPDATE asset_merges SET asset_key = ? WHERE asset_key = ?`),
    };
    this.unindex = hostUnindexer(db);
  }

  resolve(subscription: string, hostId: string, host: unknown): string {
    const identity = IdentificationRules.identify(subscription, host, hostId);
    const identifiers = IdentificationRules.stored(identity);
    const known = this.s.host.get(subscription, hostId) as HostRow | undefined;
    if (known && known.identifiers === identifiers && known.purged_at === null)
      return known.asset_key;
    // Reported again after a purge: live again, so that it counts among its asset's hosts.
    if (known?.purged_at) this.s.restoreHost.run(known.seq);

    const matches = this.matches(identity, known);
    const absorbed = new Set<string>();
    const target =
      matches.length === 0
        ? this.createAsset(subscription, hostId)
        : this.merge(identity, matches, known, absorbed);
    let hostSeq: number;
    if (known) {
      if (known.asset_key !== target && !absorbed.has(known.asset_key)) {
        // Its identifiers now say another asset: the host and its findings move there.
        this.s.moveHostFindings.run(this.seqOf(target), this.seqOf(known.asset_key), known.seq);
        this.s.markDirty.run(known.asset_key);
        this.stats.hostsMoved++;
      }
      this.s.updateHost.run(target, identifiers, known.seq);
      this.unindex(known.seq, known.identifiers);
      hostSeq = known.seq;
    } else {
      hostSeq = Number(
        this.s.insertHost.run(subscription, hostId, target, identifiers).lastInsertRowid,
      );
      if (matches.length > 0) this.stats.hostsJoined++;
    }
    const ids = [...identity.values].flatMap(([rule, value]) => [rule, value, hostSeq]);
    if (ids.length > 0) {
      const n = ids.length / 3;
      this.statement(`identifiers:${n}`, () => insertIdentifiers(n)).run(...ids);
    }
    this.s.markDirty.run(target);
    return target;
  }

  private matches(identity: HostIdentity, known: HostRow | undefined): Match[] {
    const candidates = new Set<string>();
    if (known) candidates.add(known.asset_key);
    // One statement for all the identifiers the host has under enabled rules.
    const terms = this.rules.enabled.filter((r) => identity.values.has(r.name));
    if (terms.length > 0) {
      const shape = terms.map((r) => (r.scope === 'subscription' ? 's' : 'g')).join('');
      const params = terms.flatMap((r) => {
        const value = identity.values.get(r.name);
        return r.scope === 'subscription'
          ? [r.name, value, identity.subscription]
          : [r.name, value];
      });
      const lookup = this.statement(`candidates:${shape}`, () => candidateLookup(shape));
      for (const key of lookup.pluck().all(...params) as string[]) candidates.add(key);
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
        value: decision.value as string,
        matched: (decision.between as [HostIdentity, HostIdentity])[1],
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
  private merge(
    identity: HostIdentity,
    matches: Match[],
    known: HostRow | undefined,
    absorbed: Set<string>,
  ): string {
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
    const at = new Date().toISOString();
    for (const m of cluster) {
      if (m.key === known?.asset_key) continue;
      // The first match is the asset this host joins; the others it links to that asset.
      this.s.recordMerge.run(
        survivor.key,
        m === cluster[0] ? 'joined' : 'linked',
        identity.subscription,
        identity.hostId,
        m.matched.subscription,
        m.matched.hostId,
        m.rule,
        m.value,
        at,
      );
      this.stats.joinsByRule[m.rule] = (this.stats.joinsByRule[m.rule] ?? 0) + 1;
    }
    for (const m of cluster) {
      if (m.key === survivor.key) continue;
      this.s.moveMerges.run(survivor.key, m.key);
      this.s.moveHosts.run(survivor.key, m.key);
      this.s.moveFindings.run(survivor.seq, m.seq);
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

  private seqOf(key: string): number {
    return (this.s.asset.get(key) as { seq: number }).seq;
  }

  /** Statements whose text depends on how many values they take, prepared once per shape. */
  private statement(shape: string, sql: () => string): Statement {
    let st = this.shaped.get(shape);
    if (!st) {
      st = this.db.prepare(sql());
      this.shaped.set(shape, st);
    }
    return st;
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

/**
 * `shape`: one letter per rule, s = compared within the subscription, g = across all. A UNION ALL
 * of indexed lookups: SQLite's multi-index OR plan for the same question is far slower here.
 */
/**
 * Removes a host's rows from the identifier index, given its asset_hosts.identifiers (JSON): for a
 * host whose identifiers changed, or one purged (store/host-purge.ts).
 */
export function hostUnindexer(db: Db): (hostSeq: number, identifiers: string) => void {
  const remove = db.prepare(
    `DELETE FROM host_identifiers WHERE rule = ? AND value = ? AND host_seq = ?`,
  );
  return (hostSeq, identifiers) => {
    for (const [rule, value] of IdentificationRules.indexed(identifiers)) {
      remove.run(rule, value, hostSeq);
    }
  };
}

function candidateLookup(shape: string): string {
  return [...shape]
    .map(
      (
        k,
      ) => `SELECT * FROM (SELECT h.asset_key FROM host_identifiers i JOIN asset_hosts h ON h.seq = i.host_seq
                WHERE i.rule = ? AND i.value = ?${k === 's' ? ' AND h.subscription = ?' : ''}
                LIMIT ${CANDIDATE_LIMIT})`,
    )
    .join(' UNION ALL ');
}

function insertIdentifiers(n: number): string {
  const values = Array.from({ length: n }, () => '(?, ?, ?)').join(', ');
  return `INSERT INTO host_identifiers (rule, value, host_seq) VALUES ${values}`;
}

function toIdentity(row: HostRow): HostIdentity {
  return IdentificationRules.fromStored(row.subscription, row.host_id, row.identifiers);
}
