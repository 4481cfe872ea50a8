/**
 * Connectors (one per subscription) and their runs. A connector moves Registered → Scheduled →
 * Processing → Processed, or Failed; each state change is stamped. The source's state is saved
 * by the sync inside the transaction that commits the data it covers (saveState), never alone.
 * Only the config file's path is kept, never its content: it holds the password.
 */
import { Db } from './database';

export type ConnectorStatus = 'Registered' | 'Scheduled' | 'Processing' | 'Processed' | 'Failed';

export interface ConnectorInfo {
  readonly name: string;
  readonly baseUrl?: string;
  readonly username?: string;
  readonly configPath?: string;
  readonly profile?: string;
  /** The network its private addresses belong to, shared with other subscriptions. */
  readonly network?: string;
}

export interface ConnectorRow {
  name: string;
  base_url: string | null;
  username: string | null;
  config_path: string | null;
  profile: string | null;
  status: ConnectorStatus;
  status_at: string;
  registered_at: string;
  scheduled_at: string | null;
  next_run_at: string | null;
  processing_at: string | null;
  processed_at: string | null;
  failed_at: string | null;
  last_error: string | null;
  state_at: string | null;
  /** The etm process running the sync, while Processing. */
  pid: number | null;
  network: string | null;
}

export interface RunRow {
  id: number;
  connector: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  summary: string | null;
  error: string | null;
}

const COLUMNS = `name, base_url, username, config_path, profile, status, status_at, registered_at, scheduled_at,
  next_run_at, processing_at, processed_at, failed_at, last_error, state_at, pid, network`;

const STAMP: Record<ConnectorStatus, string> = {
  Registered: 'registered_at',
  Scheduled: 'scheduled_at',
  Processing: 'processing_at',
  Processed: 'processed_at',
  Failed: 'failed_at',
};

export class Connectors {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Creates the connector (Registered) or refreshes its descriptive fields; a network, once
   * declared, stays until another is declared.
   */
  register(info: ConnectorInfo): void {
    const at = this.now().toISOString();
    this.db
      .prepare(
        `INSERT INTO connectors (name, base_url, username, config_path, profile, network, status, status_at, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, 'Registered', ?, ?)
         ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url, username = excluded.username,
           config_path = excluded.config_path, profile = COALESCE(excluded.profile, profile),
           network = COALESCE(excluded.network, network)`,
      )
      .run(
        info.name,
        info.baseUrl ?? null,
        info.username ?? null,
        info.configPath ?? null,
        info.profile ?? null,
        info.network ?? null,
        at,
        at,
      );
  }

  /** Subscription label → declared network, for the connectors that declared one. */
  networks(): Map<string, string> {
    const rows = this.db
      .prepare(`SELECT name, network FROM connectors WHERE network IS NOT NULL`)
      .all() as { name: string; network: string }[];
    return new Map(rows.map((r) => [r.name, r.network]));
  }

  /** Moves the connector to `status` now; a Processing connector records this process's id. */
  setStatus(name: string, status: ConnectorStatus, error?: string): void {
    const at = this.now().toISOString();
    this.db
      .prepare(
        `UPDATE connectors SET status = ?, status_at = ?, ${STAMP[status]} = ?, pid = ?,
           last_error = CASE ? WHEN 'Failed' THEN ? WHEN 'Processed' THEN NULL ELSE last_error END
         WHERE name = ?`,
      )
      .run(
        status,
        at,
        at,
        status === 'Processing' ? process.pid : null,
        status,
        error ?? null,
        name,
      );
  }

  /** Scheduled for `at`, or, when the schedule has no more runs, no next run (status kept). */
  scheduleNext(name: string, at: Date | null): void {
    if (at) this.setStatus(name, 'Scheduled');
    this.db
      .prepare(`UPDATE connectors SET next_run_at = ? WHERE name = ?`)
      .run(at?.toISOString() ?? null, name);
  }

  get(name: string): ConnectorRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM connectors WHERE name = ?`).get(name) as
      ConnectorRow | undefined;
  }

  list(): ConnectorRow[] {
    return this.db
      .prepare(`SELECT ${COLUMNS} FROM connectors ORDER BY name`)
      .all() as ConnectorRow[];
  }

  /** The Airbyte state to pass back to the source, as it sent it. */
  state(name: string): unknown {
    const json = this.db
      .prepare(`SELECT state FROM connectors WHERE name = ?`)
      .pluck()
      .get(name) as string | null;
    return json ? JSON.parse(json) : undefined;
  }

  /** Call inside the transaction that commits the data this state covers. */
  saveState(name: string, state: unknown): void {
    this.db
      .prepare(`UPDATE connectors SET state = ?, state_at = ? WHERE name = ?`)
      .run(JSON.stringify(state), this.now().toISOString(), name);
  }

  /**
   * Opens a run. A run still marked Processing belongs to a process that died mid-sync; its
   * committed checkpoints stand, and it is closed as Interrupted.
   */
  startRun(name: string): number {
    const at = this.now().toISOString();
    this.db
      .prepare(
        `UPDATE runs SET status = 'Interrupted', finished_at = ? WHERE connector = ? AND status = 'Processing'`,
      )
      .run(at, name);
    return Number(
      this.db
        .prepare(`INSERT INTO runs (connector, started_at, status) VALUES (?, ?, 'Processing')`)
        .run(name, at).lastInsertRowid,
    );
  }

  finishRun(id: number, status: 'Processed' | 'Failed', summary: unknown, error?: string): void {
    this.db
      .prepare(`UPDATE runs SET status = ?, finished_at = ?, summary = ?, error = ? WHERE id = ?`)
      .run(status, this.now().toISOString(), JSON.stringify(summary), error ?? null, id);
  }

  lastRun(name: string, before?: number): RunRow | undefined {
    return this.db
      .prepare(`SELECT * FROM runs WHERE connector = ? AND id < ? ORDER BY id DESC LIMIT 1`)
      .get(name, before ?? Number.MAX_SAFE_INTEGER) as RunRow | undefined;
  }
}
