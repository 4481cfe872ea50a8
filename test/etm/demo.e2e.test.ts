/**
 * `etm demo` as a process: it starts its own simulators; this test starts the same data sets
 * (demoSubscriptions, the same scan cycle) to know what the demo must print and leave in its store.
 */
import fs from 'fs';
import path from 'path';

import { DEMO_SCAN_CYCLE, demoSubscriptions } from '../../src/etm/demo/subscriptions';
import { startSimulator } from '../../src/simulator';
import { count, readStore, requireBuilt, Run, runEtm } from './e2e';
import { tempDir } from './helpers';
import { expectedStore, ingested, Subscription } from './oracle';

const HOSTS = 60;

type Keys = Map<number, Map<string, unknown>>;

/**
 * The store after purges: what the live hosts give (`live`), plus what purged hosts leave behind
 * — an asset of their own unless merged with a live host, and their findings (closed) on it.
 * `pairs` are the hosts merged before the cycle (emea, americas); keys per subscription.
 */
function withPurgedHosts(
  live: { assets: number; findings: number },
  pairs: [number, number][],
  keysBefore: Keys[],
  keysAfter: Keys[],
  purged: Set<number>[],
): { assets: number; findings: number } {
  let { assets, findings } = live;
  const partner = [new Map(pairs.map(([x, y]) => [x, y])), new Map(pairs.map(([x, y]) => [y, x]))];
  const keysOf = (keys: Keys, id: number) => new Set((keys.get(id) ?? new Map()).keys());
  for (const side of [0, 1]) {
    const other = 1 - side;
    for (const id of purged[side]) {
      const mate = partner[side].get(id);
      if (mate !== undefined && purged[other].has(mate)) {
        if (side === 1) continue; // counted once, from emea's side
        assets++;
        findings += new Set([...keysOf(keysBefore[side], id), ...keysOf(keysBefore[other], mate)])
          .size;
      } else if (mate !== undefined) {
        const mateKeys = keysOf(keysAfter[other], mate);
        findings += [...keysOf(keysBefore[side], id)].filter((k) => !mateKeys.has(k)).length;
      } else {
        assets++;
        findings += keysOf(keysBefore[side], id).size;
      }
    }
  }
  return { assets, findings };
}

