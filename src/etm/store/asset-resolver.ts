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

import { AssetIdentity } from '../converter';
import { HostIdentity, IdentificationRules } from '../identification-rules';
import { padded, repeated } from './batches';
import { DirtyAssets } from './dirty-assets';
import { HostCache } from './host-cache';
import { Sql } from './sql';

interface HostRow {
  seq: number;
  subscription: string;
  host_id: string;
  asset_key: string;
  identifiers: string;
  purged_at: string | null;
}

/** A host as SQL.host reads it: with its attributes and its asset's seq, for the writer. */
interface KnownHost extends HostRow {
  attributes: string;
  asset_seq: number;
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

/** Hosts read ahead per statement (2 parameters each). */
const PREFETCH = 512;

/** Candidates per identifier are capped: an identifier shared that widely identifies nothing. */
const CANDIDATE_LIMIT = 100;

const SQL = {
  host: `SELECT h.seq, h.subscription, h.host_id, h.asset_key, h.identifiers, h.purged_at,
                h.attributes, a.seq AS asset_seq
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE h.subscription = ? AND h.host_id = ?`,
  // The same, for many hosts at once: (subscription, host_id) pairs as an OR of equalities,
  // which both engines answer from the (subscription, host_id) index.
  hosts: (n: number) => `SELECT h.seq, h.subscription, h.host_id, h.asset_key, h.identifiers,
                h.purged_at, h.attributes, a.seq AS asset_seq
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE ${repeated(n, '(h.subscription = ? AND h.host_id = ?)', ' OR ')}`,
  hostsOf: `SELECT seq, subscription, host_id, asset_key, identifiers, purged_at FROM asset_hosts
          WHERE asset_key = ? AND purged_at IS NULL`,
  restoreHost: `UPDATE asset_hosts SET purged_at = NULL WHERE seq = ?`,
  asset: `SELECT seq, identified_by FROM assets WHERE asset_key = ?`,
  insertAsset: `INSERT INTO assets (asset_key) VALUES (?) ON CONFLICT (asset_key) DO NOTHING RETURNING seq`,
  setIdentifiedBy: `UPDATE assets SET identified_by = ?, dirty = 1 WHERE asset_key = ?`,
  deleteAsset: `DELETE FROM assets WHERE asset_key = ?`,
  insertHost: `INSERT INTO asset_hosts (subscription, host_id, asset_key, identifiers) VALUES (?, ?, ?, ?)
               RETURNING seq`,
  updateHost: `UPDATE asset_hosts SET asset_key = ?, identifiers = ? WHERE seq = ?`,
  moveHosts: `UPDATE asset_hosts SET asset_key = ? WHERE asset_key = ?`,
  moveFindings: `UPDATE findings SET asset_seq = ? WHERE asset_seq = ?`,
  moveHostFindings: `UPDATE findings SET asset_seq = ? WHERE asset_seq = ? AND host_seq = ?`,
  recordMerge: `INSERT INTO asset_merges (asset_key, kind, subscription, host_id, matched_subscription,
           matched_host_id, rule, value, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  moveMerges: `UPDATE asset_merges SET asset_key = ? WHERE asset_key = ?`,
  // PostgreSQL only (data-modifying WITH): when the candidate lookup finds nothing,
  // insertAsset, insertHost and insertIdentifiers, all in one statement.
  createUnmatched: (candidates: string) => `WITH c AS (${candidates}),
          a AS (
            INSERT INTO assets (asset_key) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM c)
            ON CONFLICT (asset_key) DO NOTHING RETURNING seq, asset_key),
          h AS (
            INSERT INTO asset_hosts (subscription, host_id, asset_key, identifiers)
            SELECT ?, ?, asset_key, ? FROM a RETURNING seq),
          i AS (
            INSERT INTO host_identifiers (rule, value, host_seq)
            SELECT x.rule, x.value, h.seq FROM h, unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS x(rule, value))
          SELECT a.seq AS asset_seq, h.seq AS host_seq FROM a, h`,
};

export class AssetResolver implements AssetIdentity {
  readonly stats: ResolverStats = emptyResolverStats();

  constructor(
    private readonly sql: Sql,
    private readonly rules: IdentificationRules,
    private readonly dirty: DirtyAssets = new DirtyAssets(sql),
    private readonly hosts: HostCache = new HostCache(),
    /** Writes what the writer holds: run before findings or hosts move between assets. */
    private readonly settle: () => Promise<void> = async () => undefined,
  ) {}

  async resolve(subscription: string, hostId: string, host: unknown): Promise<string> {
    const { sql } = this;
    const identity = IdentificationRules.identify(subscription, host, hostId);
    const identifiers = IdentificationRules.stored(identity);
    const ahead = this.hosts.take<KnownHost>(subscription, hostId);
    const known =
      ahead === undefined
        ? await sql.get<KnownHost>(SQL.host, [subscription, hostId])
        : (ahead ?? undefined);
    if (known && known.identifiers === identifiers && known.purged_at === null) {
      // Unchanged, so still the row: the host's next record (detections: one per detection) takes it.
      if (ahead) this.hosts.preload(subscription, hostId, ahead);
      // Kept if already there: the writer may hold attributes patched since the row was read.
      if (!this.hosts.get(subscription, hostId)) {
        this.hosts.set(subscription, hostId, {
          seq: known.seq,
          assetKey: known.asset_key,
          assetSeq: known.asset_seq,
          attributes: known.attributes,
        });
      }
      return known.asset_key;
    }
    // Reported again after a purge: live again, so that it counts among its asset's hosts.
    if (known?.purged_at) await sql.run(SQL.restoreHost, [known.seq]);

    if (!known && sql.engine === 'postgres') {
      const created = await this.createUnmatched(subscription, hostId, identity, identifiers);
      if (created) return created;
    }
    const matches = await this.matches(identity, known);
    const absorbed = new Set<string>();
    const { key: target, seq: targetSeq } =
      matches.length === 0
        ? await this.createAsset(subscription, hostId)
        : await this.merge(identity, matches, known, absorbed);
    let hostSeq: number;
    if (known) {
      if (known.asset_key !== target && !absorbed.has(known.asset_key)) {
        await this.beforeMove();
        // Its identifiers now say another asset: the host and its findings move there.
        await sql.run(SQL.moveHostFindings, [targetSeq, known.asset_seq, known.seq]);
        await this.dirty.mark(known.asset_key);
        this.stats.hostsMoved++;
      }
      await sql.run(SQL.updateHost, [target, identifiers, known.seq]);
      await unindexHost(sql, known.seq, known.identifiers);
      hostSeq = known.seq;
    } else {
      const row = await sql.get<{ seq: number }>(SQL.insertHost, [
        subscription,
        hostId,
        target,
        identifiers,
      ]);
      hostSeq = (row as { seq: number }).seq;
      if (matches.length > 0) this.stats.hostsJoined++;
    }
    const ids = [...identity.values].flatMap(([rule, value]) => [rule, value, hostSeq]);
    if (ids.length > 0) await sql.run(insertIdentifiers(ids.length / 3), ids);
    await this.dirty.mark(target);
    const cached = this.hosts.get(subscription, hostId);
    this.hosts.set(subscription, hostId, {
      seq: hostSeq,
      assetKey: target,
      assetSeq: targetSeq,
      attributes: cached?.attributes ?? known?.attributes ?? '{}',
    });
    return target;
  }

  /**
   * A new host with no candidate asset, on PostgreSQL: the lookup, its asset, its row and its
   * identifiers in one statement (a round trip each otherwise). Undefined when there are
   * candidates, or the asset key is taken: the general path then decides, or picks the next key.
   */
  private async createUnmatched(
    subscription: string,
    hostId: string,
    identity: HostIdentity,
    identifiers: string,
  ): Promise<string | undefined> {
    const key = assetKey(subscription, hostId, 0);
    const rules = [...identity.values.keys()];
    const lookup = this.candidateQuery(identity);
    const row = await this.sql.get<{ asset_seq: number; host_seq: number }>(
      SQL.createUnmatched(lookup?.sql ?? 'SELECT NULL AS asset_key WHERE 1 = 0'),
      [
        ...(lookup?.params ?? []),
        key,
        subscription,
        hostId,
        identifiers,
        rules,
        rules.map((r) => identity.values.get(r)),
      ],
    );
    if (!row) return undefined;
    this.stats.assetsCreated++;
    this.dirty.created(key);
    this.hosts.set(subscription, hostId, {
      seq: row.host_seq,
      assetKey: key,
      assetSeq: row.asset_seq,
      attributes: '{}',
    });
    return key;
  }

  /**
   * Reads the rows of these hosts ahead, a few hundred per statement, for resolve() to take.
   * Call inside the write transaction that resolves them.
   */
  async prefetch(hosts: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (let i = 0; i < hosts.length; i += PREFETCH) {
      const chunk = hosts.slice(i, i + PREFETCH);
      for (const [subscription, hostId] of chunk) this.hosts.preload(subscription, hostId, null);
      // Padded with (NULL, NULL) pairs, which match nothing: a few statement shapes only.
      const pairs = padded(chunk);
      const rows = await this.sql.all<KnownHost>(
        SQL.hosts(pairs.length),
        pairs.flatMap((p) => (p ? [p[0], p[1]] : [null, null])),
      );
      for (const row of rows) this.hosts.preload(row.subscription, row.host_id, row);
    }
  }

  /** Held writes name assets by seq: they go to the store before an asset's content moves. */
  private async beforeMove(): Promise<void> {
    await this.settle();
    this.hosts.forget();
  }

  async knownAsset(subscription: string, hostId: string): Promise<string | undefined> {
    // Resolved in this transaction (a purge drops it from the cache), or read ahead for it.
    const cached = this.hosts.get(subscription, hostId);
    if (cached) return cached.assetKey;
    const ahead = this.hosts.peek<HostRow>(subscription, hostId);
    const known =
      ahead === undefined
        ? await this.sql.get<HostRow>(SQL.host, [subscription, hostId])
        : (ahead ?? undefined);
    return known && known.purged_at === null ? known.asset_key : undefined;
  }

  /** One statement for all the identifiers the host has under enabled rules; none without. */
  private candidateQuery(identity: HostIdentity): { sql: string; params: unknown[] } | undefined {
    const terms = this.rules.enabled.filter((r) => identity.values.has(r.name));
    if (terms.length === 0) return undefined;
    const shape = terms.map((r) => (r.scope === 'subscription' ? 's' : 'g')).join('');
    const params = terms.flatMap((r) => {
      const value = identity.values.get(r.name);
      return r.scope === 'subscription' ? [r.name, value, identity.subscription] : [r.name, value];
    });
    return { sql: candidateLookup(shape), params };
  }

  private async matches(identity: HostIdentity, known: HostRow | undefined): Promise<Match[]> {
    const candidates = new Set<string>();
    if (known) candidates.add(known.asset_key);
    const lookup = this.candidateQuery(identity);
    if (lookup) {
      const rows = await this.sql.all<{ asset_key: string }>(lookup.sql, lookup.params);
      for (const { asset_key } of rows) candidates.add(asset_key);
    }
    const matches: Match[] = [];
    for (const key of candidates) {
      // The host's own previous identifiers count: its host ID still identifies it.
      const hosts = (await this.sql.all<HostRow>(SQL.hostsOf, [key])).map(toIdentity);
      const decision = this.rules.decide([identity], hosts);
      if (!decision?.equal) continue;
      const asset = (await this.sql.get<{ seq: number; identified_by: string | null }>(SQL.asset, [
        key,
      ])) as { seq: number; identified_by: string | null };
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
  private async merge(
    identity: HostIdentity,
    matches: Match[],
    known: HostRow | undefined,
    absorbed: Set<string>,
  ): Promise<{ key: string; seq: number }> {
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
      await this.sql.run(SQL.recordMerge, [
        survivor.key,
        m === cluster[0] ? 'joined' : 'linked',
        identity.subscription,
        identity.hostId,
        m.matched.subscription,
        m.matched.hostId,
        m.rule,
        m.value,
        at,
      ]);
      this.stats.joinsByRule[m.rule] = (this.stats.joinsByRule[m.rule] ?? 0) + 1;
    }
    if (cluster.length > 1) await this.beforeMove();
    for (const m of cluster) {
      if (m.key === survivor.key) continue;
      await this.sql.run(SQL.moveMerges, [survivor.key, m.key]);
      await this.sql.run(SQL.moveHosts, [survivor.key, m.key]);
      await this.sql.run(SQL.moveFindings, [survivor.seq, m.seq]);
      await this.sql.run(SQL.deleteAsset, [m.key]);
      absorbed.add(m.key);
      this.stats.assetsMerged++;
    }
    if (identifiedBy !== survivor.identifiedBy)
      await this.sql.run(SQL.setIdentifiedBy, [identifiedBy, survivor.key]);
    return { key: survivor.key, seq: survivor.seq };
  }

  private best(rules: ReadonlyArray<string | null>): string | null {
    const named = rules.filter((r): r is string => r !== null);
    if (named.length === 0) return null;
    return named.reduce((a, b) => (this.rules.precedence(b) < this.rules.precedence(a) ? b : a));
  }

  /** Keys derive from the founding host, so the same input always yields the same keys. */
  private async createAsset(
    subscription: string,
    hostId: string,
  ): Promise<{ key: string; seq: number }> {
    for (let n = 0; ; n++) {
      const key = assetKey(subscription, hostId, n);
      // Nothing returned: the key is taken, so the next seed is tried.
      const created = await this.sql.get<{ seq: number }>(SQL.insertAsset, [key]);
      if (created) {
        this.stats.assetsCreated++;
        // Created dirty (the column's default): no mark to write.
        this.dirty.created(key);
        return { key, seq: created.seq };
      }
    }
  }
}

/** The n-th candidate key of an asset founded by this host (n > 0 after a collision). */
function assetKey(subscription: string, hostId: string, n: number): string {
  const seed = `${subscription}\n${hostId}${n === 0 ? '' : `\n${n}`}`;
  return `vmdr-${crypto.createHash('sha1').update(seed).digest('hex').slice(0, 16)}`;
}

/**
 * Removes a host's rows from the identifier index, given its asset_hosts.identifiers (JSON): for a
 * host whose identifiers changed, or one purged (store/host-purge.ts).
 */
export async function unindexHost(sql: Sql, hostSeq: number, identifiers: string): Promise<void> {
  for (const [rule, value] of IdentificationRules.indexed(identifiers)) {
    await sql.run(`DELETE FROM host_identifiers WHERE rule = ? AND value = ? AND host_seq = ?`, [
      rule,
      value,
      hostSeq,
    ]);
  }
}

/**
 * `shape`: one letter per rule, s = compared within the subscription, g = across all. A UNION ALL
 * of indexed lookups: SQLite's multi-index OR plan for the same question is far slower here.
 */
function candidateLookup(shape: string): string {
  return [...shape]
    .map(
      (
        k,
        n,
      ) => `SELECT * FROM (SELECT h.asset_key FROM host_identifiers i JOIN asset_hosts h ON h.seq = i.host_seq
                WHERE i.rule = ? AND i.value = ?${k === 's' ? ' AND h.subscription = ?' : ''}
                LIMIT ${CANDIDATE_LIMIT}) c${n}`,
    )
    .join(' UNION ALL ');
}

function insertIdentifiers(n: number): string {
  return `INSERT INTO host_identifiers (rule, value, host_seq) VALUES ${repeated(n, '(?, ?, ?)')}`;
}

function toIdentity(row: HostRow): HostIdentity {
  return IdentificationRules.fromStored(row.subscription, row.host_id, row.identifiers);
}
