/**
 * An incremental sync after a scan cycle, against the real source: what the simulator's report
 * says changed is what the store shows — fixed detections are FIXED findings that no longer count
 * toward TruRisk, added ones are there, reopened ones are REOPENED. TruRisk is checked against the
 * simulator's own TRURISK_SCORE for each host (the same TruRisk 1.0 over the same open detections).
 * Hosts the cycle purged arrive as the source's deletion records: their findings close too.
 */
import fs from 'fs';
import path from 'path';

import { isOpen, ScoredFinding } from '../../src/etm/trurisk';
import { DetectionChange, ScanCycleReport, Simulator, startSimulator } from '../../src/simulator';
import { readStore, requireBuilt, runEtm, sourceConfig, StoreContent } from './e2e';
import { tempDir } from './helpers';
import { ingested } from './oracle';

describe('an incremental sync after a scan cycle', () => {
  const dir = tempDir();
  const db = path.join(dir, 'etm.db');
  let sim: Simulator;
  let config: string;
  let before: StoreContent;
  /** The simulator's TRURISK_SCORE per host before the scan cycle. */
  let truRiskBefore: Map<number, number | undefined>;
  let report: ScanCycleReport;
  let after: StoreContent;

  beforeAll(async () => {
    requireBuilt();
    sim = await startSimulator({ hosts: 100, detectionsPerHost: 12, qids: 300, seed: 41 });
    config = sourceConfig(dir, 'cycled', sim);
    expect((await runEtm(['sync', '--config', config, '--db', db])).status).toBe(0);
    before = await readStore(db);
    truRiskBefore = new Map(
      sim.dataset.hostIds().map((id) => [id, sim.dataset.host(id)?.TRURISK_SCORE]),
    );
    report = sim.scanCycle({ hostFraction: 0.3, purgeFraction: 0.1 });
    const second = await runEtm(['sync', '--config', config, '--db', db]);
    expect(second.stdout).toMatch(/detection statuses: +\S*ACTIVE→FIXED/);
    expect(second.status).toBe(0);
    after = await readStore(db);
  }, 60000);

  afterAll(async () => {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The report's changes the source ingests (disabled QIDs and information gathered are not). */
  function ingestedChanges(list: DetectionChange[]): DetectionChange[] {
    const taken = new Set(
      [...ingested({ label: 'cycled', sim }).values()].flatMap((m) =>
        [...m.values()].map((d) => d.UNIQUE_VULN_ID),
      ),
    );
    return list.filter((c) => taken.has(c.uniqueVulnId));
  }

  const byVulnId = (content: StoreContent) =>
    new Map(content.findings.map((f) => [f.externalFindingId as string, f]));

  test('closes fixed findings: FIXED, and no longer counted by TruRisk', () => {
    const fixed = ingestedChanges(report.fixed);
    expect(fixed.length).toBeGreaterThan(10);
    const [was, now] = [byVulnId(before), byVulnId(after)];
    for (const { uniqueVulnId } of fixed) {
      const id = String(uniqueVulnId);
      expect(was.get(id)?.findingStatus).toMatch(/^(NEW|ACTIVE|REOPENED)$/);
      expect(now.get(id)).toMatchObject({ findingStatus: 'FIXED' });
      expect(isOpen(now.get(id) as unknown as ScoredFinding)).toBe(false);
    }
  });

  test('added detections are new findings; reopened ones are REOPENED', () => {
    const [was, now] = [byVulnId(before), byVulnId(after)];
    const added = ingestedChanges(report.added);
    const reopened = ingestedChanges(report.reopened);
    expect(added.length).toBeGreaterThan(0);
    expect(reopened.length).toBeGreaterThan(0);
    for (const { uniqueVulnId } of added) {
      expect(was.has(String(uniqueVulnId))).toBe(false);
      expect(now.get(String(uniqueVulnId))).toMatchObject({ findingStatus: 'NEW' });
    }
    for (const { uniqueVulnId } of reopened)
      expect(now.get(String(uniqueVulnId))).toMatchObject({ findingStatus: 'REOPENED' });
    expect(after.findings).toHaveLength(before.findings.length + added.length);
  });

  test('closes the findings of hosts purged from Qualys, and marks their assets purged', () => {
    const purged = new Set(report.purgedHostIds.map(String));
    expect(purged.size).toBeGreaterThan(1);
    const ofPurged = (content: StoreContent) =>
      content.findings.filter((f) => purged.has(f.qualysHostId as string));
    // Not vacuous: they had open findings, all now FIXED at the sync's server time.
    expect(ofPurged(before).filter((f) => f.findingStatus !== 'FIXED').length).toBeGreaterThan(10);
    expect(ofPurged(after).length).toBe(ofPurged(before).length);
    for (const finding of ofPurged(after)) expect(finding.findingStatus).toBe('FIXED');
    const purgedAssets = after.assets.filter((a) => a.purgedAt !== undefined);
    expect(
      purgedAssets.map((a) => (a.qualysHosts as { hostId: string }[])[0].hostId).sort(),
    ).toEqual([...purged].sort());
    // The store's datetimes are ISO with milliseconds.
    const purgedAt = new Date(sim.clock.nowIso()).toISOString();
    for (const asset of purgedAssets) {
      expect(asset).toMatchObject({ truRiskScore: 0, purgedAt });
    }
  });

  test("every asset's TruRisk is the simulator's for its host, before and after", () => {
    const score = (content: StoreContent) =>
      new Map(
        content.assets
          .filter((a) => a.purgedAt === undefined)
          .map((a) => [
            Number((a.qualysHosts as { hostId: string }[])[0].hostId),
            a.truRiskScore as number,
          ]),
      );
    const [was, now] = [score(before), score(after)];
    for (const id of sim.dataset.hostIds()) {
      expect(was.get(id)).toBe(truRiskBefore.get(id));
      expect(now.get(id)).toBe(sim.dataset.host(id)?.TRURISK_SCORE);
    }
    // Not vacuous: the fixes lowered scores.
    const fixedHosts = new Set(ingestedChanges(report.fixed).map((c) => c.hostId));
    const lowered = [...fixedHosts].filter(
      (id) => (now.get(id) as number) < (was.get(id) as number),
    );
    expect(lowered.length).toBeGreaterThan(0);
  });
});