describe('etm demo', () => {
  const dir = tempDir();
  const db = path.join(dir, 'demo.db');
  let subscriptions: Subscription[];
  let run: Run;

  beforeAll(async () => {
    requireBuilt();
    subscriptions = [];
    for (const s of demoSubscriptions(HOSTS))
      subscriptions.push({ label: s.label, sim: await startSimulator(s.options) });
    run = await runEtm(['demo', '--db', db, '--hosts', String(HOSTS), '--no-serve']);
  }, 60000);

  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.sim.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs to completion and introduces both subscriptions', () => {
    expect(run.stderr).not.toMatch(/warning|FAILED/);
    expect(run.status).toBe(0);
    const americas = subscriptions[1];
    const shared = americas.sim.dataset.sharedHosts().length;
    expect(shared).toBeGreaterThan(0);
    expect(run.stdout).toMatch(new RegExp(`emea +http://127\\.0\\.0\\.1:\\d+ +${HOSTS} hosts\\n`));
    expect(run.stdout).toMatch(
      new RegExp(
        `americas +http://127\\.0\\.0\\.1:\\d+ +${HOSTS} hosts, ${shared} of them machines emea scans too`,
      ),
    );
    expect(run.stdout).toMatch(/^emea: [\d,]+ records/m);
    expect(run.stdout).toMatch(/^americas: [\d,]+ records/m);
  });

  test('one view of both: the merged asset count and the findings both report, from the data sets', () => {
    const [emea, americas] = subscriptions;
    const expected = expectedStore(emea, americas);
    // These seeds are chosen so that the rules join exactly the hosts the simulators share.
    const designed = americas.sim.dataset.sharedHosts().map((s) => [s.partnerHostId, s.hostId]);
    expect(expected.pairs).toEqual(designed);
    expect(run.stdout).toContain(`  hosts     americas ${HOSTS}, emea ${HOSTS}\n`);
    const assets = /^ {2}assets {4}([\d,]+): ([\d,]+) hold hosts of both subscriptions/m.exec(
      run.stdout,
    );
    expect(assets && [count(assets[1]), count(assets[2])]).toEqual([
      2 * HOSTS - designed.length,
      designed.length,
    ]);
    const findings = /^ {2}findings {2}([\d,]+): ([\d,]+) reported by both/m.exec(run.stdout);
    expect(findings && [count(findings[1]), count(findings[2])]).toEqual([
      expected.findings,
      expected.sharedFindings,
    ]);
    expect(expected.sharedFindings).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/Riskiest assets[^\n]*\nassetKey +assetName/);
  });

  test('the scan cycle and what changed in ETM after the incremental sync', async () => {
    const [emea, americas] = subscriptions;
    const before = expectedStore(emea, americas);
    const sharedHostIds = new Set(
      americas.sim.dataset.sharedHosts().flatMap((s) => [s.hostId, s.partnerHostId]),
    );
    // Detection keys per host before the cycle: purged hosts keep theirs in the store, closed.
    const keysBefore = subscriptions.map((s) => ingested(s));
    const purged: Set<number>[] = [];
    let fixed = { min: 0, max: 0 };
    let reopened = { min: 0, max: 0 };
    for (const s of subscriptions) {
      const report = s.sim.scanCycle(DEMO_SCAN_CYCLE);
      purged.push(new Set(report.purgedHostIds));
      expect(run.stdout).toMatch(
        new RegExp(
          `^ {2}${s.label} +${report.changedHostIds.length} hosts rescanned: ${report.added.length} detections new, ` +
            `${report.fixed.length} fixed, ${report.reopened.length} reopened; ${report.modifiedQids.length} KB entries updated; ` +
            `${report.purgedHostIds.length} hosts purged$`,
          'm',
        ),
      );
      const taken = new Set(
        [...ingested(s).values()].flatMap((m) => [...m.values()].map((d) => d.UNIQUE_VULN_ID)),
      );
      const bounds = (list: { hostId: number; uniqueVulnId: number }[]) => {
        const ingestedOnes = list.filter((c) => taken.has(c.uniqueVulnId));
        // On a host only one subscription has, each change is the finding's; on a shared one the
        // other subscription's report may be the current one.
        return {
          min: ingestedOnes.filter((c) => !sharedHostIds.has(c.hostId)).length,
          max: ingestedOnes.length,
        };
      };
      const f = bounds(report.fixed);
      const r = bounds(report.reopened);
      fixed = { min: fixed.min + f.min, max: fixed.max + f.max };
      reopened = { min: reopened.min + r.min, max: reopened.max + r.max };
    }
    const live = expectedStore(emea, americas);
    const after = withPurgedHosts(
      live,
      before.pairs,
      keysBefore,
      [ingested(emea), ingested(americas)],
      purged,
    );
    expect(purged[0].size + purged[1].size).toBeGreaterThan(0);
    const changed =
      /What changed in ETM: ([\d,]+) new findings, ([\d,]+) fixed, ([\d,]+) reopened\./.exec(
        run.stdout,
      );
    expect(changed).not.toBeNull();
    const [added, fixedNow, reopenedNow] = (changed as RegExpExecArray).slice(1).map(count);
    expect(added).toBe(after.findings - before.findings);
    expect(fixedNow).toBeGreaterThanOrEqual(fixed.min);
    expect(fixedNow).toBeLessThanOrEqual(fixed.max);
    expect(fixedNow).toBeGreaterThan(0);
    expect(reopenedNow).toBeGreaterThanOrEqual(reopened.min);
    expect(reopenedNow).toBeLessThanOrEqual(reopened.max);
    expect(reopenedNow).toBeGreaterThan(0);
    const closedByPurge = /^ {2}([\d,]+) more closed: Qualys no longer lists their hosts\.$/m.exec(
      run.stdout,
    );
    expect(closedByPurge && count(closedByPurge[1])).toBeGreaterThan(0);

    expect(run.stdout).toContain(`$ bin/etm query --db ${db} 'inventory: (source: VMDR)'`);
    expect(run.stdout).toContain(`(5 of ${after.assets} assets)`);
    expect(run.stdout).toContain(`$ bin/etm query --db ${db} 'finding.vendorProductName: VMDR'`);
    expect(run.stdout).toContain(`(5 of ${after.findings.toLocaleString('en-US')} findings)`);
    // The store stays, with what the queries showed.
    const store = await readStore(db);
    expect([store.assets.length, store.findings.length]).toEqual([after.assets, after.findings]);
  });

  test('its simulators are closed; a file that is not a demo store is not replaced', async () => {
    const url = /emea +(http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1] as string;
    await expect(fetch(`${url}/msp/about.php`)).rejects.toThrow();
    const other = path.join(dir, 'mine.db');
    fs.writeFileSync(other, 'not a demo store');
    const refused = await runEtm(['demo', '--db', other, '--hosts', '10']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/mine\.db exists and is not a demo store; choose another --db/);
    expect(fs.readFileSync(other, 'utf8')).toBe('not a demo store');
  });
});
