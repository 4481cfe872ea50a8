/**
 * The destination's configuration (resources/destination-spec.json), checked in one place and
 * turned into what the store and the ETM destination take: where the store lives, the
 * identification rules, and the transform map overlay, written to a private temp file for the
 * map loader and removed once loaded.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { VError } from 'verror';

import { IdentificationRules } from '../identification-rules';
import { StoreLocation } from '../store/database';

export interface DestinationConfig {
  readonly store?:
    | { readonly type: 'sqlite'; readonly path?: string }
    | {
        readonly type: 'postgres';
        readonly host?: string;
        readonly port?: number;
        readonly database?: string;
        readonly schema?: string;
        readonly username?: string;
        readonly password?: string;
        readonly ssl_mode?: 'disable' | 'require' | 'verify-full';
        readonly ssl_ca?: string;
      };
  readonly transform_map?: string;
  readonly identification_rules?: ReadonlyArray<{ rule: string; enabled?: boolean }>;
}

export interface DestinationSettings {
  readonly location: StoreLocation;
  readonly rules?: IdentificationRules;
  /** The overlay as JSON text; see withTransformMap. */
  readonly transformMap?: string;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function readDestinationConfig(config: DestinationConfig): DestinationSettings {
  return {
    location: storeLocation(config.store),
    rules: rules(config.identification_rules),
    transformMap: transformMap(config.transform_map),
  };
}

function storeLocation(store: DestinationConfig['store']): StoreLocation {
  if (!store || typeof store !== 'object')
    throw new VError('store: say where the ETM store is (type sqlite or postgres)');
  if (store.type === 'sqlite') {
    const file = store.path ?? '/local/etm.db';
    if (typeof file !== 'string' || file.trim() === '') throw new VError('store.path: give a file');
    return { engine: 'sqlite', file };
  }
  if (store.type !== 'postgres')
    throw new VError(
      'store.type must be sqlite or postgres, not %j',
      (store as { type?: unknown }).type,
    );
  for (const field of ['host', 'database', 'username'] as const) {
    if (typeof store[field] !== 'string' || store[field]?.trim() === '')
      throw new VError('store.%s is required for a PostgreSQL store', field);
  }
  const schema = store.schema ?? 'etm';
  if (!SCHEMA_NAME.test(schema))
    throw new VError('store.schema must be a plain identifier, not %j', schema);
  const mode = store.ssl_mode ?? 'disable';
  if (!['disable', 'require', 'verify-full'].includes(mode))
    throw new VError('store.ssl_mode must be disable, require or verify-full, not %j', mode);
  const ssl =
    mode === 'disable'
      ? false
      : mode === 'require'
        ? { rejectUnauthorized: false }
        : { rejectUnauthorized: true, ...(store.ssl_ca ? { ca: store.ssl_ca } : {}) };
  const port = store.port ?? 5432;
  return {
    engine: 'postgres',
    config: {
      host: store.host,
      port,
      database: store.database,
      user: store.username,
      password: store.password,
      ssl,
    },
    schema,
    label: `postgres://${store.username}@${store.host}:${port}/${store.database} schema ${schema}`,
  };
}

function rules(list: DestinationConfig['identification_rules']): IdentificationRules | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new VError('identification_rules must be a list of rules');
  let selected: IdentificationRules;
  try {
    selected = IdentificationRules.select(list);
  } catch (err) {
    throw new VError(err as Error, 'identification_rules');
  }
  if (selected.names.length === 0)
    throw new VError('identification_rules: at least one rule must be enabled');
  return selected;
}

function transformMap(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    JSON.parse(text);
  } catch (err) {
    throw new VError('transform_map is not JSON: %s', (err as Error).message);
  }
  return text;
}

/** Runs `fn` with the overlay in a private temp file (the map loader reads files). */
export function withTransformMap<T>(text: string | undefined, fn: (file?: string) => T): T {
  if (text === undefined) return fn(undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-map-'));
  const file = path.join(dir, 'transform_map.json');
  try {
    fs.writeFileSync(file, text, { mode: 0o600 });
    return fn(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
