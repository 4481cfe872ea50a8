/**
 * What the console and the CLI's `query`, `asset` and `status` read from the store, and the only
 * place their SQL lives (kept to what SQLite and PostgreSQL both speak where the store allows):
 * lists of assets or findings for a query, sorted on any attribute and paged in SQL, with their
 * total; one asset with its hosts, its findings and its TruRisk explained; one finding with every
 * host's report of it; the overview's counts; the connectors with their runs.
 */
import { VError } from 'verror';

import params from '../../../resources/etm/trurisk.json';
import { ASSET, EtmModel, FINDING, MODELS } from '../models';
import {
  CONNECTOR_COLUMNS,
  ConnectorRow,
  isAlive,
  isInterrupted,
  RunRow,
} from '../store/connectors';
import { EtmStore } from '../store/database';
import { Dialect } from '../store/dialect';
import { FINDING_COLUMNS, FINDINGS_FROM, FindingAssembler, FindingRow } from '../store/reader';
import { Sql } from '../store/sql';
import { OPEN_FINDINGS_SQL, TruRiskAccumulator, truRiskBand } from '../trurisk';
import { CompiledQuery, compileQuery, fieldExpression, findingColumn, valueType } from './compiler';
import { parseQuery } from './parser';

/** Asset attributes shown beside each finding, so a finding names its machine. */
export const FINDING_ASSET_FIELDS = ['assetName', 'ipAddress'] as const;

export interface ListedRecord {
  readonly model: EtmModel;
  readonly record: Record<string, unknown>;
  /** Findings only: the asset's name and IP address. */
  readonly asset?: Readonly<Record<(typeof FINDING_ASSET_FIELDS)[number], unknown>>;
}

export interface ListRequest {
  readonly query: string;
  /** `field` or `field:desc`; store order when absent. */
  readonly sort?: string;
  readonly offset?: number;
  /** Undefined: every record from `offset` on. */
  readonly limit?: number;
}

export interface ListPage {
  readonly model: EtmModel;
  readonly total: number;
  readonly offset: number;
  readonly rows: ListedRecord[];
}

/** A cell of a listed record: its attribute, or, for a finding, its asset's name or IP. */
export function listedValue(row: ListedRecord, column: string): unknown {
  if (row.asset && column in row.asset) return row.asset[column as 'assetName'];
  return row.record[column];
}

/** The columns a list may show and sort on. */
export function listColumns(model: EtmModel): string[] {
  const own = [...MODELS[model].attributes.keys()];
  return model === FINDING ? [...FINDING_ASSET_FIELDS, ...own] : own;
}

/** A list's default columns: the model's table columns; findings name their asset first. */
export function defaultColumns(model: EtmModel): string[] {
  const columns = [...MODELS[model].tableColumns];
  if (model === FINDING) columns.splice(1, 0, ...FINDING_ASSET_FIELDS);
  return columns;
}

/** `a,b` checked against the model's list columns; the default columns when absent. */
export function chosenColumns(model: EtmModel, list: string | undefined): string[] {
  if (list === undefined || list.trim() === '') return defaultColumns(model);
  const known = listColumns(model);
  const columns = list
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const unknown = columns.filter((c) => !known.includes(c));
  if (unknown.length > 0) {
    throw new VError(
      'columns: unknown %s field %s (fields: %s)',
      model,
      unknown.join(', '),
      known.join(', '),
    );
  }
  return columns;
}

const assetOnFinding = (d: Dialect): string =>
  `${d.field('fa.record', 'assetName', 'text')} AS asset_name, ${d.field('fa.record', 'ipAddress', 'text')} AS asset_ip`;

interface ListedFindingRow extends FindingRow {
  id: number;
  asset_name: unknown;
  asset_ip: unknown;
}

interface SortRequest {
  readonly field: string;
  readonly desc: boolean;
}

/** An ORDER BY expression, with the materialised per-QID or per-asset values it reads. */
interface Sort {
  readonly expr: string;
  readonly desc: boolean;
  readonly with?: string;
  readonly join?: string;
  /**
   * A findings column indexed as (column, asset) over every current finding, of which the sort's
   * value is a function: the score, severity or status itself, or the QID of a per-QID value.
   */
  readonly byValue?: string;
  /** Ties of the value broken by this first (the QID), then by the list's own order. */
  readonly then?: string;
}

/**
 * Findings columns whose index among current findings (store/schema.ts) starts (column,
 * asset_seq): valuePage walks a sort on one of them value by value, either way.
 */
const INDEXED_BY_VALUE: ReadonlySet<string> = new Set(['f.score', 'f.severity', 'f.status']);

function parseSort(model: EtmModel, text: string | undefined): SortRequest | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::(asc|desc))?$/i.exec(text.trim());
  if (!m) throw new VError('sort: expected FIELD or FIELD:desc, not %j', text);
  const [, field, dir] = m;
  if (!listColumns(model).includes(field)) {
    throw new VError(
      'sort: unknown %s field %j (fields: %s)',
      model,
      field,
      listColumns(model).join(', '),
    );
  }
  return { field, desc: dir?.toLowerCase() === 'desc' };
}

/**
 * How findings sort on an attribute. Conditions read a per-QID or asset attribute out of its JSON
 * for each finding; a sort over a million findings would parse a million documents, so the
 * values are extracted once per QID (or asset) into a materialised table joined by key, and a
 * detection attribute is read at its position in each layout.
 */
