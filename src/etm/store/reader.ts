/**
 * Reads final ETM records out of the store: materialised etm_Asset records, and etm_Finding
 * records assembled from the current report of each finding plus its QID's attributes. Rows are
 * streamed (iterate), so dumping a large store holds one record at a time.
 */
import { FINDING, FINDING_TYPE, MODELS, SOURCE } from '../models';
import { findingKey } from '../finding-key';
import { Db } from './database';
import { Layouts } from './layouts';

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

  constructor(db: Db) {
    this.layouts = new Layouts(db);
  }

  record(row: FindingRow): EtmRecord {
    const knowledge = this.parsed(row);
    const positions = this.layouts.positions(row.layout);
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

export function* allAssets(db: Db): Generator<EtmRecord> {
  const rows = db
    .prepare(`SELECT record FROM assets WHERE record IS NOT NULL ORDER BY seq`)
    .pluck()
    .iterate();
  for (const json of rows) yield { model: 'etm_Asset', record: JSON.parse(json as string) };
}

/**
 * The `limit` assets with the highest TruRisk; ties by asset key, which unlike creation order does
 * not depend on the order hosts arrived in.
 */
export function riskiestAssets(db: Db, limit: number): EtmRecord[] {
  return (
    db
      .prepare(
        `SELECT record FROM assets WHERE record IS NOT NULL ORDER BY tru_risk_score DESC, asset_key LIMIT ?`,
      )
      .pluck()
      .all(limit) as string[]
  ).map((json) => ({ model: 'etm_Asset', record: JSON.parse(json) }));
}

export function* allFindings(db: Db): Generator<EtmRecord> {
  const rows = db
    .prepare(
      `SELECT ${FINDING_COLUMNS} FROM ${FINDINGS_FROM} WHERE f.current = 1 ORDER BY f.asset_seq, f.detection_key`,
    )
    .iterate();
  const assembler = new FindingAssembler(db);
  for (const row of rows) yield assembler.record(row as FindingRow);
}
