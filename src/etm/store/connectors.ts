/**
 * Connectors (one per subscription) and their runs. A connector moves Registered → Scheduled →
 * Processing → Processed, or Failed, or Interrupted (stopped by the user; the next sync resumes
 * from its last checkpoint); each state change is stamped. The source's state is saved
 * by the sync inside the transaction that commits the data it covers (saveState), never alone.
 * Only the config file's path is kept, never its content: it holds the password.
 */
import { VError } from 'verror';

import { Sql } from './sql';

export type ConnectorStatus =
  'Registered' | 'Scheduled' | 'Processing' | 'Processed' | 'Failed' | 'Interrupted';

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
  interrupted_at: string | null;
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

export const CONNECTOR_COLUMNS = `name, base_url, username, config_path, profile, status, status_at, registered_at, scheduled_at,
  next_run_at, processing_at, processed_at, failed_at, interrupted_at, last_error, state_at, pid, network`;

const STAMP: Record<ConnectorStatus, string> = {
  Registered: 'registered_at',
  Scheduled: 'scheduled_at',
  Processing: 'processing_at',
  Processed: 'processed_at',
  Failed: 'failed_at',
  Interrupted: 'interrupted_at',
};

/** Whether a process with this id runs on this machine. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A connector left Processing by an etm process that no longer runs (killed mid-sync): its
 * committed checkpoints stand and the next sync resumes from them.
 */
export function isInterrupted(c: ConnectorRow): boolean {
  return c.status === 'Processing' && c.pid !== null && !isAlive(c.pid);
}

/** Scheduled by an etm process that no longer runs: nothing will start its next run. */
export function isOrphaned(c: ConnectorRow): boolean {
  return c.status === 'Scheduled' && (c.pid === null || !isAlive(c.pid));
}

