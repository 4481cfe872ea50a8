/**
 * A finding's status history across runs, on both engines: syncs of the real source between scan
 * cycles that fix a detection and then reopen it. The store's triggers record each status a
 * host's report took with the run that brought it (store/schema.ts); the history the console's
 * finding page shows is the sequence of statuses the store held after each sync, with no entry
 * for a sync that only re-reported the detection.
 */
import { ReadModel, StatusChange } from '../../src/etm/query/read-model';
import { EtmStore } from '../../src/etm/store/database';
import { ScanCycleReport, Simulator, startSimulator } from '../../src/simulator';
import { jsonRecords } from './console-store';
import { requireBuilt, runEtm, sourceConfig } from './e2e';
import { onEachEngine, tempDir, tempLocation } from './helpers';

onEachEngine('a finding fixed then reopened', () => {
  let sim: Simulator;
  let location: ReturnType<typeof tempLocation>;
  let config: string;
  /** The tracked finding's status after each sync (run i + 1 is the i-th sync). */
  const statuses: string[] = [];
  let key: string;
  let externalId: string;

  const findingsNow = async (): Promise<Record<string, unknown>[]> => {
    const r = await runEtm([
      'query',
      '--db',
      location.db,
      '--format',
      'json',
      'finding.vendorProductName: VMDR',
    ]);
    expect(r.status).toBe(0);
    return jsonRecords(r.stdout);
  };
  const sync = async (): Promise<void> => {
    const r = await runEtm(['sync', '--config', config, '--db', location.db]);
    expect(r.stderr).not.toMatch(/error|warn/i);
    expect(r.status).toBe(0);
  };

  beforeAll(async () => {
    requireBuilt();
    sim = await startSimulator({ hosts: 20, detectionsPerHost: 10, qids: 100, seed: 7 });
    config = sourceConfig(tempDir(), 'cycled', sim);
    location = tempLocation();
    await sync();
    // Cycles until one detection was fixed and, in a later cycle, reopened.
    const reports: ScanCycleReport[] = [];
    let tracked: { hostId: number; uniqueVulnId: number } | undefined;
    const snapshots: Record<string, unknown>[][] = [await findingsNow()];
    for (let i = 0; i < 12 && !tracked; i++) {
      reports.push(sim.scanCycle({ hostFraction: 1, purgeFraction: 0 }));
      await sync();
      snapshots.push(await findingsNow());
      const latest = reports[reports.length - 1];
      tracked = latest.reopened.find((r) =>
        reports
          .slice(0, -1)
          .some((p) =>
            p.fixed.some((f) => f.hostId === r.hostId && f.uniqueVulnId === r.uniqueVulnId),
          ),
      );
    }
    if (!tracked) throw new Error('no detection was fixed and then reopened in 12 scan cycles');
    externalId = String(tracked.uniqueVulnId);
    const hostId = String(tracked.hostId);
    for (const snapshot of snapshots) {
      const f = snapshot.find(
        (x) => x.qualysHostId === hostId && x.externalFindingId === externalId,
      );
      if (f) {
        key = f.findingKey as string;
        statuses.push(f.findingStatus as string);
      } else statuses.push('');
    }
  }, 240000);

  afterAll(async () => {
    await sim?.close();
    await location?.remove();
  });

  test('its history is each status it took, with the run that brought it', async () => {
    expect(statuses).toContain('FIXED');
    expect(statuses[statuses.length - 1]).toBe('REOPENED');
    const expected: Partial<StatusChange>[] = [];
    let previous: string | null = null;
    statuses.forEach((status, i) => {
      if (status === '' || status === previous) return;
      expected.push({ run: i + 1, from: previous, to: status });
      previous = status;
    });
    const store = await EtmStore.open(location.db, { readonly: true });
    try {
      const view = await new ReadModel(store).finding(key);
      expect(view?.record.externalFindingId).toBe(externalId);
      const history = view?.history ?? [];
      expect(history.map(({ run, from, to }) => ({ run, from, to }))).toEqual(expected);
      expect(history.map((h) => h.subscription)).toEqual(expected.map(() => 'cycled'));
      // In run order, each at a moment of its run.
      const runs = await store.sql.all<{ id: number; started_at: string }>(
        `SELECT id, started_at FROM runs ORDER BY id`,
      );
      for (const h of history) {
        expect(h.runStartedAt).toBe(runs.find((r) => r.id === h.run)?.started_at);
        expect((h.at as string) >= (h.runStartedAt as string)).toBe(true);
      }
    } finally {
      await store.close();
    }
  });
});