async function findingSort(
  sql: Sql,
  d: Dialect,
  request: SortRequest,
  qidHas: (field: string) => Promise<boolean>,
): Promise<Sort> {
  const { field, desc } = request;
  const type = valueType(MODELS[FINDING].attributes.get(field)?.type ?? 'string');
  if ((FINDING_ASSET_FIELDS as ReadonlyArray<string>).includes(field)) {
    return {
      expr: d.sortable('sa.value', 'text'),
      desc,
      with: `sa AS MATERIALIZED (SELECT seq, ${d.field('record', field, 'text')} AS value FROM assets)`,
      join: 'LEFT JOIN sa ON sa.seq = f.asset_seq',
    };
  }
  const stored = findingColumn(field);
  if (stored?.computed) return { expr: d.sortable(stored.computed, 'text'), desc };
  const qid = {
    with: `sv AS MATERIALIZED (SELECT vulnerability_key AS k, ${d.field('record', field, type)} AS value FROM vulnerabilities)`,
    join: 'LEFT JOIN sv ON sv.k = f.vulnerability_key',
  };
  if (stored?.column) {
    // The column alone when no QID has the attribute (the default transform map): the findings'
    // indexes on their columns (store/schema.ts) then serve the sort.
    if (!(await qidHas(field)))
      return {
        expr: d.sortable(stored.column, type),
        desc,
        byValue: INDEXED_BY_VALUE.has(stored.column) ? stored.column : undefined,
      };
    return { expr: d.sortable(`coalesce(${stored.column}, sv.value)`, type), desc, ...qid };
  }
  const layouts = await sql.all<{ layout: number; path: string }>(
    `SELECT layout, path FROM layout_fields WHERE name = ? ORDER BY layout`,
    [field],
  );
  const value = type === 'json' && d.engine === 'postgres' ? 'sv.value::text' : 'sv.value';
  // A value of the QID alone (its name, CVSS, CVEs; sourceVulnerabilityId): the findings' QID
  // index serves the sort, QID by QID in the order of their values.
  if (layouts.length === 0)
    return {
      expr: d.sortable(value, type),
      desc,
      ...qid,
      byValue: 'f.vulnerability_key',
      then: 'f.vulnerability_key',
    };
  // Paths are `$[i]` (store/layouts.ts).
  const positions = layouts
    .map(
      (l) =>
        `WHEN ${Number(l.layout)} THEN ${d.element('f.record', Number(/\d+/.exec(l.path)?.[0]), type)}`,
    )
    .join(' ');
  return {
    // The detection's value wins over the QID's, as in its record (store/reader.ts).
    expr: d.sortable(`coalesce(CASE f.layout ${positions} END, ${value})`, type),
    desc,
    ...qid,
  };
}

/**
 * The joins of FINDINGS_FROM that these expressions use: a count or a sort that reads only the
 * findings table skips a lookup per finding in three other tables (4× faster on 1M findings).
 * Every finding has its asset and host, so leaving out their inner joins drops no row.
 */
function findingsFrom(...sql: string[]): string {
  const uses = (alias: string): boolean => sql.some((x) => new RegExp(`\\b${alias}\\.`).test(x));
  return [
    'findings f',
    uses('fa') ? 'JOIN assets fa ON fa.seq = f.asset_seq' : '',
    uses('h') ? 'JOIN asset_hosts h ON h.seq = f.host_seq' : '',
    uses('v') ? 'LEFT JOIN vulnerabilities v ON v.vulnerability_key = f.vulnerability_key' : '',
  ]
    .filter((j) => j !== '')
    .join(' ');
}

/**
 * The ids of a compiled query's records in list order, from `offset`, at most `limit`. Only ids
 * go through the sort, so that a deep page does not hold every earlier row's JSON in the sorter.
 */
function idsSql(compiled: CompiledQuery, sort: Sort | undefined, paged: boolean): string {
  const asset = compiled.model === ASSET;
  const tie = asset ? 'a.seq' : 'f.asset_seq, f.detection_key';
  const then = sort?.then ? `${sort.then}, ` : '';
  const order = sort ? `${sort.expr} ${sort.desc ? 'DESC' : 'ASC'} NULLS LAST, ${then}${tie}` : tie;
  const page = paged ? ' LIMIT ? OFFSET ?' : '';
  const from = asset ? 'assets a' : findingsFrom(compiled.where, order);
  const where = asset
    ? `a.record IS NOT NULL AND (${compiled.where})`
    : `f.current = 1 AND (${compiled.where})`;
  return `${sort?.with ? `WITH ${sort.with} ` : ''}SELECT ${asset ? 'a.seq' : 'f.id'} AS id FROM ${from}
    ${sort?.join ?? ''} WHERE ${where} ORDER BY ${order}${page}`;
}

/**
 * Whether a query is of findings with a condition that reads no column of a finding, its asset,
 * host or QID (such as `finding.vendorProductName: VMDR`): every current finding, in the
 * indexes' order and counts.
 */
function everyCurrentFinding(compiled: CompiledQuery): boolean {
  return compiled.model === FINDING && !/\b(f|fa|h|v)\./.test(compiled.where);
}

/**
 * Whether a findings sort's value reads only the finding's asset (its key or record) or host:
 * what groupedPage's counts per (severity, asset, host) can place.
 */
function perAssetOrHost(sort: Sort): boolean {
  const value = [sort.expr, sort.join ?? ''];
  const columns = value.flatMap((x) => [...x.matchAll(/\bf\.([a-z_]+)/g)].map((m) => m[1]));
  return (
    columns.every((c) => c === 'asset_seq' || c === 'host_seq') &&
    !value.some((x) => /\b(v|sv)\./.test(x))
  );
}

/** The records of these ids (one placeholder each), in any order. */
function rowsSql(d: Dialect, model: EtmModel, ids: number): string {
  const list = Array.from({ length: ids }, () => '?').join(', ');
  return model === ASSET
    ? `SELECT a.seq AS id, a.record FROM assets a WHERE a.seq IN (${list})`
    : `SELECT f.id, ${FINDING_COLUMNS}, ${assetOnFinding(d)} FROM ${FINDINGS_FROM} WHERE f.id IN (${list})`;
}

