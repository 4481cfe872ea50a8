/**
 * The store the console and CLI output tests read: two small simulated subscriptions sharing
 * part of their hosts (the demo's data sets), each synced by `etm sync` through the real source,
 * then a scan cycle and an incremental sync, so that there are merged assets, several runs and
 * status changes. Runs bin/etm, i.e. lib/ (`npm run build` first).
 */
import fs from 'fs';
import path from 'path';

import { DEMO_SCAN_CYCLE, demoSubscriptions } from '../../src/etm/demo/subscriptions';
import { Simulator, startSimulator } from '../../src/simulator';
import { requireBuilt, runEtm, sourceConfig } from './e2e';
import { Engine } from '../../src/etm/store/sql';
import { tempDir, tempLocation } from './helpers';

export interface SyncedStore {
  readonly dir: string;
  readonly db: string;
  /** The simulators' passwords, which nothing the console or CLI shows may contain. */
  readonly passwords: string[];
  close(): Promise<void>;
}

/** One store of `engine` (see syncedStores). */
export async function syncedStore(hosts = 30, engine: Engine = 'sqlite'): Promise<SyncedStore> {
  const stores = await syncedStores(hosts, [engine]);
  return { ...stores, db: stores.dbs[engine] as string };
}

/**
 * A store per engine in `engines`, each synced from the same simulators in the same steps, so
 * that they hold the same data.
 */
export async function syncedStores(
  hosts: number,
  engines: ReadonlyArray<Engine>,
): Promise<Omit<SyncedStore, 'db'> & { dbs: Partial<Record<Engine, string>> }> {
  requireBuilt();
  const dir = tempDir('etm-console-');
  const sims: Simulator[] = [];
  const locations = engines.map((e) =>
    e === 'sqlite'
      ? { engine: e, db: path.join(dir, 'etm.db'), remove: async () => undefined }
      : { engine: e, ...tempLocation('postgres') },
  );
  const close = async (): Promise<void> => {
    await Promise.all(sims.map((s) => s.close()));
    await Promise.all(locations.map((l) => l.remove()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const configs: string[] = [];
    for (const s of demoSubscriptions(hosts)) {
      const sim = await startSimulator({ ...s.options, password: `pw-${s.label}-Zq81x` });
      sims.push(sim);
      configs.push('--config', sourceConfig(dir, s.label, sim));
    }
    const sync = async (): Promise<void> => {
      for (const { db } of locations) {
        const r = await runEtm(['sync', ...configs, '--db', db]);
        if (r.status !== 0) throw new Error(`etm sync failed: ${r.stderr}`);
      }
    };
    await sync();
    for (const sim of sims) sim.scanCycle(DEMO_SCAN_CYCLE);
    await sync();
    return {
      dir,
      dbs: Object.fromEntries(locations.map((l) => [l.engine, l.db])),
      passwords: sims.map((s) => s.password),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** RFC 4180 CSV into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (c !== '\r') cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** What a CSV cell holds for a record's value: lists joined with ",", objects "id:name". */
export function csvText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) {
    return v
      .map((x) => (x && typeof x === 'object' ? Object.values(x).join(':') : String(x)))
      .join(',');
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export const jsonRecords = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { record: Record<string, unknown> }).record);

/** TruRisk 1.0 worked out independently from an asset's findings (README "TruRisk"). */
export function expectedTruRisk(
  findings: Record<string, unknown>[],
  criticality: number | null,
): { bands: Map<string, { count: number; average: number }>; score: number } {
  const edges: [string, number, number][] = [
    ['critical', 90, 1.0],
    ['high', 70, 0.6],
    ['medium', 40, 0.4],
    ['low', 0, 0.2],
  ];
  const open = findings.filter(
    (f) =>
      ['NEW', 'ACTIVE', 'REOPENED'].includes(f.findingStatus as string) &&
      f.ignoreFinding !== true &&
      f.findingSubType !== 'INFORMATION' &&
      typeof f.detectionScore === 'number' &&
      f.detectionScore > 0,
  );
  const bands = new Map<string, { count: number; average: number }>();
  let total = 0;
  for (const [name, min, weight] of edges) {
    const upper = edges[edges.findIndex((e) => e[0] === name) - 1]?.[1] ?? Infinity;
    const scores = open.map((f) => f.detectionScore as number).filter((s) => s >= min && s < upper);
    if (scores.length === 0) continue;
    const average = scores.reduce((a, b) => a + b, 0) / scores.length;
    bands.set(name, { count: scores.length, average });
    total += weight * average * Math.pow(scores.length, 0.01);
  }
  return { bands, score: Math.min(1000, Math.round((criticality ?? 2) * total)) };
}
