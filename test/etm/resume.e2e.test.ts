/**
 * A sync killed mid-way against the real source: `etm sync` (and the `bin/main read` it runs) is
 * killed after its first committed checkpoint with findings; syncing again resumes from the
 * stored state and must end with exactly the store one clean sync makes. The simulator's latency
 * spreads the sync over many small ranges, so the kill lands between checkpoints of
 * host_detections, with more to come.
 */
import fs from 'fs';
import path from 'path';

import { Simulator, startSimulator } from '../../src/simulator';
import {
  committedFindings,
  connectors,
  finished,
  readStore,
  requireBuilt,
  runEtm,
  sourceConfig,
  startEtm,
  waitFor,
} from './e2e';
import { tempDir } from './helpers';

describe('a sync killed after a checkpoint, against bin/main', () => {
  const dir = tempDir();
  let sim: Simulator;
  let config: string;

  beforeAll(async () => {
    requireBuilt();
    sim = await startSimulator({
      hosts: 150,
      detectionsPerHost: 10,
      qids: 300,
      seed: 21,
      startTime: '2025-06-02T12:00:00Z',
      latencyMs: 100,
    });
    // Small ranges: many checkpoints.
    config = sourceConfig(dir, 'resumed', sim, {
      hosts_page_size: 15,
      detections_page_size: 15,
      kb_batch_size: 50,
    });
  });

  afterAll(async () => {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('sync, kill, re-sync gives the same store as one clean sync', async () => {
    const killed = path.join(dir, 'killed.db');
    const child = startEtm(['sync', '--config', config, '--db', killed], {
      detached: true,
      tmpdir: dir,
    });
    const exit = finished(child);
    try {
      // The first checkpoints carry hosts only; wait for one that committed findings.
      await waitFor(async () => (await committedFindings(killed)) > 0);
    } finally {
      // The whole group: etm and the source it started.
      process.kill(-(child.pid as number), 'SIGKILL');
    }
    expect((await exit).signal).toBe('SIGKILL');
    const [interrupted] = await connectors(killed);
    expect(interrupted).toMatchObject({ name: 'resumed', status: 'Processing' });
    expect(interrupted.state_at).toBeTruthy();
    const partial = await readStore(killed);

    const resumed = await runEtm(['sync', '--config', config, '--db', killed]);
    expect(resumed.status).toBe(0);
    const clean = path.join(dir, 'clean.db');
    expect((await runEtm(['sync', '--config', config, '--db', clean])).status).toBe(0);

    const expected = await readStore(clean);
    expect(expected.assets).toHaveLength(150);
    expect(partial.findings.length).toBeGreaterThan(0);
    expect(partial.findings.length).toBeLessThan(expected.findings.length);
    expect(await readStore(killed)).toEqual(expected);
    expect((await connectors(killed))[0]).toMatchObject({ status: 'Processed', last_error: null });
  }, 60000);
});
