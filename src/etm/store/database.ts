/**
 * Opens the ETM store and owns its write transaction. A sync stages everything between two
 * source checkpoints in one open transaction and commits it together with the checkpoint's
 * state; a crash or a rollback leaves exactly the last committed checkpoint.
 *
 * A store is a SQLite file (`FILE` or `sqlite:FILE`, the embedded default) or a PostgreSQL
 * schema (`postgres://user:password@host:port/database?schema=etm&sslmode=require`). Both hold
 * the same tables and views and behave the same (store/dialect.ts says where their SQL differs).
 */
import Database from 'better-sqlite3';
import fs from 'fs';
import pg from 'pg';
import { VError } from 'verror';

import { Dialect, dialectOf } from './dialect';
import { findingTriggers, MIGRATIONS, SCHEMA, SCHEMA_VERSION, views } from './schema';
import { Engine, PostgresSql, Sql, SqliteSql } from './sql';

export interface OpenOptions {
  /** A throwaway store (etm convert): no journal, no fsync. */
  readonly ephemeral?: boolean;
  readonly readonly?: boolean;
}

/** Where a store lives, parsed from --db or the destination's config. */
export type StoreLocation =
  | { readonly engine: 'sqlite'; readonly file: string }
  | {
      readonly engine: 'postgres';
      readonly config: pg.ClientConfig;
      readonly schema: string;
      /** For messages: the URL without its password. */
      readonly label: string;
    };

const DEFAULT_SCHEMA = 'public';

/** `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:FILE` or a plain path is SQLite. */
export function parseLocation(db: string): StoreLocation {
  if (/^postgres(ql)?:\/\//i.test(db)) {
    let url: URL;
    try {
      url = new URL(db);
    } catch {
      throw new VError('--db %s is not a valid postgres:// URL', redactUrl(db));
    }
    const schema = url.searchParams.get('schema') ?? DEFAULT_SCHEMA;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) {
      throw new VError('the PostgreSQL schema must be a plain identifier, not %j', schema);
    }
    url.searchParams.delete('schema');
    return {
      engine: 'postgres',
      config: { connectionString: url.toString() },
      schema,
      label: redactUrl(db),
    };
  }
  return { engine: 'sqlite', file: db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db };
}

export function redactUrl(db: string): string {
  return db.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

/** Whether MIGRATIONS turn a store of `version` into one of SCHEMA_VERSION. */
function migratable(version: string | undefined): boolean {
  return Number(version) < SCHEMA_VERSION && MIGRATIONS[Number(version)] !== undefined;
}

export class EtmStore {
  readonly dialect: Dialect;

  private constructor(
    readonly sql: Sql,
    readonly label: string,
  ) {
    this.dialect = dialectOf(sql.engine);
  }

  get engine(): Engine {
    return this.sql.engine;
  }

  static async open(db: string | StoreLocation, options: OpenOptions = {}): Promise<EtmStore> {
    const location = typeof db === 'string' ? parseLocation(db) : db;
    const store =
      location.engine === 'sqlite'
        ? new EtmStore(openSqlite(location.file, options), location.file)
        : new EtmStore(await openPostgres(location, options.readonly ?? false), location.label);
    try {
      if (options.readonly) await store.checkVersion();
      else await store.prepareSchema();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Creates or migrates the tables and recreates the views, as one writer. */
  private async prepareSchema(): Promise<void> {
    const { sql } = this;
    await sql.begin();
    try {
      await sql.exec(this.dialect.ddl(SCHEMA));
      const version = await this.getMeta('schema_version');
      if (version === undefined) {
        await this.setMeta('schema_version', String(SCHEMA_VERSION));
      } else if (migratable(version)) {
        for (let v = Number(version); v < SCHEMA_VERSION; v++)
          await sql.exec(this.dialect.ddl(MIGRATIONS[v]));
        await this.setMeta('schema_version', String(SCHEMA_VERSION));
      } else if (Number(version) !== SCHEMA_VERSION) {
        throw this.versionError(version);
      }
      await sql.exec(views(this.dialect));
      await sql.exec(findingTriggers(this.engine));
      await sql.commit();
    } catch (err) {
      await sql.rollback();
      throw err;
    }
  }

  private async checkVersion(): Promise<void> {
    let version: string | undefined;
    try {
      version = await this.getMeta('schema_version');
    } catch (err) {
      throw new VError(err as Error, '%s is not an ETM store', this.label);
    }
    if (Number(version) !== SCHEMA_VERSION) throw this.versionError(version);
  }

  /** Says what to do: an older store is upgraded by any command that writes it. */
  private versionError(version: string | undefined): Error {
    return new VError(
      'ETM store %s has schema version %s; this etm reads version %d: %s',
      this.label,
      version,
      SCHEMA_VERSION,
      migratable(version)
        ? 'a command that writes the store (etm sync or etm run, or the destination) upgrades it in place'
        : 'it was written by another etm version; use that one, or a new store',
    );
  }

  get inTransaction(): boolean {
    return this.sql.inTransaction;
  }

  begin(): Promise<void> {
    return this.sql.begin();
  }

  commit(): Promise<void> {
    return this.sql.commit();
  }

  rollback(): Promise<void> {
    return this.sql.rollback();
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.sql.get<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, [key]))
      ?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.sql.run(
      `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [key, value],
    );
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}

function openSqlite(file: string, options: OpenOptions): SqliteSql {
  let db: Database.Database;
  try {
    if (options.readonly && !fs.existsSync(file)) throw new Error('no such file');
    db = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
  } catch (err) {
    throw new VError(err as Error, 'cannot open ETM store %s', file);
  }
  if (!options.readonly) {
    if (options.ephemeral) {
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
    } else {
      // WAL: readers (etm query, etm status) never block a running sync, and a killed process
      // loses only its uncommitted transaction.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('cache_size = -65536');
  }
  db.pragma('busy_timeout = 10000');
  return new SqliteSql(db);
}

async function openPostgres(
  location: Extract<StoreLocation, { engine: 'postgres' }>,
  readonly: boolean,
): Promise<PostgresSql> {
  let sql: PostgresSql;
  try {
    sql = await PostgresSql.connect(location.config, location.schema);
  } catch (err) {
    throw new VError('cannot open ETM store %s: %s', location.label, (err as Error).message);
  }
  try {
    const schema = `"${location.schema}"`;
    // Created under the writer lock: destinations starting together race on CREATE otherwise.
    if (!readonly) {
      await sql.begin();
      await sql.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await sql.commit();
    }
    await sql.exec(`SET search_path TO ${schema}`);
  } catch (err) {
    await sql.rollback().catch(() => undefined);
    await sql.close();
    throw new VError(
      'cannot use schema %s of ETM store %s: %s',
      location.schema,
      location.label,
      (err as Error).message,
    );
  }
  return sql;
}