function countSql(compiled: CompiledQuery): string {
  return compiled.model === ASSET
    ? `SELECT COUNT(*) AS n FROM assets a WHERE a.record IS NOT NULL AND (${compiled.where})`
    : `SELECT COUNT(*) AS n FROM ${findingsFrom(compiled.where)} WHERE f.current = 1 AND (${compiled.where})`;
}

/** Records fetched per statement once their ids are known. */
const FETCH = 200;
/** Sorted results whose ids are kept for paging (8 bytes per record). */
const ID_LISTS = 4;
/** From this offset on, a page comes from the sorted ids rather than a LIMIT … OFFSET. */
const DEEP_PAGE = 1000;

export interface HostView {
  readonly subscription: string;
  readonly hostId: string;
  readonly assetName: unknown;
  readonly ipAddress: unknown;
  readonly assetCriticalityScore: unknown;
  readonly lastScanned: string | null;
  readonly purgedAt: string | null;
  /** The comparable value of each identification rule, as last reported. */
  readonly identifiers: Record<string, string>;
}

export interface TruRiskBandTerm {
  readonly name: string;
  readonly minScore: number;
  readonly weight: number;
  readonly count: number;
  readonly average: number | null;
  /** weight × average × count^exponent; 0 for an empty band. */
  readonly term: number;
}

export interface TruRiskExplanation {
  readonly criticality: number;
  /** `host`: the highest ASSET_CRITICALITY_SCORE of these hosts; `default`: none reported one. */
  readonly criticalityFrom: 'host' | 'default';
  readonly criticalityHosts: { subscription: string; hostId: string }[];
  readonly countExponent: number;
  readonly maxScore: number;
  readonly bands: TruRiskBandTerm[];
  readonly openFindings: number;
  readonly score: number;
  readonly band: string;
  readonly storedScore: number | null;
  readonly vendorScore: unknown;
  readonly formula: string;
}

export interface AssetView {
  readonly record: Record<string, unknown>;
  readonly hosts: HostView[];
  readonly identifiedBy: string | null;
  readonly findings: number;
  readonly truRisk: TruRiskExplanation;
}

export interface FindingReport {
  readonly subscription: string;
  readonly hostId: string;
  readonly current: boolean;
  readonly hostPurgedAt: string | null;
  readonly record: Record<string, unknown>;
}

/** A status a host's report of a finding took (store/schema.ts, finding_history). */
export interface StatusChange {
  readonly subscription: string;
  readonly hostId: string;
  /** The run of the host's subscription that stored it; null outside a run. */
  readonly run: number | null;
  readonly runStartedAt: string | null;
  /** Null: the first status stored. */
  readonly from: string | null;
  readonly to: string | null;
  /** Null: the status the finding had when the store began to keep its history. */
  readonly at: string | null;
}

export interface FindingView {
  readonly record: Record<string, unknown>;
  readonly asset: Record<string, unknown>;
  /** Every host's report of this finding; the current one first. */
  readonly reports: FindingReport[];
  /** Every status its reports took, oldest first. */
  readonly history: StatusChange[];
}

export interface RunView {
  readonly id: number;
  readonly connector: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly status: string;
  readonly error: string | null;
  readonly summary: Record<string, unknown> | null;
}

export interface ConnectorView {
  readonly name: string;
  readonly status: string;
  readonly interrupted: boolean;
  readonly statusAt: string;
  readonly baseUrl: string | null;
  readonly username: string | null;
  readonly configPath: string | null;
  readonly profile: string | null;
  readonly registeredAt: string;
  readonly scheduledAt: string | null;
  readonly nextRunAt: string | null;
  readonly processingAt: string | null;
  readonly processedAt: string | null;
  readonly failedAt: string | null;
  readonly lastError: string | null;
  /** The last committed checkpoint. */
  readonly stateSavedAt: string | null;
  /** Processing or Scheduled: whether the etm process syncing or scheduling it is alive. */
  readonly processAlive: boolean | null;
  /** Its live hosts committed to the store: grows checkpoint by checkpoint during a sync. */
  readonly hostsStored: number;
  readonly runs: RunView[];
}

export interface RunChanges {
  readonly id: number;
  readonly connector: string;
  readonly finishedAt: string | null;
  readonly status: string;
  readonly new: number;
  readonly fixed: number;
  readonly reopened: number;
}

export interface Overview {
  readonly assets: number;
  readonly findings: number;
  readonly assetsByBand: Record<string, number>;
  readonly findingsBySeverity: Record<string, Record<string, number>>;
  readonly findingsByStatus: Record<string, number>;
  readonly runs: RunChanges[];
  readonly riskiest: Record<string, unknown>[];
}

// Bands high to low: OPEN_FINDINGS_SQL.band numbers them in this order (trurisk.ts).
const BANDS = [...params.detectionBands].sort((a, b) => b.minScore - a.minScore);
const RUNS_SHOWN = 10;

/** Checks a query and a sort without a store; returns the model the query lists. */
export function listModel(request: ListRequest): EtmModel {
  const compiled = compileQuery(parseQuery(request.query));
  parseSort(compiled.model, request.sort);
  return compiled.model;
}

export class ReadModel {
  /** Totals and the overview, until the store changes (storeVersion). */
  private readonly cache = new Map<string, unknown>();
  private cachedVersion: unknown;
  private readonly idLists = new Map<string, Float64Array>();
  private readonly sql: Sql;
  private readonly d: Dialect;

  /** `deepPage`: from this offset on, pages come from an index walk or the sorted ids. */
  constructor(
    store: EtmStore,
    private readonly deepPage = DEEP_PAGE,
  ) {
    this.sql = store.sql;
    this.d = store.dialect;
  }

