/**
 * End-to-end against the real source and simulator: two simulated subscriptions sharing part of
 * their hosts (and those hosts' vulnerabilities), `etm sync` running `bin/main read` for each,
 * then a second (incremental) sync. What the store must hold comes from the data sets (oracle.ts).
 */
import fs from 'fs';
import path from 'path';

import Database from 'better-sqlite3';

import { Simulator, startSimulator } from '../../src/simulator';
import { readStore, requireBuilt, Run, runEtm, sourceConfig, StoreContent } from './e2e';
import { tempDir } from './helpers';
import { DEFAULT_DETECTION_PARAMS, expectedStore, ingested, Subscription } from './oracle';

// The configs ingest information gathered too: the oracle asks the server for what the source does.
const PARAMS = { ...DEFAULT_DETECTION_PARAMS, show_igs: '1' };

describe('etm sync against bin/main and the simulator', () => {
  const dir = tempDir();
  const db = path.join(dir, 'etm.db');
  const subscriptions: Subscription[] = [];
  const configs: string[] = [];
  let sync: Run;
  let store: StoreContent;

  beforeAll(async () => {
    requireBuilt();
    const common = { hosts: 120, detectionsPerHost: 10, qids: 300 };
    const sims: [string, Simulator][] = [
      ['sub-a', await startSimulator({ ...common, seed: 11 })],
      [
        'sub-b',
        await startSimulator({
          ...common,
          seed: 12,
          username: 'second_user',
          overlapWith: { seed: 11, fraction: 0.25 },
        }),
      ],
    ];
    for (const [label, sim] of sims) {
      subscriptions.push({ label, sim });
      configs.push(sourceConfig(dir, label, sim, { include_information_gathered: true }));
    }
    sync = await runEtm(['sync', '--config', configs[0], '--config', configs[1], '--db', db]);
    store = await readStore(db);
  }, 60000);

  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.sim.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('both subscriptions sync; shared hosts become shared assets: the right merged asset count', () => {
    for (const s of subscriptions) {
      expect(sync.stderr).not.toContain(s.sim.password);
      expect(sync.stdout).not.toContain(s.sim.password);
    }
    expect(sync.status).toBe(0);
    const [a, b] = subscriptions;
    const expected = expectedStore(a, b, PARAMS);
    // These seeds are chosen so that the rules join exactly the hosts the simulators share.
    const designed = b.sim.dataset.sharedHosts().map((s) => [s.partnerHostId, s.hostId]);
    expect(expected.pairs).toEqual(designed);
    expect(sync.stdout).toMatch(new RegExp(`assets: +\\d+ new, ${designed.length} hosts joined`));
    expect(store.assets).toHaveLength(240 - designed.length);
    expect(store.assets).toHaveLength(expected.assets);
    const merged = store.assets.filter((x) => (x.qualysHosts as unknown[]).length === 2);
    expect(merged).toHaveLength(designed.length);
    for (const x of merged) expect(x.subscriptions).toEqual(['sub-a', 'sub-b']);
    expect(store.findings).toHaveLength(expected.findings);
    for (const f of store.findings.slice(0, 50)) {
      expect(f.findingName).toEqual(expect.any(String));
      expect(['NEW', 'ACTIVE', 'REOPENED', 'FIXED', null]).toContain(f.findingStatus);
    }
  });

  test('a finding both subscriptions report is one etm_Finding, from the report last found', () => {
    const [a, b] = subscriptions;
    const [reportsA, reportsB] = [ingested(a, PARAMS), ingested(b, PARAMS)];
    const findingsOf = new Map<string, Record<string, unknown>[]>();
    for (const f of store.findings) {
      const key = f.assetKey as string;
      findingsOf.set(key, [...(findingsOf.get(key) ?? []), f]);
    }
    let shared = 0;
    for (const { partnerHostId, hostId } of b.sim.dataset.sharedHosts()) {
      const asset = store.assets.find((x) =>
        (x.qualysHosts as { hostId: string }[]).some((h) => h.hostId === String(hostId)),
      ) as Record<string, unknown>;
      const ofA = reportsA.get(partnerHostId) ?? new Map();
      const ofB = reportsB.get(hostId) ?? new Map();
      const findings = findingsOf.get(asset.assetKey as string) ?? [];
      const keyOf = (f: Record<string, unknown>): string =>
        (f.findingKey as string).slice((asset.assetKey as string).length + 1);
      // One etm_Finding per finding identity, whichever subscriptions report it.
      expect(findings.map(keyOf).sort()).toEqual(
        [...new Set([...ofA.keys(), ...ofB.keys()])].sort(),
      );
      for (const f of findings) {
        const [x, y] = [ofA.get(keyOf(f)), ofB.get(keyOf(f))];
        if (!x || !y) continue;
        shared++;
        // The latest LAST_FOUND wins; a tie goes to the first subscription by name.
        const latest = y.LAST_FOUND_DATETIME > x.LAST_FOUND_DATETIME ? y : x;
        expect(f).toMatchObject({
          subscription: latest === x ? 'sub-a' : 'sub-b',
          externalFindingId: String(latest.UNIQUE_VULN_ID),
        });
      }
    }
    expect(shared).toBe(expectedStore(a, b, PARAMS).sharedFindings);
    expect(shared).toBeGreaterThan(0);
  });

  test('a second sync resumes from the stored state', async () => {
    const r = await runEtm(['sync', '--config', configs[0], '--db', db]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/assets: +0 new/);
    expect(await readStore(db)).toEqual(store);
  }, 60000);

  test('a state kept while etm read host_detections resumes the detections stream', async () => {
    // As an etm before it read detections left it: the detections part named host_detections.
    const sqlite = new Database(db);
    const row = sqlite.prepare(`SELECT state FROM connectors WHERE name = 'sub-b'`).get() as {
      state: string;
    };
    const kept = JSON.parse(row.state) as { stream: { stream_descriptor: { name: string } } }[];
    const names = kept.map((s) => s.stream.stream_descriptor.name).sort();
    expect(names).toEqual(['detections', 'hosts', 'knowledge_base']);
    for (const s of kept) {
      if (s.stream.stream_descriptor.name === 'detections') {
        s.stream.stream_descriptor.name = 'host_detections';
      }
    }
    sqlite
      .prepare(`UPDATE connectors SET state = ? WHERE name = 'sub-b'`)
      .run(JSON.stringify(kept));
    sqlite.close();

    const r = await runEtm(['sync', '--config', configs[1], '--db', db]);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toContain(
      'sub-b: the host_detections state now resumes the detections stream',
    );
    // Nothing changed on the server: no detection is read again.
    expect(r.stdout).toMatch(/sub-b: 0 records/);
    expect(await readStore(db)).toEqual(store);
  }, 60000);
});
