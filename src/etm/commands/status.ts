/**
 * `etm status [--db F] [--format table|json]`: every connector with its state (Registered,
 * Scheduled, Processing, Processed, Failed) and when it got there, its next scheduled run, and
 * its last run (json: one object per connector, the run's summary an object).
 */
import { VError } from 'verror';

import { Io, writeLine } from '../io';
import { Connectors, isInterrupted, isOrphaned } from '../store/connectors';
import { EtmStore } from '../store/database';
import { cell, writeTable } from '../table';

export interface StatusOptions {
  readonly db: string;
  readonly format: string;
}

const COLUMNS = [
  'CONNECTOR',
  'STATUS',
  'SINCE',
  'PROFILE',
  'LAST RUN',
  'RECORDS',
  'NEXT RUN',
  'ERROR',
];

export async function status(options: StatusOptions, io: Io): Promise<number> {
  if (options.format !== 'table' && options.format !== 'json') {
    throw new VError('--format must be table or json, not %j', options.format);
  }
  const store = await EtmStore.open(options.db, { readonly: true });
  try {
    const connectors = new Connectors(store.sql);
    const rows = [];
    for (const c of await connectors.list()) {
      const run = await connectors.lastRun(c.name);
      const summary = run?.summary ? (JSON.parse(run.summary) as { records?: number }) : undefined;
      rows.push({
        connector: c,
        run,
        records: summary?.records,
        interrupted: isInterrupted(c),
        orphaned: isOrphaned(c),
      });
    }
    if (options.format === 'json') {
      for (const { connector, run, interrupted } of rows) {
        const { state_at: stateSavedAt, pid: _pid, ...fields } = connector;
        const line = {
          ...fields,
          interrupted,
          scheduler_running: connector.status === 'Scheduled' ? !isOrphaned(connector) : null,
          state_saved_at: stateSavedAt,
          // The run's summary as an object, not JSON inside a string.
          last_run: run ? { ...run, summary: run.summary ? JSON.parse(run.summary) : null } : null,
        };
        await writeLine(io.stdout, JSON.stringify(line));
      }
      return 0;
    }
    await writeTable(
      io.stdout,
      COLUMNS,
      rows.map(({ connector: c, run, records, interrupted, orphaned }) => [
        c.name,
        interrupted
          ? 'Processing (interrupted)'
          : orphaned
            ? 'Scheduled (no scheduler running)'
            : c.status,
        c.status_at,
        cell(c.profile),
        run ? `${run.status} ${run.finished_at ?? run.started_at}` : '-',
        cell(records),
        cell(c.next_run_at),
        cell(c.last_error),
      ]),
    );
    // The table cuts long cells; an error is worth reading whole.
    for (const { connector: c } of rows) {
      if (c.last_error) await writeLine(io.stdout, `\n${c.name} (${c.status}): ${c.last_error}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