  /**
   * A value computed once per state of the store: paging through a result counts it once, and
   * the counts change only when a sync commits.
   */
  private async cached<T>(key: string, compute: () => Promise<T>): Promise<T> {
    await this.forgetIfChanged();
    if (this.cache.size > 200) this.cache.clear();
    if (!this.cache.has(key)) this.cache.set(key, await compute());
    return this.cache.get(key) as T;
  }

  /** Drops what was computed before a writer committed (storeVersion). */
  private async forgetIfChanged(): Promise<void> {
    const version = await storeVersion(this.sql);
    if (version === this.cachedVersion) return;
    this.cache.clear();
    this.idLists.clear();
    this.cachedVersion = version;
  }

  private prepare(request: ListRequest): {
    compiled: CompiledQuery;
    sort: SortRequest | undefined;
  } {
    const compiled = compileQuery(parseQuery(request.query), undefined, this.d);
    return { compiled, sort: parseSort(compiled.model, request.sort) };
  }

  async count(request: ListRequest): Promise<number> {
    const { compiled } = this.prepare(request);
    const sql = countSql(compiled);
    return this.cached(
      `count ${sql} ${JSON.stringify(compiled.params)}`,
      async () => (await this.sql.get<{ n: number }>(sql, compiled.params))?.n ?? 0,
    );
  }

  /** One page, with the query's total. */
  async page(request: ListRequest): Promise<ListPage> {
    const offset = Math.max(0, request.offset ?? 0);
    const rows: ListedRecord[] = [];
    for await (const r of this.records({ ...request, offset })) rows.push(r);
    const { compiled } = this.prepare(request);
    return { model: compiled.model, total: await this.count(request), offset, rows };
  }

  /** The records in order (a whole result goes out a few hundred at a time). */
  async *records(request: ListRequest): AsyncGenerator<ListedRecord> {
    const { compiled, sort: sortRequest } = this.prepare(request);
    const sort = sortRequest && (await this.sort(compiled.model, sortRequest));
    const offset = Math.max(0, request.offset ?? 0);
    const assembler = new FindingAssembler(this.sql);
    const limit = request.limit;
    const placed =
      limit === undefined
        ? undefined
        : ((await this.valuePage(compiled, sort, offset, limit)) ??
          (offset >= this.deepPage
            ? await this.storeOrderPage(compiled, sort, offset, limit)
            : undefined) ??
          (await this.groupedPage(compiled, sort, offset, limit)));
    if (placed) {
      yield* await this.fetch(compiled.model, placed, assembler);
      return;
    }
    const ordered = await this.orderedIds(compiled, sort, offset, limit !== undefined);
    const pageParams = [...compiled.params, limit ?? Number.MAX_SAFE_INTEGER, offset];
    const pageSql = idsSql(compiled, sort, true);
    // A page near the top: its ids kept, as the totals are, until the store changes.
    const ids =
      ordered ??
      (await this.cached(`page ${pageSql} ${JSON.stringify(pageParams)}`, async () =>
        (await this.sql.all<{ id: number }>(pageSql, pageParams)).map((r) => r.id),
      ));
    const from = ordered ? offset : 0;
    const to = limit === undefined ? ids.length : Math.min(ids.length, from + limit);
    for (let i = from; i < to; i += FETCH) {
      yield* await this.fetch(
        compiled.model,
        Array.from(ids.slice(i, Math.min(to, i + FETCH))),
        assembler,
      );
    }
  }

  /**
   * A deep page of findings in store order, when the condition reads no column (every current
   * finding): a plain OFFSET on findings_identity, not a sort of the result.
   */
  private async storeOrderPage(
    compiled: CompiledQuery,
    sort: Sort | undefined,
    offset: number,
    limit: number,
  ): Promise<number[] | undefined> {
    if (sort || !everyCurrentFinding(compiled)) return undefined;
    const rows = await this.sql.all<{ id: number }>(
      `SELECT f.id AS id FROM findings f WHERE f.current = 1 AND (${compiled.where})
        ORDER BY f.asset_seq, f.detection_key LIMIT ? OFFSET ?`,
      [...compiled.params, limit, offset],
    );
    return rows.map((r) => r.id);
  }