export class Connectors {
  constructor(
    private readonly sql: Sql,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Creates the connector (Registered) or refreshes its descriptive fields; a network, once
   * declared, stays until another is declared.
   */
  async register(info: ConnectorInfo): Promise<void> {
    const at = this.now().toISOString();
    await this.sql.run(
      `INSERT INTO connectors (name, base_url, username, config_path, profile, network, status, status_at, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, 'Registered', ?, ?)
         ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url, username = excluded.username,
           config_path = excluded.config_path, profile = COALESCE(excluded.profile, connectors.profile),
           network = COALESCE(excluded.network, connectors.network)`,
      [
        info.name,
        info.baseUrl ?? null,
        info.username ?? null,
        info.configPath ?? null,
        info.profile ?? null,
        info.network ?? null,
        at,
        at,
      ],
    );
  }

  /** Subscription label → declared network, for the connectors that declared one. */
  async networks(): Promise<Map<string, string>> {
    const rows = await this.sql.all<{ name: string; network: string }>(
      `SELECT name, network FROM connectors WHERE network IS NOT NULL`,
    );
    return new Map(rows.map((r) => [r.name, r.network]));
  }

  /**
   * The connector, when another live process is syncing it (Processing with that process's id):
   * one sync per connector at a time, or both would spend the subscription's API limits.
   */
  async busyElsewhere(name: string): Promise<ConnectorRow | null> {
    return busyIn(await this.get(name));
  }

  /** The first of these connectors another live process is syncing, or null. */
  async firstBusy(names: ReadonlyArray<string>): Promise<ConnectorRow | null> {
    for (const name of names) {
      const busy = await this.busyElsewhere(name);
      if (busy) return busy;
    }
    return null;
  }

  /**
   * Processing, by this process, unless another live one is syncing it: checked and set in one
   * transaction (on PostgreSQL with the connector's row locked, SELECT … FOR UPDATE).
   */
  async claim(name: string): Promise<void> {
    const own = !this.sql.inTransaction;
    if (own) await this.sql.begin();
    try {
      const lock = this.sql.engine === 'postgres' ? ' FOR UPDATE' : '';
      const row = await this.sql.get<ConnectorRow>(
        `SELECT ${CONNECTOR_COLUMNS} FROM connectors WHERE name = ?${lock}`,
        [name],
      );
      const busy = busyIn(row);
      if (busy) throw busyError(busy);
      await this.setStatus(name, 'Processing');
      if (own) await this.sql.commit();
    } catch (err) {
      if (own) await this.sql.rollback();
      throw err;
    }
  }

  /**
   * Back from Scheduled when no run will come (the scheduler stopped): the status of its last
   * run, or Registered.
   */
  async unschedule(name: string): Promise<void> {
    const last = (await this.lastRun(name))?.status;
    const status: ConnectorStatus =
      last === 'Processed' || last === 'Failed' || last === 'Interrupted' ? last : 'Registered';
    await this.sql.run(
      `UPDATE connectors SET status = ?, status_at = ?, next_run_at = NULL, pid = NULL
          WHERE name = ? AND status = 'Scheduled'`,
      [status, this.now().toISOString(), name],
    );
  }

  /** Moves the connector to `status` now; Processing and Scheduled record this process's id. */
  async setStatus(name: string, status: ConnectorStatus, error?: string): Promise<void> {
    const at = this.now().toISOString();
    await this.sql.run(
      `UPDATE connectors SET status = ?, status_at = ?, ${STAMP[status]} = ?, pid = ?,
           last_error = CASE ? WHEN 'Failed' THEN ? WHEN 'Interrupted' THEN ? WHEN 'Processed' THEN NULL
             ELSE last_error END
         WHERE name = ?`,
      [
        status,
        at,
        at,
        status === 'Processing' || status === 'Scheduled' ? process.pid : null,
        status,
        error ?? null,
        error ?? null,
        name,
      ],
    );
  }

  /** Scheduled for `at`, or, when the schedule has no more runs, no next run (status kept). */
  async scheduleNext(name: string, at: Date | null): Promise<void> {
    if (at) await this.setStatus(name, 'Scheduled');
    await this.sql.run(`UPDATE connectors SET next_run_at = ? WHERE name = ?`, [
      at?.toISOString() ?? null,
      name,
    ]);
  }

  get(name: string): Promise<ConnectorRow | undefined> {
    return this.sql.get<ConnectorRow>(
      `SELECT ${CONNECTOR_COLUMNS} FROM connectors WHERE name = ?`,
      [name],
    );
  }

  list(): Promise<ConnectorRow[]> {
    return this.sql.all<ConnectorRow>(`SELECT ${CONNECTOR_COLUMNS} FROM connectors ORDER BY name`);
  }

  /** The Airbyte state to pass back to the source, as it sent it. */
  async state(name: string): Promise<unknown> {
    const row = await this.sql.get<{ state: string | null }>(
      `SELECT state FROM connectors WHERE name = ?`,
      [name],
    );
    return row?.state ? JSON.parse(row.state) : undefined;
  }

  /** Call inside the transaction that commits the data this state covers. */
  async saveState(name: string, state: unknown): Promise<void> {
    await this.sql.run(`UPDATE connectors SET state = ?, state_at = ? WHERE name = ?`, [
      JSON.stringify(state),
      this.now().toISOString(),
      name,
    ]);
  }

  /** Forgets the source's state: the next sync reads from scratch. */
  async clearState(name: string): Promise<void> {
    await this.sql.run(`UPDATE connectors SET state = NULL, state_at = NULL WHERE name = ?`, [
      name,
    ]);
  }

  /**
   * Opens a run. A run still marked Processing belongs to a process that died mid-sync; its
   * committed checkpoints stand, and it is closed as Interrupted.
   */
  async startRun(name: string): Promise<number> {
    const at = this.now().toISOString();
    await this.sql.run(
      `UPDATE runs SET status = 'Interrupted', finished_at = ? WHERE connector = ? AND status = 'Processing'`,
      [at, name],
    );
    const row = await this.sql.get<{ id: number }>(
      `INSERT INTO runs (connector, started_at, status) VALUES (?, ?, 'Processing') RETURNING id`,
      [name, at],
    );
    return (row as { id: number }).id;
  }

  async finishRun(
    id: number,
    status: 'Processed' | 'Failed' | 'Interrupted',
    summary: unknown,
    error?: string,
  ): Promise<void> {
    await this.sql.run(
      `UPDATE runs SET status = ?, finished_at = ?, summary = ?, error = ? WHERE id = ?`,
      [status, this.now().toISOString(), JSON.stringify(summary), error ?? null, id],
    );
  }

  lastRun(name: string, before?: number): Promise<RunRow | undefined> {
    // 2^31 - 1: ids are INTEGER on PostgreSQL.
    return this.sql.get<RunRow>(
      `SELECT * FROM runs WHERE connector = ? AND id < ? ORDER BY id DESC LIMIT 1`,
      [name, before ?? 2147483647],
    );
  }
}

/** The connector, when it is Processing by another live process. */
function busyIn(c: ConnectorRow | undefined): ConnectorRow | null {
  if (!c || c.status !== 'Processing' || c.pid === null || c.pid === process.pid) return null;
  return isAlive(c.pid) ? c : null;
}

export function busyError(c: ConnectorRow): Error {
  return new VError(
    'connector %s is being synced by another etm process (pid %d, since %s); wait for it to finish or stop it',
    c.name,
    c.pid,
    c.processing_at ?? c.status_at,
  );
}
