/**
 * Opens the ETM store and owns its write transaction. A sync stages everything between two
 * source checkpoints in one open transaction and commits it together with the checkpoint's
 * state; a crash or a rollback leaves exactly the last committed checkpoint.
 */
import Database from 'better-sqlite3';
import { VError } from 'verror';

import { MIGRATIONS, SCHEMA, SCHEMA_VERSION } from './schema';

export type Db = Database.Database;

export interface OpenOptions {
  /** A throwaway store (etm convert): no journal, no fsync. */
  readonly ephemeral?: boolean;
  readonly readonly?: boolean;
}

export class EtmStore {
  readonly db: Db;

  private constructor(db: Db) {
    this.db = db;
  }

  static open(file: string, options: OpenOptions = {}): EtmStore {
    let db: Db;
    try {
      db = new Database(file, {
        readonly: options.readonly ?? false,
        fileMustExist: options.readonly ?? false,
      });
    } catch (err) {
      throw new VError(err as Error, 'cannot open ETM store %s', file);
    }
    if (options.readonly) return new EtmStore(db);
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
    db.pragma('busy_timeout = 10000');
    db.exec(SCHEMA);
    const version = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get();
    if (version === undefined) {
      db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(
        String(SCHEMA_VERSION),
      );
    } else if (Number(version) < SCHEMA_VERSION && MIGRATIONS[Number(version)]) {
      migrate(db, Number(version));
    } else if (Number(version) !== SCHEMA_VERSION) {
      throw new VError(
        'ETM store %s has schema version %s; this etm reads version %d',
        file,
        version,
        SCHEMA_VERSION,
      );
    }
    return new EtmStore(db);
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  begin(): void {
    if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
  }

  commit(): void {
    if (this.db.inTransaction) this.db.exec('COMMIT');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  getMeta(key: string): string | undefined {
    return this.db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck().get(key) as
      string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      )
      .run(key, value);
  }

  close(): void {
    // Closing with an open transaction discards it, as a crash would.
    if (this.db.open) this.db.close();
  }
}

/** Brings an older store up to SCHEMA_VERSION, all steps in one transaction. */
function migrate(db: Db, from: number): void {
  db.transaction(() => {
    for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(
      String(SCHEMA_VERSION),
    );
  })();
}
