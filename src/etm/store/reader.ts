/**
 * Reads final ETM records out of the store: materialised etm_Asset records, and etm_Finding
 * records assembled from the current report of each finding plus its QID's attributes. Rows are
 * streamed (iterate), so dumping a large store holds one batch of records at a time.
 */
import { FINDING, FINDING_TYPE, MODELS, SOURCE } from '../models';
import { findingKey } from '../finding-key';
import { Layouts } from './layouts';
import { Sql } from './sql';

export interface EtmRecord {
  readonly model: string;
  readonly record: Record<string, unknown>;
}

/** SQL the query compiler builds on: one row per ETM finding, with its parts. */
export const FINDINGS_FROM = `findings f JOIN assets fa ON fa.seq = f.asset_seq
  JOIN asset_hosts h ON h.seq = f.host_seq
  LEFT JOIN vulnerabilities v ON v.vulnerability_key = f.vulnerability_key`;
export const FINDING_COLUMNS = `fa.asset_key, f.detection_key, h.subscription, h.host_id, f.vulnerability_key,
  f.layout, f.record, v.record AS knowledge`;

export interface FindingRow {
  asset_key: string;
  detection_key: string;
  subscription: string;
  host_id: string;
  vulnerability_key: string;
  layout: number;
  record: string;
  knowledge: string | null;
}

/** Mapped attributes in model order (the identity fields are set first, by name). */
const FINDING_ORDER = [...MODELS[FINDING].attributes.values()]
  .filter((a) => !a.computed)
  .map((a) => a.name);

/**
 * Builds etm_Finding records from stored rows: the QID's attributes, then the detection's (its
 * values named by their layout), in the model's attribute order. A QID's attributes are parsed
 * once and shared by the findings of that QID that follow (bounded cache; records are only
 * serialised, never mutated).
 */
export class FindingAssembler {
  private readonly knowledge = new Map<string, Record<string, unknown>>();
  private readonly layouts: Layouts;

  constructor(sql: Sql) {
    this.layouts = new Layouts(sql);
  }

  async record(row: FindingRow): Promise<EtmRecord> {
    return this.recordAt(row, await this.layouts.positions(row.layout));
  }

  /** The record of `row`, its layout's positions given (read synchronously by the read model). */
  recordAt(row: FindingRow, positions: ReadonlyMap<string, number>): EtmRecord {
    const knowledge = this.parsed(row);
    const values = JSON.parse(row.record) as unknown[];
    const record: Record<string, unknown> = {
      findingKey: findingKey(row.asset_key, row.detection_key),
      assetKey: row.asset_key,
      source: SOURCE,
      vendorProductName: SOURCE,
      findingType: FINDING_TYPE,
      subscription: row.subscription,
      qualysHostId: row.host_id,
    };
    // The detection's value wins over the QID's when both have an attribute.
    for (const name of FINDING_ORDER) {
      const i = positions.get(name);
      if (i !== undefined) record[name] = values[i] ?? null;
      else if (name in knowledge) record[name] = knowledge[name];
    }
    return { model: FINDING, record };
  }

  private parsed(row: FindingRow): Record<string, unknown> {
    if (row.knowledge === null) return {};
    let k = this.knowledge.get(row.vulnerability_key);
    if (!k) {
      if (this.knowledge.size >= 5000) this.knowledge.clear();
      k = JSON.parse(row.knowledge) as Record<string, unknown>;
      this.knowledge.set(row.vulnerability_key, k);
    }
    return k;
  }
}

export async function* allAssets(sql: Sql): AsyncGenerator<EtmRecord> {
  const rows = sql.iterate<{ record: string }>(
    `SELECT record FROM assets WHERE record IS NOT NULL ORDER BY seq`,
  );
  for await (const row of rows) yield { model: 'etm_Asset', record: JSON.parse(row.record) };
}

/**
 * The `limit` assets with the highest TruRisk; ties by asset key, which unlike creation order does
 * not depend on the order hosts arrived in.
 */
export async function riskiestAssets(sql: Sql, limit: number): Promise<EtmRecord[]> {
  const rows = await sql.all<{ record: string }>(
    `SELECT record FROM assets WHERE record IS NOT NULL ORDER BY tru_risk_score DESC, asset_key LIMIT ?`,
    [limit],
  );
  return rows.map((r) => ({ model: 'etm_Asset', record: JSON.parse(r.record) }));
}

export async function* allFindings(sql: Sql): AsyncGenerator<EtmRecord> {
  const rows = sql.iterate<FindingRow>(
    `SELECT ${FINDING_COLUMNS} FROM ${FINDINGS_FROM} WHERE f.current = 1 ORDER BY f.asset_seq, f.detection_key`,
  );
  const assembler = new FindingAssembler(sql);
  for await (const row of rows) yield await assembler.record(row);
}

/** Every record of an async stream, for callers that want them all at once. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