  /**
   * A page of findings in an order whose value depends only on the finding's asset or host
   * (asset key, name or IP address; subscription), read without sorting the result: the query's
   * findings counted per (severity, asset, host) on findings_current_by_severity_and_host (a
   * streaming aggregate of a compact index, in its order, once per state of the store), those
   * counts summed per (value, asset) group in list order, and only the findings of the page's
   * groups' assets read, in detection-key order. Undefined when the sort or the condition reads
   * anything else (then the result is sorted once, orderedIds).
   */
  private async groupedPage(
    compiled: CompiledQuery,
    sort: Sort | undefined,
    offset: number,
    limit: number,
  ): Promise<number[] | undefined> {
    if (!sort || !perAssetOrHost(sort) || !everyCurrentFinding(compiled)) return undefined;
    const onCounts = (sql: string): string => sql.replace(/\bf\.(asset_seq|host_seq)\b/g, 'c.$1');
    const value = onCounts(sort.expr);
    const where = `f.current = 1 AND (${compiled.where})`;
    // A value of the host: a group (value, asset) holds the findings of its asset's hosts of
    // that value (an asset merges hosts of several subscriptions). Else all of its asset's.
    const byHost = /\b(h\.|c\.host_seq\b)/.test(value);
    const host = byHost ? ', f.host_seq' : '';
    // The counts per host the asset materialiser keeps (20,000 rows, not 1M findings), unless a
    // store migrated to them has a host without one. Else counted on the severity index: its
    // ORDER BY, the index's, lets PostgreSQL aggregate while it reads the index instead of
    // hashing 1M entries.
    const counted = await this.cached('hosts counted', async () => {
      const row = await this.sql.get(
        'SELECT 1 AS x FROM asset_hosts WHERE current_findings IS NULL LIMIT 1',
      );
      return row === undefined;
    });
    const counts = counted
      ? `SELECT a.seq AS asset_seq, h.seq AS host_seq, h.current_findings AS n
           FROM asset_hosts h JOIN assets a ON a.asset_key = h.asset_key
          WHERE h.current_findings > 0 AND (${compiled.where})`
      : `SELECT f.severity AS severity, f.asset_seq AS asset_seq${host}, COUNT(*) AS n FROM findings f
        WHERE ${where} GROUP BY f.severity, f.asset_seq${host}
        ORDER BY f.severity DESC NULLS LAST, f.asset_seq${host}`;
    // In list order, one row per asset, or per (asset, host); consecutive rows of one value and
    // asset are one group of the list.
    const groupsSql = `WITH ${sort.with ? `${sort.with}, ` : ''}c AS (${counts})
      SELECT ${value} AS v, c.asset_seq AS a, ${byHost ? 'c.host_seq' : 'NULL'} AS s, SUM(c.n) AS n FROM c
        ${/\bfa\./.test(value) ? 'JOIN assets fa ON fa.seq = c.asset_seq' : ''} ${onCounts(sort.join ?? '')}
        ${byHost ? 'JOIN asset_hosts h ON h.seq = c.host_seq' : ''}
      GROUP BY ${byHost ? '1, 2, 3' : '1, 2'} ORDER BY 1 ${sort.desc ? 'DESC' : 'ASC'} NULLS LAST, 2`;
    const groups = await this.cached(
      `groups ${groupsSql} ${JSON.stringify(compiled.params)}`,
      async () => {
        const rows = await this.sql.all<{ v: unknown; a: number; s: unknown; n: number | string }>(
          groupsSql,
          compiled.params,
        );
        const assets: number[] = [];
        // The hosts of each group's findings, for a value of the host; undefined: all of them.
        const hostsOf: (Set<number> | undefined)[] = [];
        // before[i]: the findings in the groups ahead of group i.
        const before: number[] = [0];
        let last: string | undefined;
        for (const r of rows) {
          const key = JSON.stringify([r.v, Number(r.a)]);
          if (key !== last) {
            assets.push(Number(r.a));
            hostsOf.push(byHost ? new Set() : undefined);
            before.push(before[before.length - 1]);
            last = key;
          }
          hostsOf[hostsOf.length - 1]?.add(Number(r.s));
          before[before.length - 1] += Number(r.n);
        }
        return { assets, hostsOf, before };
      },
    );
    const { assets, hostsOf, before } = groups;
    // The group the page starts in (binary search), then the groups it needs.
    let lo = 0;
    let hi = assets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before[mid + 1] <= offset) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < assets.length && before[end] < offset + limit) end++;
    if (end === lo) return [];
    // The page's assets' findings in the list's tie order; each group takes its hosts'.
    const list = [...new Set(assets.slice(lo, end))];
    const rows = await this.sql.all<{ id: number; s: unknown; a: number }>(
      `SELECT f.id AS id, ${byHost ? 'f.host_seq' : 'NULL'} AS s, f.asset_seq AS a FROM findings f
        WHERE ${where} AND f.asset_seq IN (${list.map(() => '?').join(', ')})
        ORDER BY f.asset_seq, f.detection_key`,
      [...compiled.params, ...list],
    );
    const byAsset = new Map<number, { id: number; s: unknown }[]>();
    for (const r of rows) {
      const of = byAsset.get(Number(r.a));
      if (of) of.push(r);
      else byAsset.set(Number(r.a), [r]);
    }
    const ids: number[] = [];
    for (let g = lo; g < end; g++) {
      for (const r of byAsset.get(assets[g]) ?? [])
        if (hostsOf[g]?.has(Number(r.s)) ?? true) ids.push(r.id);
    }
    const skip = offset - before[lo];
    return ids.slice(skip, skip + limit);
  }

  /**
   * A page of findings sorted by a column with its own index (QDS, severity or status: about
   * 100, 5 and 4 values), or by a value of the QID (4,000 QIDs here, on the QID's index, in the
   * order of their values): the query's findings counted per value or QID (once per state of the
   * store), then, from the value the page starts in, each value's findings read as an
   * index range: the asset where the page starts found by an offset into the index, and that
   * value's findings from that asset on, in detection-key order. Either direction, at any offset.
   * Undefined when the condition reads a column (then the result is sorted once, orderedIds).
   */
  private async valuePage(
    compiled: CompiledQuery,
    sort: Sort | undefined,
    offset: number,
    limit: number,
  ): Promise<number[] | undefined> {
    const column = sort?.byValue;
    if (!sort || !column || !everyCurrentFinding(compiled)) return undefined;
    const where = `f.current = 1 AND (${compiled.where})`;
    const p = compiled.params;
    // Counted per value of the column, then put in the sort's order (a per-QID value joined to
    // each QID's count, not to each finding).
    const onCounts = (sql: string): string =>
      sql.replace(new RegExp(`\\b${column.replace('.', '\\.')}\\b`, 'g'), 'c.v');
    const countsSql = `WITH ${sort.with ? `${sort.with}, ` : ''}c AS (
        SELECT ${column} AS v, COUNT(*) AS n FROM findings f WHERE ${where} GROUP BY ${column})
      SELECT c.v AS v, c.n AS n FROM c ${onCounts(sort.join ?? '')}
      ORDER BY ${onCounts(sort.expr)} ${sort.desc ? 'DESC' : 'ASC'} NULLS LAST, c.v`;
    const values = await this.cached(`values ${countsSql} ${JSON.stringify(p)}`, () =>
      this.sql.all<{ v: unknown; n: number | string }>(countsSql, p),
    );
    const ids: number[] = [];
    let before = 0;
    for (const { v, n } of values) {
      if (ids.length >= limit) break;
      const skip = offset + ids.length - before;
      before += Number(n);
      if (skip >= Number(n)) continue;
      const is = v === null ? `${column} IS NULL` : `${column} = ?`;
      const vp = v === null ? [] : [v];
      const start = await this.sql.get<{ a: number }>(
        `SELECT f.asset_seq AS a FROM findings f WHERE ${where} AND ${is}
          ORDER BY f.asset_seq LIMIT 1 OFFSET ?`,
        [...p, ...vp, skip],
      );
      if (!start) break;
      const ahead = await this.sql.get<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM findings f WHERE ${where} AND ${is} AND f.asset_seq < ?`,
        [...p, ...vp, start.a],
      );
      const from = skip - Number(ahead?.n ?? 0);
      const rows = await this.sql.all<{ id: number }>(
        `SELECT f.id AS id FROM findings f WHERE ${where} AND ${is} AND f.asset_seq >= ?
          ORDER BY f.asset_seq, f.detection_key LIMIT ?`,
        [...p, ...vp, start.a, from + limit - ids.length],
      );
      ids.push(...rows.slice(from).map((r) => r.id));
    }
    return ids;
  }

  /**
   * Every id of a result in list order, for a deep page or a whole result: sorted once per state
   * of the store (the last few results are kept), so that a sort over a million findings costs
   * once, not on every page. Undefined for a page near the top, which a LIMIT reads faster,
   * unless already sorted.
   */
  private async orderedIds(
    compiled: CompiledQuery,
    sort: Sort | undefined,
    offset: number,
    paged: boolean,
  ): Promise<Float64Array | undefined> {
    const sql = idsSql(compiled, sort, false);
    const key = `${sql} ${JSON.stringify(compiled.params)}`;
    await this.forgetIfChanged();
    let ids = this.idLists.get(key);
    if (!ids && paged && offset < this.deepPage) return undefined;
    if (!ids) {
      // One statement, not a cursor: a million ids pass in one go, not a million awaits.
      const rows = await this.sql.all<{ id: number }>(sql, compiled.params);
      ids = Float64Array.from(rows, (r) => r.id);
      if (this.idLists.size >= ID_LISTS)
        this.idLists.delete(this.idLists.keys().next().value as string);
      this.idLists.set(key, ids);
    }
    return ids;
  }

  private async sort(model: EtmModel, request: SortRequest): Promise<Sort> {
    if (model === FINDING) return findingSort(this.sql, this.d, request, (f) => this.qidHas(f));
    const type = valueType(MODELS[ASSET].attributes.get(request.field)?.type ?? 'string');
    return {
      expr: this.d.sortable(fieldExpression(ASSET, request.field, this.d), type),
      desc: request.desc,
    };
  }

  /** Whether any QID's knowledge has this finding attribute (once per state of the store). */
  private qidHas(field: string): Promise<boolean> {
    const type = valueType(MODELS[FINDING].attributes.get(field)?.type ?? 'string');
    return this.cached(`qid has ${field}`, async () => {
      const row = await this.sql.get(
        `SELECT 1 AS x FROM vulnerabilities WHERE ${this.d.field('record', field, type)} IS NOT NULL LIMIT 1`,
      );
      return row !== undefined;
    });
  }

  /** The records of `ids`, in that order. */
  private async fetch(
    model: EtmModel,
    ids: number[],
    assembler: FindingAssembler,
  ): Promise<ListedRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.all<ListedFindingRow>(rowsSql(this.d, model, ids.length), ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: ListedRecord[] = [];
    for (const id of ids) {
      const r = byId.get(id) as ListedFindingRow;
      if (model === ASSET) {
        out.push({ model: ASSET, record: JSON.parse(r.record) });
        continue;
      }
      out.push({
        model: FINDING,
        record: (await assembler.record(r)).record,
        asset: { assetName: r.asset_name ?? null, ipAddress: r.asset_ip ?? null },
      });
    }
    return out;
  }

  /** Asset keys whose key, name, FQDN or IP address is `term` (case-insensitive), riskiest first. */
  async findAssets(term: string): Promise<string[]> {
    const field = (f: string): string => this.d.field('record', f, 'text');
    const rows = await this.sql.all<{ asset_key: string }>(
      `SELECT asset_key FROM assets WHERE record IS NOT NULL AND (asset_key = ?
         OR lower(${field('assetName')}) = lower(?)
         OR lower(${field('fqdn')}) = lower(?)
         OR ${field('ipAddress')} = ?)
       ORDER BY tru_risk_score DESC, asset_key LIMIT 20`,
      [term, term, term, term],
    );
    return rows.map((r) => r.asset_key);
  }

  async asset(assetKey: string): Promise<AssetView | undefined> {
    const row = await this.sql.get<{
      seq: number;
      identified_by: string | null;
      tru_risk_score: number | null;
      record: string;
    }>(
      `SELECT seq, identified_by, tru_risk_score, record FROM assets WHERE asset_key = ? AND record IS NOT NULL`,
      [assetKey],
    );
    if (!row) return undefined;
    const record = JSON.parse(row.record) as Record<string, unknown>;
    const hostRows = await this.sql.all<{
      subscription: string;
      host_id: string;
      identifiers: string;
      attributes: string;
      last_scanned: string | null;
      purged_at: string | null;
    }>(
      `SELECT subscription, host_id, identifiers, attributes, last_scanned, purged_at FROM asset_hosts
        WHERE asset_key = ? ORDER BY subscription, host_id`,
      [assetKey],
    );
    const hosts = hostRows.map((h): HostView => {
      const attributes = JSON.parse(h.attributes) as Record<string, unknown>;
      return {
        subscription: h.subscription,
        hostId: h.host_id,
        assetName: attributes.assetName ?? null,
        ipAddress: attributes.ipAddress ?? null,
        assetCriticalityScore: attributes.assetCriticalityScore ?? null,
        lastScanned: h.last_scanned,
        purgedAt: h.purged_at,
        identifiers: JSON.parse(h.identifiers) as Record<string, string>,
      };
    });
    const findings = await this.sql.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM findings WHERE asset_seq = ? AND current = 1`,
      [row.seq],
    );
    return {
      record,
      hosts,
      identifiedBy: (record.identifiedBy as string | null | undefined) ?? row.identified_by,
      findings: findings?.n ?? 0,
      truRisk: await this.explain(row.seq, record, hosts, row.tru_risk_score),
    };
  }

  /**
   * TruRisk as the asset materialiser computes it (trurisk.ts), term by term: the current open
   * findings per band, the criticality the asset's live hosts (or, all purged, its last hosts)
   * reported, and the formula with those numbers.
   */
  private async explain(
    seq: number,
    record: Record<string, unknown>,
    hosts: HostView[],
    storedScore: number | null,
  ): Promise<TruRiskExplanation> {
    const perBand = await this.sql.all<{ band: number | null; n: number; total: number }>(
      `SELECT ${OPEN_FINDINGS_SQL.band} AS band, COUNT(*) AS n, SUM(score) AS total FROM findings
        WHERE asset_seq = ? AND current = 1 AND ${OPEN_FINDINGS_SQL.where} GROUP BY 1`,
      [seq],
    );
    const risk = new TruRiskAccumulator();
    const bands: TruRiskBandTerm[] = BANDS.map((b, i) => {
      const found = perBand.find((p) => p.band === i);
      const count = found?.n ?? 0;
      if (found) risk.addBand(i, found.n, found.total);
      const average = found ? found.total / found.n : null;
      const term =
        average === null ? 0 : b.weight * average * Math.pow(count, params.countExponent);
      return { name: b.name, minScore: b.minScore, weight: b.weight, count, average, term };
    });
    const acs = record.assetCriticalityScore;
    const criticality = typeof acs === 'number' ? acs : params.defaultCriticality;
    const live = hosts.filter((h) => h.purgedAt === null);
    const scoring = live.length > 0 ? live : hosts;
    const criticalityHosts =
      typeof acs === 'number'
        ? scoring
            .filter((h) => h.assetCriticalityScore === acs)
            .map((h) => ({ subscription: h.subscription, hostId: h.hostId }))
        : [];
    const score = risk.score(typeof acs === 'number' ? acs : null);
    const used = bands.filter((b) => b.count > 0);
    const terms = used
      .map(
        (b) =>
          `${b.weight} × ${(b.average as number).toFixed(2)} × ${b.count}^${params.countExponent}`,
      )
      .join(' + ');
    const sum = used.reduce((a, b) => a + b.term, 0);
    const formula =
      used.length === 0
        ? `no open findings: ${score}`
        : `min(${params.maxScore}, round(${criticality} × (${terms}))) = min(${params.maxScore}, round(${criticality} × ${sum.toFixed(2)})) = ${score}`;
    return {
      criticality,
      criticalityFrom: typeof acs === 'number' ? 'host' : 'default',
      criticalityHosts,
      countExponent: params.countExponent,
      maxScore: params.maxScore,
      bands,
      openFindings: used.reduce((a, b) => a + b.count, 0),
      score,
      band: truRiskBand(score),
      storedScore,
      vendorScore: record.vendorTruRiskScore ?? null,
      formula,
    };
  }

  /** `assetKey/detectionKey` (the finding key): the finding and every host's report of it. */
  async finding(key: string): Promise<FindingView | undefined> {
    const slash = key.indexOf('/');
    if (slash < 0) return undefined;
    const assetKey = key.slice(0, slash);
    const detectionKey = key.slice(slash + 1);
    const rows = await this.sql.all<
      FindingRow & { id: number; current: number; purged_at: string | null; asset_record: string }
    >(
      `SELECT f.id, ${FINDING_COLUMNS}, f.current, h.purged_at, fa.record AS asset_record FROM ${FINDINGS_FROM}
        WHERE fa.asset_key = ? AND f.detection_key = ?
        ORDER BY f.current DESC, h.subscription, h.host_id`,
      [assetKey, detectionKey],
    );
    if (rows.length === 0 || rows[0].current !== 1) return undefined;
    const assembler = new FindingAssembler(this.sql);
    const reports: FindingReport[] = [];
    for (const r of rows) {
      reports.push({
        subscription: r.subscription,
        hostId: r.host_id,
        current: r.current === 1,
        hostPurgedAt: r.purged_at,
        record: (await assembler.record(r)).record,
      });
    }
    const ids = rows.map((r) => r.id);
    const history = await this.sql.all<{
      subscription: string;
      host_id: string;
      run: number | null;
      started_at: string | null;
      from_status: string | null;
      to_status: string | null;
      at: number;
    }>(
      `SELECT h.subscription, h.host_id, fh.run, r.started_at, fh.from_status, fh.to_status, fh.at
         FROM finding_history fh JOIN findings f ON f.id = fh.finding
         JOIN asset_hosts h ON h.seq = f.host_seq LEFT JOIN runs r ON r.id = fh.run
        WHERE fh.finding IN (${ids.map(() => '?').join(', ')}) ORDER BY fh.at, fh.finding`,
      ids,
    );
    return {
      record: reports[0].record,
      asset: JSON.parse(rows[0].asset_record) as Record<string, unknown>,
      reports,
      history: history.map((x) => ({
        subscription: x.subscription,
        hostId: x.host_id,
        run: x.run,
        runStartedAt: x.started_at,
        from: x.from_status,
        to: x.to_status,
        // 0: stored before the store kept a history (schema version 4).
        at: Number(x.at) > 0 ? new Date(Number(x.at)).toISOString() : null,
      })),
    };
  }

  overview(riskiest = 10): Promise<Overview> {
    return this.cached(`overview ${riskiest}`, () => this.computeOverview(riskiest));
  }

  private async computeOverview(riskiest: number): Promise<Overview> {
    const bands = await this.sql.all<{ band: string | null; n: number }>(
      `SELECT tru_risk_band AS band, COUNT(*) AS n FROM assets WHERE record IS NOT NULL GROUP BY tru_risk_band`,
    );
    const cells = await this.sql.all<{ severity: number | null; status: string | null; n: number }>(
      `SELECT severity, status, COUNT(*) AS n FROM findings WHERE current = 1 GROUP BY severity, status
        ORDER BY severity, status`,
    );
    const bySeverity: Record<string, Record<string, number>> = {};
    const byStatus: Record<string, number> = {};
    for (const c of cells) {
      const severity = c.severity === null ? 'none' : String(c.severity);
      const status = c.status ?? 'NONE';
      bySeverity[severity] = { ...bySeverity[severity], [status]: c.n };
      byStatus[status] = (byStatus[status] ?? 0) + c.n;
    }
    const top = await this.sql.all<{ record: string }>(
      `SELECT record FROM assets WHERE record IS NOT NULL ORDER BY tru_risk_score DESC, asset_key LIMIT ?`,
      [riskiest],
    );
    return {
      assets: bands.reduce((a, b) => a + b.n, 0),
      findings: cells.reduce((a, c) => a + c.n, 0),
      assetsByBand: Object.fromEntries(
        [...bands]
          .sort((a, b) => String(a.band).localeCompare(String(b.band)))
          .map((b) => [b.band ?? 'NONE', b.n]),
      ),
      findingsBySeverity: bySeverity,
      findingsByStatus: byStatus,
      runs: await this.runChanges(),
      riskiest: top.map((r) => JSON.parse(r.record) as Record<string, unknown>),
    };
  }

  /**
   * New, fixed and reopened per finished run, from its summary: host reports (detections) that
   * were new, moved to FIXED or to REOPENED, purges' closures counted as fixed.
   */
  private async runChanges(): Promise<RunChanges[]> {
    const rows = await this.sql.all<RunRow>(
      `SELECT * FROM runs WHERE summary IS NOT NULL ORDER BY id`,
    );
    return rows.map((r) => {
      const changes = (JSON.parse(r.summary as string) as { changes?: Record<string, unknown> })
        .changes;
      const moves = (changes?.statusChanges ?? {}) as Record<string, number>;
      const into = (status: string): number =>
        Object.entries(moves)
          .filter(([k]) => k.endsWith(`→${status}`))
          .reduce((a, [, v]) => a + v, 0);
      return {
        id: r.id,
        connector: r.connector,
        finishedAt: r.finished_at,
        status: r.status,
        new: Number(changes?.findingsNew ?? 0),
        fixed: into('FIXED') + Number(changes?.findingsClosedByPurge ?? 0),
        reopened: into('REOPENED'),
      };
    });
  }

  async connectors(): Promise<ConnectorView[]> {
    const list = await this.sql.all<ConnectorRow>(
      `SELECT ${CONNECTOR_COLUMNS} FROM connectors ORDER BY name`,
    );
    const out: ConnectorView[] = [];
    for (const c of list) {
      const alive = c.status === 'Processing' || c.status === 'Scheduled' ? processAlive(c) : null;
      const hosts = await this.sql.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM asset_hosts WHERE subscription = ? AND purged_at IS NULL`,
        [c.name],
      );
      const runs = await this.sql.all<RunRow>(
        `SELECT * FROM runs WHERE connector = ? ORDER BY id DESC LIMIT ${RUNS_SHOWN}`,
        [c.name],
      );
      out.push({
        name: c.name,
        status: c.status,
        interrupted: isInterrupted(c),
        statusAt: c.status_at,
        baseUrl: c.base_url,
        username: c.username,
        configPath: c.config_path,
        profile: c.profile,
        registeredAt: c.registered_at,
        scheduledAt: c.scheduled_at,
        nextRunAt: c.next_run_at,
        processingAt: c.processing_at,
        processedAt: c.processed_at,
        failedAt: c.failed_at,
        lastError: c.last_error,
        stateSavedAt: c.state_at,
        processAlive: alive,
        hostsStored: hosts?.n ?? 0,
        runs: runs.map(runView),
      });
    }
    return out;
  }
}

/**
 * What changes when a writer commits: SQLite's data_version (other connections' commits); on
 * PostgreSQL the change counter the findings triggers move once per writing transaction
 * (store/schema.ts), the runs finished and the newest asset.
 */
async function storeVersion(sql: Sql): Promise<unknown> {
  if (sql.engine === 'sqlite')
    return (await sql.get<{ data_version: number }>('PRAGMA data_version'))?.data_version;
  const row = await sql.get<{ value: string; runs: number; seq: number }>(
    `SELECT (SELECT value FROM meta WHERE key = 'data_version') AS value,
            (SELECT COUNT(summary) FROM runs) AS runs, (SELECT max(seq) FROM assets) AS seq`,
  );
  return `${row?.value}/${row?.runs}/${row?.seq}`;
}

export function runView(r: RunRow): RunView {
  return {
    id: r.id,
    connector: r.connector,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    error: r.error,
    summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null,
  };
}

/** Whether the etm process that marked a connector Processing still runs. */
function processAlive(c: ConnectorRow): boolean | null {
  return c.pid === null ? null : isAlive(c.pid);
}
