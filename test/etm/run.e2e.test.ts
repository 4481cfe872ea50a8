/**
 * `etm run --profile` against the real source and a simulator, on a short recurring schedule:
 * one sync per slot of the schedule, the connector moving Registered → Scheduled → Processing →
 * Processed (and Scheduled again between runs), the profile's filters laid over the config.
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

  test('runs one sync per slot; the connector goes Registered → Scheduled → Processing → Processed', async () => {
    const db = path.join(dir, 'etm.db');
    sourceConfig(dir, 'scheduled', sim);
    const start = new Date(Date.now() + 1500);
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
    await waitFor(() => {
      const status = connectors(db)[0]?.status;
      if (status && status !== seen[seen.length - 1]) seen.push(status);
      return done;
    }, 30000);
    const r = await exit;

    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/profile Every 2 s: schedule complete/);
    expect(r.stderr.match(/next run at/g)).toHaveLength(SLOTS);
    // Processed between two runs lasts an instant before Scheduled; it may or may not be seen.
    expect(seen.join(' ')).toMatch(
      /^(Registered )?(Scheduled Processing (Processed )?){2}Scheduled Processing Processed$/,
    );
    const [c] = connectors(db);
    expect(c).toMatchObject({ name: 'scheduled', status: 'Processed', profile: 'Every 2 s' });
    expect(c.next_run_at).toBeNull();
    const stamps = [c.registered_at, c.scheduled_at, c.processing_at, c.processed_at];
    expect([...stamps].sort()).toEqual(stamps);

    const store = EtmStore.open(db, { readonly: true });
    let runs: RunRow[];
    try {
      runs = store.db.prepare(`SELECT * FROM runs ORDER BY id`).all() as RunRow[];
    } finally {
      store.close();
    }
    expect(runs.map((run) => run.status)).toEqual(Array(SLOTS).fill('Processed'));
    runs.forEach((run, k) => {
      // Each run starts in its own slot of the grid start + k·every.
      const late = new Date(run.started_at).getTime() - (start.getTime() + k * EVERY_MS);
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(EVERY_MS);
    });
    const { findings } = readStore(db);
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) expect(f.findingSeverity).toBeGreaterThanOrEqual(4);
  }, 40000);
});
