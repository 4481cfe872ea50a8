/**
 * What the console and the CLI's `query`, `asset` and `status` read from the store, and the only
 * place their SQL lives (kept to what SQLite and PostgreSQL both speak where the store allows):
 * lists of assets or findings for a query, sorted on any attribute and paged in SQL, with their
 * total; one asset with its hosts, its findings and its TruRisk explained; one finding with every
 * host's report of it; the overview's counts; the connectors with their runs.
 */
import { Statement } from 'better-sqlite3';
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
import { Db } from '../store/database';
import { FINDING_COLUMNS, FINDINGS_FROM, FindingAssembler, FindingRow } from '../store/reader';
import { SqliteSql } from '../store/sql';
import { OPEN_FINDINGS_SQL, TruRiskAccumulator, truRiskBand } from '../trurisk';
import { CompiledQuery, compileQuery, fieldExpression, findingColumn } from './compiler';
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

const ASSET_ON_FINDING = `json_extract(fa.record, '$.assetName') AS asset_name,
  json_extract(fa.record, '$.ipAddress') AS asset_ip`;

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
}

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
function findingSort(db: Db, request: SortRequest): Sort {
  const { field, desc } = request;
  if ((FINDING_ASSET_FIELDS as ReadonlyArray<string>).includes(field)) {
    return {
      expr: 'sa.value',
      desc,
      with: `sa AS MATERIALIZED (SELECT seq, json_extract(record, '$.${field}') AS value FROM assets)`,
      join: 'LEFT JOIN sa ON sa.seq = f.asset_seq',
    };
  }
  const stored = findingColumn(field);
  if (stored?.computed) return { expr: stored.computed, desc };
  const qid = {
    with: `sv AS MATERIALIZED (SELECT vulnerability_key AS k, json_extract(record, '$.${field}') AS value FROM vulnerabilities)`,
    join: 'LEFT JOIN sv ON sv.k = f.vulnerability_key',
  };
  if (stored?.column) return { expr: `coalesce(${stored.column}, sv.value)`, desc, ...qid };
  const layouts = db
    .prepare(`SELECT layout, path FROM layout_fields WHERE name = ? ORDER BY layout`)
    .all(field) as { layout: number; path: string }[];
  const positions = layouts
    .map(
      (l) =>
        `WHEN ${Number(l.layout)} THEN json_extract(f.record, '${l.path.replace(/'/g, "''")}')`,
    )
    .join(' ');
  return {
    // The detection's value wins over the QID's, as in its record (store/reader.ts).
    expr: layouts.length > 0 ? `coalesce(CASE f.layout ${positions} END, sv.value)` : 'sv.value',
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
  const order = sort ? `${sort.expr} ${sort.desc ? 'DESC' : 'ASC'} NULLS LAST, ${tie}` : tie;
  const page = paged ? ' LIMIT ? OFFSET ?' : '';
  const from = asset ? 'assets a' : findingsFrom(compiled.where, order);
  const where = asset
    ? `a.record IS NOT NULL AND (${compiled.where})`
    : `f.current = 1 AND (${compiled.where})`;
  return `${sort?.with ? `WITH ${sort.with} ` : ''}SELECT ${asset ? 'a.seq' : 'f.id'} FROM ${from}
    ${sort?.join ?? ''} WHERE ${where} ORDER BY ${order}${page}`;
}

/** The records of these ids (one placeholder each), in any order. */
function rowsSql(model: EtmModel, ids: number): string {
  const list = Array.from({ length: ids }, () => '?').join(', ');
  return model === ASSET
    ? `SELECT a.seq AS id, a.record FROM assets a WHERE a.seq IN (${list})`
    : `SELECT f.id, ${FINDING_COLUMNS}, ${ASSET_ON_FINDING} FROM ${FINDINGS_FROM} WHERE f.id IN (${list})`;
}

function countSql(compiled: CompiledQuery): string {
  return compiled.model === ASSET
    ? `SELECT COUNT(*) FROM assets a WHERE a.record IS NOT NULL AND (${compiled.where})`
    : `SELECT COUNT(*) FROM ${findingsFrom(compiled.where)} WHERE f.current = 1 AND (${compiled.where})`;
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

export interface FindingView {
  readonly record: Record<string, unknown>;
  readonly asset: Record<string, unknown>;
  /** Every host's report of this finding; the current one first. */
  readonly reports: FindingReport[];
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

/** Compiles a query and a sort; throws the query language's errors. */
function prepare(request: ListRequest): {
  compiled: CompiledQuery;
  sort: SortRequest | undefined;
} {
  const compiled = compileQuery(parseQuery(request.query));
  return { compiled, sort: parseSort(compiled.model, request.sort) };
}

/** Checks a query and a sort without a store; returns the model the query lists. */
export function listModel(request: ListRequest): EtmModel {
  return prepare(request).compiled.model;
}

export class ReadModel {
  /** Totals and the overview, until another connection commits (PRAGMA data_version). */
  private readonly cache = new Map<string, unknown>();
  private cachedVersion: unknown;
  private readonly statements = new Map<string, Statement>();
  private readonly idLists = new Map<string, Float64Array>();
  private readonly layouts = new Map<number, ReadonlyMap<string, number>>();

  /** `db`: a SQLite store's handle (EtmStore.sqliteDb), read synchronously. */
  constructor(private readonly db: Db) {}

  private assembler(): FindingAssembler {
    return new FindingAssembler(new SqliteSql(this.db));
  }

  /** A finding record, its layout's positions read once each. */
  private findingRecord(assembler: FindingAssembler, row: FindingRow): Record<string, unknown> {
    let positions = this.layouts.get(row.layout);
    if (!positions) {
      const json = this.db
        .prepare(`SELECT attributes FROM layouts WHERE id = ?`)
        .pluck()
        .get(row.layout) as string;
      positions = new Map((JSON.parse(json) as string[]).map((name, i) => [name, i]));
      this.layouts.set(row.layout, positions);
    }
    return assembler.recordAt(row, positions).record;
  }

  /**
   * A value computed once per state of the store: paging through a result counts it once, and
   * the counts change only when a sync commits.
   */
  private cached<T>(key: string, compute: () => T): T {
    this.forgetIfChanged();
    if (this.cache.size > 200) this.cache.clear();
    if (!this.cache.has(key)) this.cache.set(key, compute());
    return this.cache.get(key) as T;
  }

  /** Drops what was computed before another connection committed. */
  private forgetIfChanged(): void {
    const version = this.db.pragma('data_version', { simple: true });
    if (version === this.cachedVersion) return;
    this.cache.clear();
    this.idLists.clear();
    this.cachedVersion = version;
  }

  count(request: ListRequest): number {
    const { compiled } = prepare(request);
    const sql = countSql(compiled);
    return this.cached(
      `count ${sql} ${JSON.stringify(compiled.params)}`,
      () =>
        this.db
          .prepare(sql)
          .pluck()
          .get(...compiled.params) as number,
    );
  }

  /** One page, with the query's total. */
  page(request: ListRequest): ListPage {
    const offset = Math.max(0, request.offset ?? 0);
    const rows = [...this.records({ ...request, offset })];
    const { compiled } = prepare(request);
    return { model: compiled.model, total: this.count(request), offset, rows };
  }

  /** The records streamed in order (a whole result goes out a few hundred at a time). */
  *records(request: ListRequest): Generator<ListedRecord> {
    const { compiled, sort: sortRequest } = prepare(request);
    const sort = sortRequest && this.sort(compiled.model, sortRequest);
    const offset = Math.max(0, request.offset ?? 0);
    const assembler = this.assembler();
    const ordered = request.limit !== undefined && this.orderedIds(compiled, sort, offset);
    if (ordered) {
      const page = ordered.subarray(offset, offset + (request.limit as number));
      if (page.length > 0) yield* this.fetch(compiled.model, Array.from(page), assembler);
      return;
    }
    const paged = request.limit !== undefined || offset > 0;
    const args = paged ? [...compiled.params, request.limit ?? -1, offset] : compiled.params;
    let ids: number[] = [];
    for (const id of this.db
      .prepare(idsSql(compiled, sort, paged))
      .pluck()
      .iterate(...args)) {
      ids.push(id as number);
      if (ids.length === FETCH) {
        yield* this.fetch(compiled.model, ids, assembler);
        ids = [];
      }
    }
    if (ids.length > 0) yield* this.fetch(compiled.model, ids, assembler);
  }

  /**
   * Every id of a result in list order, for a deep page: sorted once per state of the store (the
   * last few results are kept), so that a sort over a million findings costs once, not on every
   * page. Undefined for a page near the top, which a LIMIT reads faster, unless already sorted.
   */
  private orderedIds(
    compiled: CompiledQuery,
    sort: Sort | undefined,
    offset: number,
  ): Float64Array | undefined {
    const sql = idsSql(compiled, sort, false);
    const key = `${sql} ${JSON.stringify(compiled.params)}`;
    this.forgetIfChanged();
    let ids = this.idLists.get(key);
    if (!ids && offset < DEEP_PAGE) return undefined;
    if (!ids) {
      ids = Float64Array.from(
        this.db
          .prepare(sql)
          .pluck()
          .all(...compiled.params) as number[],
      );
      if (this.idLists.size >= ID_LISTS)
        this.idLists.delete(this.idLists.keys().next().value as string);
      this.idLists.set(key, ids);
    }
    return ids;
  }

  /** Prepared once: a large result fetches thousands of pages with the same statement. */
  private statement(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size > 50) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private sort(model: EtmModel, request: SortRequest): Sort {
    return model === ASSET
      ? { expr: fieldExpression(ASSET, request.field), desc: request.desc }
      : findingSort(this.db, request);
  }

  /** The records of `ids`, in that order. */
  private fetch(model: EtmModel, ids: number[], assembler: FindingAssembler): ListedRecord[] {
    const rows = this.statement(rowsSql(model, ids.length)).all(...ids) as ListedFindingRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id) as ListedFindingRow;
      if (model === ASSET) return { model: ASSET, record: JSON.parse(r.record) };
      return {
        model: FINDING,
        record: this.findingRecord(assembler, r),
        asset: { assetName: r.asset_name ?? null, ipAddress: r.asset_ip ?? null },
      };
    });
  }

  /** Asset keys whose key, name, FQDN or IP address is `term` (case-insensitive), riskiest first. */
  findAssets(term: string): string[] {
    return this.db
      .prepare(
        `SELECT asset_key FROM assets WHERE record IS NOT NULL AND (asset_key = ?
           OR lower(json_extract(record, '$.assetName')) = lower(?)
           OR lower(json_extract(record, '$.fqdn')) = lower(?)
           OR json_extract(record, '$.ipAddress') = ?)
         ORDER BY tru_risk_score DESC, asset_key LIMIT 20`,
      )
      .pluck()
      .all(term, term, term, term) as string[];
  }

  asset(assetKey: string): AssetView | undefined {
    const row = this.db
      .prepare(
        `SELECT seq, identified_by, tru_risk_score, record FROM assets WHERE asset_key = ? AND record IS NOT NULL`,
      )
      .get(assetKey) as
      | { seq: number; identified_by: string | null; tru_risk_score: number | null; record: string }
      | undefined;
    if (!row) return undefined;
    const record = JSON.parse(row.record) as Record<string, unknown>;
    const hosts = (
      this.db
        .prepare(
          `SELECT subscription, host_id, identifiers, attributes, last_scanned, purged_at FROM asset_hosts
            WHERE asset_key = ? ORDER BY subscription, host_id`,
        )
        .all(assetKey) as {
        subscription: string;
        host_id: string;
        identifiers: string;
        attributes: string;
        last_scanned: string | null;
        purged_at: string | null;
      }[]
    ).map((h): HostView => {
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
    const findings = this.db
      .prepare(`SELECT COUNT(*) FROM findings WHERE asset_seq = ? AND current = 1`)
      .pluck()
      .get(row.seq) as number;
    return {
      record,
      hosts,
      identifiedBy: (record.identifiedBy as string | null | undefined) ?? row.identified_by,
      findings,
      truRisk: this.explain(row.seq, record, hosts, row.tru_risk_score),
    };
  }

  /**
   * TruRisk as the asset materialiser computes it (trurisk.ts), term by term: the current open
   * findings per band, the criticality the asset's live hosts (or, all purged, its last hosts)
   * reported, and the formula with those numbers.
   */
  private explain(
    seq: number,
    record: Record<string, unknown>,
    hosts: HostView[],
    storedScore: number | null,
  ): TruRiskExplanation {
    const perBand = this.db
      .prepare(
        `SELECT ${OPEN_FINDINGS_SQL.band} AS band, COUNT(*) AS n, SUM(score) AS total FROM findings
          WHERE asset_seq = ? AND current = 1 AND ${OPEN_FINDINGS_SQL.where} GROUP BY 1`,
      )
      .all(seq) as { band: number | null; n: number; total: number }[];
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
  finding(key: string): FindingView | undefined {
    const slash = key.indexOf('/');
    if (slash < 0) return undefined;
    const assetKey = key.slice(0, slash);
    const detectionKey = key.slice(slash + 1);
    const rows = this.db
      .prepare(
        `SELECT ${FINDING_COLUMNS}, f.current, h.purged_at, fa.record AS asset_record FROM ${FINDINGS_FROM}
          WHERE fa.asset_key = ? AND f.detection_key = ?
          ORDER BY f.current DESC, h.subscription, h.host_id`,
      )
      .all(assetKey, detectionKey) as (FindingRow & {
      current: number;
      purged_at: string | null;
      asset_record: string;
    })[];
    if (rows.length === 0 || rows[0].current !== 1) return undefined;
    const assembler = this.assembler();
    const reports = rows.map((r) => ({
      subscription: r.subscription,
      hostId: r.host_id,
      current: r.current === 1,
      hostPurgedAt: r.purged_at,
      record: this.findingRecord(assembler, r),
    }));
    return {
      record: reports[0].record,
      asset: JSON.parse(rows[0].asset_record) as Record<string, unknown>,
      reports,
    };
  }

  overview(riskiest = 10): Overview {
    return this.cached(`overview ${riskiest}`, () => this.computeOverview(riskiest));
  }

  private computeOverview(riskiest: number): Overview {
    const bands = this.db
      .prepare(
        `SELECT tru_risk_band AS band, COUNT(*) AS n FROM assets WHERE record IS NOT NULL GROUP BY tru_risk_band`,
      )
      .all() as { band: string | null; n: number }[];
    const cells = this.db
      .prepare(
        `SELECT severity, status, COUNT(*) AS n FROM findings WHERE current = 1 GROUP BY severity, status`,
      )
      .all() as { severity: number | null; status: string | null; n: number }[];
    const bySeverity: Record<string, Record<string, number>> = {};
    const byStatus: Record<string, number> = {};
    for (const c of cells) {
      const severity = c.severity === null ? 'none' : String(c.severity);
      const status = c.status ?? 'NONE';
      bySeverity[severity] = { ...bySeverity[severity], [status]: c.n };
      byStatus[status] = (byStatus[status] ?? 0) + c.n;
    }
    const top = this.db
      .prepare(
        `SELECT record FROM assets WHERE record IS NOT NULL ORDER BY tru_risk_score DESC, asset_key LIMIT ?`,
      )
      .pluck()
      .all(riskiest) as string[];
    return {
      assets: bands.reduce((a, b) => a + b.n, 0),
      findings: cells.reduce((a, c) => a + c.n, 0),
      assetsByBand: Object.fromEntries(bands.map((b) => [b.band ?? 'NONE', b.n])),
      findingsBySeverity: bySeverity,
      findingsByStatus: byStatus,
      runs: this.runChanges(),
      riskiest: top.map((json) => JSON.parse(json) as Record<string, unknown>),
    };
  }

  /**
   * New, fixed and reopened per finished run, from its summary: host reports (detections) that
   * were new, moved to FIXED or to REOPENED, purges' closures counted as fixed.
   */
  private runChanges(): RunChanges[] {
    const rows = this.db
      .prepare(`SELECT * FROM runs WHERE summary IS NOT NULL ORDER BY id`)
      .all() as RunRow[];
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

  connectors(): ConnectorView[] {
    const runs = this.db.prepare(
      `SELECT * FROM runs WHERE connector = ? ORDER BY id DESC LIMIT ${RUNS_SHOWN}`,
    );
    const hosts = this.db
      .prepare(`SELECT COUNT(*) FROM asset_hosts WHERE subscription = ? AND purged_at IS NULL`)
      .pluck();
    const list = this.db
      .prepare(`SELECT ${CONNECTOR_COLUMNS} FROM connectors ORDER BY name`)
      .all() as ConnectorRow[];
    return list.map((c) => {
      const alive = c.status === 'Processing' || c.status === 'Scheduled' ? processAlive(c) : null;
      return {
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
        hostsStored: hosts.get(c.name) as number,
        runs: (runs.all(c.name) as RunRow[]).map(runView),
      };
    });
  }
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
