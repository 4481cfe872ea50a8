/**
 * `etm run --profile` against the real source and a simulator, on a short recurring schedule:
 * one sync per slot of the schedule, the connector moving Registered → Scheduled → Processing →
 * Processed (and Scheduled again between runs), the profile's filters laid over the config. On a
 * loaded machine etm may start after the first slot or a sync may overrun one; the schedule then
 * skips that slot, so the expected runs are worked out from when etm started and runs ended.
 */
import fs from 'fs';
import path from 'path';

import { EtmStore } from '../../src/etm/store/database';
import { RunRow } from '../../src/etm/store/connectors';
import { Simulator, startSimulator } from '../../src/simulator';
import {
  connectors,
  finished,
  readStore,
  requireBuilt,
  sourceConfig,
  startEtm,
  waitFor,
} from './e2e';
import { tempDir } from './helpers';

const EVERY_MS = 2000;
const SLOTS = 3;

describe('etm run --profile with a recurring schedule, against bin/main', () => {
  const dir = tempDir();
  let sim: Simulator;

  beforeAll(async () => {
    requireBuilt();
    sim = await startSimulator({ hosts: 20, detectionsPerHost: 5, qids: 100, seed: 51 });
  });

  afterAll(async () => {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs a sync per slot (missed slots skipped); the connector goes Registered → Scheduled → Processing → Processed', async () => {
    const db = path.join(dir, 'etm.db');
    sourceConfig(dir, 'scheduled', sim);
    const start = new Date(Date.now() + 2500);
    const end = new Date(start.getTime() + (SLOTS - 1) * EVERY_MS);
    const profile = path.join(dir, 'profile.json');
    fs.writeFileSync(
      profile,
      JSON.stringify({
        name: 'Every 2 s',
        status: 'Active',
        subscriptions: [{ config: 'scheduled.json', filters: { severities: [4, 5] } }],
        schedule: { start: start.toISOString(), end: end.toISOString(), every: '2s' },
      }),
    );
    const child = startEtm(['run', '--profile', profile, '--db', db]);
    const exit = finished(child);
    let done = false;
    void exit.then(() => (done = true));
    const seen: string[] = [];
    await waitFor(async () => {
      const status = (await connectors(db))[0]?.status;
      if (status && status !== seen[seen.length - 1]) seen.push(status);
      return done;
    }, 30000);
    const r = await exit;

    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/profile Every 2 s: schedule complete/);
    const runs = await runsOf(db);
    expect(runs.map((run) => run.status)).toEqual(runs.map(() => 'Processed'));
    const announced = /next run at (\S+)/.exec(r.stderr)?.[1] as string;
    expect(runs.map((run) => slotOf(start, run.started_at))).toEqual(
      expectedSlots(start, announced, runs),
    );
    expect(runs.length).toBeGreaterThanOrEqual(SLOTS - 1);
    expect(r.stderr.match(/next run at/g)).toHaveLength(runs.length);
    // Processed between two runs lasts an instant before Scheduled; it may or may not be seen.
    expect(seen.join(' ')).toMatch(
      new RegExp(
        `^(Registered )?(Scheduled Processing (Processed )?){${runs.length - 1}}Scheduled Processing Processed$`,
      ),
    );
    const [c] = await connectors(db);
    expect(c).toMatchObject({ name: 'scheduled', status: 'Processed', profile: 'Every 2 s' });
    expect(c.next_run_at).toBeNull();
    const stamps = [c.registered_at, c.scheduled_at, c.processing_at, c.processed_at];
    expect([...stamps].sort()).toEqual(stamps);
    const { findings } = await readStore(db);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) expect(f.findingSeverity).toBeGreaterThanOrEqual(4);
  }, 40000);
});

/** The slot of the grid start + k·every that a time falls in. */
function slotOf(start: Date, at: string): number {
  return Math.floor((new Date(at).getTime() - start.getTime()) / EVERY_MS);
}

/**
 * The slots etm should have run in: the first it announced (the first not before it started),
 * then after each run the first slot not before that run ended, while the schedule lasts.
 */
function expectedSlots(start: Date, announced: string, runs: RunRow[]): number[] {
  const slots = [slotOf(start, announced)];
  for (const run of runs) {
    const ended = new Date(run.finished_at as string).getTime() - start.getTime();
    const next = Math.ceil(ended / EVERY_MS);
    if (next >= SLOTS) break;
    slots.push(next);
  }
  return slots;
}

async function runsOf(db: string): Promise<RunRow[]> {
  const store = await EtmStore.open(db, { readonly: true });
  try {
    return await store.sql.all<RunRow>(`SELECT * FROM runs ORDER BY id`);
  } finally {
    await store.close();
  }
}
