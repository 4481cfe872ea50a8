/**
 * Reads final ETM records out of the store: materialised etm_Asset records, and etm_Finding
 * records assembled from the current report of each finding plus its QID's attributes. Rows are
 * streamed (iterate), so dumping a large store holds one record at a time.
 */
import { FINDING, FINDING_TYPE, MODELS, SOURCE } from '../models';
import { findingKey } from '../finding-key';
import { Db } from './database';

export interface EtmRecord {
  readonly model: string;
  readonly record: Record<string, unknown>;
}

/** SQL the query compiler builds on: one row per ETM finding, with its parts. */
export const FINDINGS_FROM = `findings f LEFT JOIN vulnerabilities v ON v.vulnerability_key = f.vulnerability_key`;
export const FINDING_COLUMNS = `f.asset_key, f.detection_key, f.subscription, f.host_id, f.record, v.record AS knowledge`;

export interface FindingRow {
  asset_key: string;
  detection_key: string;
  subscription: string;
  host_id: string;
  record: string;
  knowledge: string | null;
}

const FINDING_ORDER = [...MODELS[FINDING].attributes.keys()];

export function findingRecord(row: FindingRow): EtmRecord {
  const attributes: Record<string, unknown> = {
    ...JSON.parse(row.knowledge ?? '{}'),
    ...JSON.parse(row.record),
  };
  const record: Record<string, unknown> = {
    findingKey: findingKey(row.asset_key, row.detection_key),
    assetKey: row.asset_key,
    source: SOURCE,
    vendorProductName: SOURCE,
    findingType: FINDING_TYPE,
    subscription: row.subscription,
    qualysHostId: row.host_id,
  };
  for (const name of FINDING_ORDER) if (name in attributes) record[name] = attributes[name];
  for (const name of Object.keys(attributes))
    if (!(name in record)) record[name] = attributes[name];
  return { model: FINDING, record };
}

export function* allAssets(db: Db): Generator<EtmRecord> {
  const rows = db
    .prepare(`SELECT record FROM assets WHERE record IS NOT NULL ORDER BY asset_key`)
    .pluck()
    .iterate();
  for (const json of rows) yield { model: 'etm_Asset', record: JSON.parse(json as string) };
}

export function* allFindings(db: Db): Generator<EtmRecord> {
  const rows = db
    .prepare(
      `SELECT ${FINDING_COLUMNS} FROM ${FINDINGS_FROM} WHERE f.current = 1 ORDER BY f.asset_key, f.detection_key`,
    )
    .iterate();
  for (const row of rows) yield findingRecord(row as FindingRow);
}
