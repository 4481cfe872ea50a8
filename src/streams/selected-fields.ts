/**
 * Airbyte's column selection, applied by the source. When a connection deselects columns, the
 * platform hands the source a configured stream whose json_schema lists only the selected
 * top-level properties, and drops the others from every record itself. Dropping them here
 * instead saves their bytes on stdout and their encoding (a `detections` record without
 * QDS_FACTORS is a quarter smaller). Fields the sync needs are always kept: the primary key, the
 * cursor, `_ab_cdc_deleted_at` and what the stream needs (keptFields). Without a selection (a
 * schema with every property, or none at all, as in etm's own catalog) records are written
 * whole.
 */
import { Dictionary } from 'ts-essentials';

import { RawJson } from '../shared-json';

const CDC_DELETED_AT = '_ab_cdc_deleted_at';

/** What a stream says of itself (AirbyteStreamBase). */
export interface DescribedStream {
  getJsonSchema(): Dictionary<unknown>;
  readonly primaryKey: string | string[] | string[][] | undefined;
  readonly cursorField: string | string[];
  /** Fields written whatever the selection (the parts a record's key is made of). */
  readonly keptFields?: readonly string[];
}

/**
 * The top-level fields a configured stream keeps, or undefined when it keeps them all: its
 * json_schema's properties when they are fewer than the stream's own.
 */
export function selectedFields(
  stream: DescribedStream,
  configuredSchema: unknown,
): ReadonlySet<string> | undefined {
  const configured = propertiesOf(configuredSchema);
  const all = propertiesOf(stream.getJsonSchema());
  if (!configured || !all || all.every((name) => configured.includes(name))) return undefined;
  const kept = new Set(configured);
  for (const name of keyFields(stream.primaryKey)) kept.add(name);
  const cursor = stream.cursorField;
  const cursorField = typeof cursor === 'string' ? cursor : cursor[0];
  if (cursorField) kept.add(cursorField);
  kept.add(CDC_DELETED_AT);
  for (const name of stream.keptFields ?? []) kept.add(name);
  return kept;
}

/** The stream's own top-level fields that `fields` leaves out, in schema order. */
export function leftOut(stream: DescribedStream, fields: ReadonlySet<string>): string[] {
  return (propertiesOf(stream.getJsonSchema()) ?? []).filter((name) => !fields.has(name));
}

/** The record with only the selected fields (a record that is already JSON bytes selects itself). */
export function project<T extends object>(record: T, fields: ReadonlySet<string>): T {
  if (record instanceof RawJson) return record;
  const kept: Dictionary<unknown> = {};
  for (const [name, value] of Object.entries(record)) if (fields.has(name)) kept[name] = value;
  return kept as T;
}

function propertiesOf(schema: unknown): string[] | undefined {
  const properties = (schema as { properties?: unknown } | undefined)?.properties;
  return properties && typeof properties === 'object' ? Object.keys(properties) : undefined;
}

/** The top-level fields of a primary key: the first element of each of its paths. */
function keyFields(key: string | string[] | string[][] | undefined): string[] {
  if (key === undefined) return [];
  if (typeof key === 'string') return [key];
  return key.map((path) => (Array.isArray(path) ? path[0] : path)).filter(Boolean);
}
