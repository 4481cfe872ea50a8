/**
 * The one interface the store runs its SQL through, over either engine: SQLite (better-sqlite3,
 * one file, embedded) or PostgreSQL (the `pg` client, one connection per store). Statements are
 * written once with `?` placeholders; the PostgreSQL side numbers them ($1, $2, …) and prepares
 * each text once per connection, as better-sqlite3 statements are prepared once here.
 *
 * Calls are async because the server's are; on SQLite they complete synchronously, so a write
 * costs one resolved promise more than before, not a round trip.
 */
import Database from 'better-sqlite3';
import crypto from 'crypto';
import pg from 'pg';

export type Engine = 'sqlite' | 'postgres';
export type Params = ReadonlyArray<unknown>;

export interface Sql {
  readonly engine: Engine;
  readonly inTransaction: boolean;
  all<T>(sql: string, params?: Params): Promise<T[]>;
  get<T>(sql: string, params?: Params): Promise<T | undefined>;
  /** Returns how many rows changed. */
  run(sql: string, params?: Params): Promise<number>;
  /** Several statements, no parameters (schema, migrations). */
  exec(script: string): Promise<void>;
  /** Rows streamed in batches; no other statement may run on this store until it ends. */
  iterate<T>(sql: string, params?: Params): AsyncGenerator<T>;
  /** Opens the write transaction; on PostgreSQL it also takes the store's writer lock. */
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

/** Prepared statements kept per store; shapes vary with row counts, so the cache is bounded. */
const STATEMENT_CACHE = 500;

export class SqliteSql implements Sql {
  readonly engine = 'sqlite';
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  get inTransaction(): boolean {
    return this.db.open && this.db.inTransaction;
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (this.statements.size >= STATEMENT_CACHE) this.statements.clear();
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async all<T>(sql: string, params: Params = []): Promise<T[]> {
    return this.statement(sql).all(...params) as T[];
  }

  async get<T>(sql: string, params: Params = []): Promise<T | undefined> {
    return this.statement(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: Params = []): Promise<number> {
    return this.statement(sql).run(...params).changes;
  }

  async exec(script: string): Promise<void> {
    this.db.exec(script);
  }

  async *iterate<T>(sql: string, params: Params = []): AsyncGenerator<T> {
    for (const row of this.statement(sql).iterate(...params)) yield row as T;
  }

  async begin(): Promise<void> {
    // IMMEDIATE: the write lock is taken now, so two writers wait rather than fail at commit.
    if (!this.db.inTransaction) this.db.exec('BEGIN IMMEDIATE');
  }

  async commit(): Promise<void> {
    if (this.db.inTransaction) this.db.exec('COMMIT');
  }

  async rollback(): Promise<void> {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  async close(): Promise<void> {
    // Closing with an open transaction discards it, as a crash would.
    if (this.db.open) this.db.close();
  }
}

/** bigint (COUNT) and numeric (SUM) as JS numbers: the store's counts stay far below 2^53. */
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 || oid === 1700
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Rows fetched per round trip when streaming. */
const FETCH = 2000;

export class PostgresSql implements Sql {
  readonly engine = 'postgres';
  private readonly texts = new Map<string, { text: string; name: string }>();
  private transaction = false;
  private cursors = 0;

  private constructor(
    private readonly client: pg.Client,
    /** The advisory lock that serialises this store's write transactions. */
    private readonly lockKey: number,
  ) {}

  static async connect(config: pg.ClientConfig, schema: string): Promise<PostgresSql> {
    const client = new pg.Client({ ...config, types: PG_TYPES });
    await client.connect();
    // A failed connection after connect() (server restart) must not crash the process.
    client.on('error', () => undefined);
    const lockKey = Number.parseInt(
      crypto.createHash('sha1').update(schema).digest('hex').slice(0, 7),
      16,
    );
    return new PostgresSql(client, lockKey);
  }

  get inTransaction(): boolean {
    return this.transaction;
  }

  private query(sql: string, params: Params): Promise<pg.QueryResult> {
    let prepared = this.texts.get(sql);
    if (!prepared) {
      if (this.texts.size >= STATEMENT_CACHE) this.texts.clear();
      prepared = { text: numbered(sql), name: `etm${this.texts.size}_${hash(sql)}` };
      this.texts.set(sql, prepared);
    }
    return this.client.query({ ...prepared, values: params as unknown[] });
  }

  async all<T>(sql: string, params: Params = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params: Params = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: Params = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  async exec(script: string): Promise<void> {
    await this.client.query(script);
  }

  /** A server-side cursor, inside the open transaction or a read-only one of its own. */
  async *iterate<T>(sql: string, params: Params = []): AsyncGenerator<T> {
    const own = !this.transaction;
    if (own) await this.client.query('BEGIN READ ONLY');
    const cursor = `etm_cursor_${++this.cursors}`;
    try {
      await this.client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${numbered(sql)}`, [
        ...params,
      ]);
      for (;;) {
        const { rows } = await this.client.query(`FETCH ${FETCH} FROM ${cursor}`);
        if (rows.length === 0) break;
        for (const row of rows) yield row as T;
      }
      await this.client.query(`CLOSE ${cursor}`);
    } finally {
      if (own) await this.client.query('COMMIT');
    }
  }

  async begin(): Promise<void> {
    if (this.transaction) return;
    await this.client.query('BEGIN');
    this.transaction = true;
    // Writers of one store take turns, each for one checkpoint's transaction: identity
    // resolution reads then writes assets across subscriptions, and two writers interleaving
    // those reads would each miss the other's hosts (README, "Concurrent writers").
    await this.client.query('SELECT pg_advisory_xact_lock($1)', [this.lockKey]);
  }

  async commit(): Promise<void> {
    if (!this.transaction) return;
    this.transaction = false;
    await this.client.query('COMMIT');
  }

  async rollback(): Promise<void> {
    if (!this.transaction) return;
    this.transaction = false;
    await this.client.query('ROLLBACK');
  }

  async close(): Promise<void> {
    // Ending the connection with an open transaction discards it, as a crash would.
    await this.client.end().catch(() => undefined);
  }
}

function hash(sql: string): string {
  return crypto.createHash('sha1').update(sql).digest('hex').slice(0, 12);
}

/** `?` → `$1`, `$2`, … outside quoted text. */
export function numbered(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}
