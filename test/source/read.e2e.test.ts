import detectionsSchema from '../../resources/schemas/detections.json';
import hostDetectionsSchema from '../../resources/schemas/host_detections.json';
import { validateConfig } from '../../src/config';
import { detectionParams, hostListParams } from '../../src/qualys/params';
import { attackMappingOf } from '../../src/qualys/mitre';
import { threatIntelOf } from '../../src/qualys/qid-info';
import {
  Detection,
  DetectionRecord,
  HostDetectionRecord,
  HostRecord,
  KnowledgeBaseRecord,
} from '../../src/records';
import { Simulator } from '../../src/simulator';
import { detectionFilters } from '../../src/streams/host_detections';
import { encodeIdRuns, mergeIdRuns } from '../../src/streams/id-runs';
import {
  catalog,
  configFor,
  decodeState,
  expectCleanRun,
  expectValid,
  lastState,
  recordsOf,
  recordValidator,
  Run,
  runMain,
  simulator,
} from './harness';

/** Fields an HLD HOST shares with the Host List HOST of the same host. */
const IDENTITY = [
  'ID',
  'ASSET_ID',
  'IP',
  'IPV6',
  'TRACKING_METHOD',
  'DNS',
  'DNS_DATA',
  'CLOUD_PROVIDER',
  'CLOUD_SERVICE',
  'CLOUD_RESOURCE_ID',
  'EC2_INSTANCE_ID',
  'NETBIOS',
  'OS',
  'QG_HOSTID',
  'TAGS',
] as const;
/** KB elements that need request flags the source does not send (show_disabled_flag…). */
const KB_FLAG_ONLY = ['IS_DISABLED', 'CHANGE_LOG_LIST', 'SUPPORTED_MODULES'];
const MITRE = [
  'MITRE_TACTIC_ID',
  'MITRE_TACTIC_NAME',
  'MITRE_TECHNIQUE_ID',
  'MITRE_TECHNIQUE_NAME',
] as const;

function byId<T extends { ID: number }>(records: T[]): T[] {
  return [...records].sort((a, b) => a.ID - b.ID);
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}

function pick<T extends object>(value: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(
    keys.filter((k) => k in value).map((k) => [k, (value as Record<string, unknown>)[k]]),
  ) as Partial<T>;
}

function withoutJoin(detection: Detection): Detection {
  const copy: Record<string, unknown> = { ...detection };
  for (const key of [
    'QID_INFO',
    'MITRE_TACTIC_ID',
    'MITRE_TACTIC_NAME',
    'MITRE_TECHNIQUE_ID',
    'MITRE_TECHNIQUE_NAME',
  ]) {
    delete copy[key];
  }
  return copy as unknown as Detection;
}

function withoutResults(detection: Detection): Detection {
  const copy = { ...detection };
  delete copy.RESULTS;
  return copy;
}

/** Every record of `run` valid against its stream schema. */
function expectValidRecords(run: Run) {
  for (const message of run.messages.filter((m) => m.type === 'RECORD')) {
    const { stream, data } = message.record;
    expectValid(recordValidator(stream), data, `${stream} record`);
  }
}

/** host_detections records equal what the simulator serves for the source's request filters. */
function expectDetectionsOf(
  sim: Simulator,
  config: Record<string, unknown>,
  records: HostDetectionRecord[],
  only?: number[],
) {
  let expected = sim.dataset.matchDetections(detectionParams(validateConfig(config)));
  if (only) expected = expected.filter((m) => only.includes(m.hostId));
  const hosts = byId(records);
  expect(hosts.map((h) => h.ID)).toEqual(expected.map((m) => m.hostId));
  hosts.forEach((host, i) => {
    const model = sim.dataset.host(host.ID) as HostRecord;
    expect(pick(host, IDENTITY)).toEqual(pick(model, IDENTITY));
    expect(host.subscription).toBe(config.subscription);
    expect(host.VULNERABILITIES.map(withoutJoin)).toEqual(
      expected[i].detections.map(withoutResults),
    );
    for (const detection of host.VULNERABILITIES) {
      const kb = sim.dataset.kb(detection.QID) as KnowledgeBaseRecord;
      expect(detection.QID_INFO?.qid).toMatchObject({
        qid: detection.QID,
        title: kb.TITLE,
        description: kb.DIAGNOSIS,
        cveId: (kb.CVE_LIST ?? []).map((c) => c.ID),
      });
      expect(detection.MITRE_TACTIC_ID?.length).toBe(detection.MITRE_TACTIC_NAME?.length);
    }
  });
}

function expectKbOf(sim: Simulator, records: KnowledgeBaseRecord[], qids: number[]) {
  const sorted = [...records].sort((a, b) => a.QID - b.QID);
  expect(sorted.map((r) => r.QID)).toEqual(qids);
  sorted.forEach((record) => {
    const { subscription, ...rest } = record;
    expect(subscription).toBe('sim');
    const model = { ...sim.dataset.kb(record.QID) } as KnowledgeBaseRecord;
    for (const key of KB_FLAG_ONLY) delete model[key];
    // With the QID's ATT&CK arrays, as host_detections puts them on its detections.
    expect(rest).toEqual({ ...model, ...attackMappingOf(threatIntelOf(model), model.CATEGORY) });
  });
}

/**
 * `detections` records equal what the simulator serves for the source's request filters: one per
 * detection, in the host's order, with the host's fields, its key, and no QID_INFO or ATT&CK.
 */
function expectFlatDetectionsOf(
  sim: Simulator,
  config: Record<string, unknown>,
  records: DetectionRecord[],
  only?: number[],
) {
  let expected = sim.dataset.matchDetections(detectionParams(validateConfig(config)));
  if (only) expected = expected.filter((m) => only.includes(m.hostId));
  const rows = expected.flatMap(({ hostId, detections }) => {
    const host = sim.dataset.host(hostId) as HostRecord;
    const fields = {
      subscription: config.subscription,
      HOST_ID: hostId,
      ...pick(host, ['ASSET_ID', 'IP', 'TRACKING_METHOD', 'DNS', 'NETBIOS', 'OS']),
      // The simulator's LAST_SCAN_DATETIME is its LAST_VULN_SCAN_DATETIME.
      LAST_SCAN_DATETIME: host.LAST_VULN_SCAN_DATETIME,
    };
    return detections.map((d) => ({
      ...fields,
      ...withoutResults(d),
      DETECTION_KEY: String(d.UNIQUE_VULN_ID),
    }));
  });
  expect(rows.length).toBeGreaterThan(0);
  // Stable: each host's detections keep their order.
  expect([...records].sort((a, b) => a.HOST_ID - b.HOST_ID)).toEqual(rows);
}

/** Bytes per detection on stdout: RECORD lines of `stream`, per detection in them. */
function bytesPerDetection(run: Run, stream: 'detections' | 'host_detections'): number {
  const lines = run.stdout.split('\n').filter((l) => l.includes(`"stream":"${stream}"`));
  const detections = lines.reduce(
    (n, line) =>
      n +
      (stream === 'detections'
        ? 1
        : (JSON.parse(line).record.data as HostDetectionRecord).VULNERABILITIES.length),
    0,
  );
  return lines.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0) / detections;
}

/** A stream's schema without `left`: the configured stream of a connection that deselected them. */
function schemaWithout(schema: { properties: object }, left: readonly string[]): object {
  const properties = Object.fromEntries(
    Object.entries(schema.properties).filter(([name]) => !left.includes(name)),
  );
  return { ...schema, properties };
}

/** A catalog of `streams` whose json_schemas are the given ones (Airbyte's column selection). */
function selectingCatalog(schemas: Record<string, object>) {
  const configured = catalog(Object.keys(schemas));
  for (const { stream } of configured.streams) stream.json_schema = schemas[stream.name];
  return configured;
}

function without<T extends object>(record: T, left: readonly string[]): Partial<T> {
  return Object.fromEntries(
    Object.entries(record).filter(([name]) => !left.includes(name)),
  ) as Partial<T>;
}

const byDetection = (a: Partial<DetectionRecord>, b: Partial<DetectionRecord>) =>
  (a.HOST_ID as number) - (b.HOST_ID as number) ||
  String(a.DETECTION_KEY).localeCompare(String(b.DETECTION_KEY));

function streamStates(run: Run, stream: string): Record<string, unknown>[] {
  return run.messages
    .filter((m) => m.type === 'STATE')
    .map((m) => decodeState(m.state)[stream] as Record<string, unknown>)
    .filter((s) => s !== undefined);
}

describe('bin/main read against the simulator', () => {
  let sim: Simulator;
  let firstRun: Run;
  const config = configFor({} as Simulator);

  beforeAll(async () => {
    sim = await simulator({ hosts: 120, detectionsPerHost: 6, qids: 150, seed: 3 });
    Object.assign(config, configFor(sim));
    firstRun = await runMain('read', { config, catalog: catalog() });
  });
  afterAll(() => sim.close());

  it('a full read returns exactly the data set, every record valid against its schema', () => {
    expect(firstRun.code).toBe(0);
    expectCleanRun(firstRun);
    expectValidRecords(firstRun);
    const hosts = byId(recordsOf<HostRecord>(firstRun, 'hosts'));
    expect(hosts).toEqual(
      sim.dataset.hostIds().map((id) => ({ ...sim.dataset.host(id), subscription: 'sim' })),
    );
    expectDetectionsOf(sim, config, recordsOf<HostDetectionRecord>(firstRun, 'host_detections'));
    expectKbOf(
      sim,
      recordsOf<KnowledgeBaseRecord>(firstRun, 'knowledge_base'),
      sim.dataset.kbQids(),
    );
  });

  it('emits an ESTIMATE per stream and a STATE after each completed range', () => {
    const estimates = firstRun.messages.filter(
      (m) => m.type === 'TRACE' && m.trace.type === 'ESTIMATE',
    );
    expect(estimates.map((m) => [m.trace.estimate.name, m.trace.estimate.row_estimate])).toEqual([
      ['hosts', 120],
      ['host_detections', 120],
      ['knowledge_base', 150],
    ]);
    const hostStates = streamStates(firstRun, 'hosts');
    // One checkpoint per range of 10 hosts, each recording one more finished range (ranges
    // done are kept merged: count the hosts they cover).
    const ids = sim.dataset.hostIds();
    const hostsDone = hostStates
      .filter((s) => s.pending !== undefined)
      .map((s) => {
        const done = (s.pending as { done: [number, number][] }).done;
        return ids.filter((id) => done.some(([from, to]) => id >= from && id <= to)).length;
      });
    expect(hostsDone).toEqual(Array.from({ length: 12 }, (_, i) => 10 * (i + 1)));
    // The cursor, and every host ID listed, to tell at the next sync which have gone.
    expect(hostStates[hostStates.length - 1]).toEqual({
      filters: { tag_filter: null },
      cursor: sim.clock.nowIso(),
      live: encodeIdRuns(mergeIdRuns(sim.dataset.hostIds().map((id) => [id, id]))),
    });
  });

  it('an incremental read after a scan cycle returns exactly what changed', async () => {
    const report = sim.scanCycle({ hostFraction: 0.2, purgeFraction: 0.05, kbFraction: 0.1 });
    expect(report.changedHostIds.length).toBeGreaterThan(5);
    const run = await runMain('read', { config, catalog: catalog(), state: lastState(firstRun) });
    expect(run.code).toBe(0);
    expectCleanRun(run);
    expectValidRecords(run);
    const [deleted, hosts] = partition(byId(recordsOf<HostRecord>(run, 'hosts')), (h) =>
      Boolean(h._ab_cdc_deleted_at),
    );
    // Purged hosts arrive as deletions (Airbyte CDC), stamped with the server's time, in the
    // cursor field too (destinations apply a deletion whose cursor is at least the row's).
    expect(report.purgedHostIds.length).toBeGreaterThan(0);
    const now = sim.clock.nowIso();
    expect(deleted).toEqual(
      report.purgedHostIds.map((ID) => ({
        ID,
        subscription: 'sim',
        _ab_cdc_deleted_at: now,
        LAST_VULN_SCAN_DATETIME: now,
      })),
    );
    const [deletedDetections, detectionHosts] = partition(
      byId(recordsOf<HostDetectionRecord>(run, 'host_detections')),
      (h) => Boolean(h._ab_cdc_deleted_at),
    );
    expect(deletedDetections).toEqual(
      report.purgedHostIds.map((ID) => ({
        ID,
        subscription: 'sim',
        _ab_cdc_deleted_at: now,
        LAST_SCAN_DATETIME: now,
        VULNERABILITIES: [],
      })),
    );
    for (const row of firstRun.messages.filter((m) => m.type === 'RECORD')) {
      const { stream, data } = row.record;
      if (stream === 'knowledge_base' || !report.purgedHostIds.includes(data.ID)) continue;
      const cursor = data[stream === 'hosts' ? 'LAST_VULN_SCAN_DATETIME' : 'LAST_SCAN_DATETIME'];
      if (cursor !== undefined) expect(Date.parse(now)).toBeGreaterThanOrEqual(Date.parse(cursor));
    }
    expect(hosts.map((h) => h.ID)).toEqual(report.changedHostIds);
    expect(hosts).toEqual(
      report.changedHostIds.map((id) => ({ ...sim.dataset.host(id), subscription: 'sim' })),
    );
    expectDetectionsOf(sim, config, detectionHosts, report.changedHostIds);
    for (const fixed of report.fixed) {
      const host = recordsOf<HostDetectionRecord>(run, 'host_detections').find(
        (h) => h.ID === fixed.hostId,
      );
      expect(
        host?.VULNERABILITIES.find((d) => d.UNIQUE_VULN_ID === fixed.uniqueVulnId)?.STATUS,
      ).toBe('Fixed');
    }
    expectKbOf(sim, recordsOf<KnowledgeBaseRecord>(run, 'knowledge_base'), report.modifiedQids);
    // Deletions are said once: the next sync has none.
    const again = await runMain('read', {
      config,
      catalog: catalog(['hosts']),
      state: lastState(run),
    });
    expect(again.code).toBe(0);
    expect(recordsOf<HostRecord>(again, 'hosts').filter((h) => h._ab_cdc_deleted_at)).toEqual([]);
  });

  it('a full refresh emits no deletions, and keeps the IDs it listed for the next sync', async () => {
    const purged = sim.purge(sim.dataset.hostIds().slice(0, 2));
    const run = await runMain('read', {
      config,
      catalog: catalog(['hosts'], 'full_refresh'),
      state: lastState(firstRun),
    });
    expect(run.code).toBe(0);
    const hosts = recordsOf<HostRecord>(run, 'hosts');
    expect(hosts.filter((h) => h._ab_cdc_deleted_at)).toEqual([]);
    expect(hosts.map((h) => h.ID)).not.toContain(purged[0]);
    const live = encodeIdRuns(mergeIdRuns(sim.dataset.hostIds().map((id) => [id, id])));
    expect(streamStates(run, 'hosts').pop()).toEqual({
      filters: { tag_filter: null },
      cursor: sim.clock.nowIso(),
      live,
    });
  });
});

describe('bin/main read: the knowledge-base join', () => {
  it('fetches QID_INFO in full batches of kb_batch_size, not one batch per range', async () => {
    const sim = await simulator({ hosts: 200, detectionsPerHost: 6, qids: 300, seed: 5 });
    try {
      const config = configFor(sim, { kb_batch_size: 60 });
      const run = await runMain('read', { config, catalog: catalog(['host_detections']) });
      expect(run.code).toBe(0);
      const records = recordsOf<HostDetectionRecord>(run, 'host_detections');
      expectDetectionsOf(sim, config, records);
      const qids = new Set(records.flatMap((h) => h.VULNERABILITIES.map((d) => d.QID)));
      // 20 ranges of 10 hosts; a batch sent at each range's end made about one KB call each.
      const fullBatches = Math.ceil(qids.size / 60);
      expect(qids.size).toBeGreaterThan(200);
      expect(sim.stats().calls.kb).toBeGreaterThanOrEqual(fullBatches);
      expect(sim.stats().calls.kb).toBeLessThanOrEqual(fullBatches + 2);
    } finally {
      await sim.close();
    }
  });
});

describe('bin/main read with filters', () => {
  let sim: Simulator;
  beforeAll(
    async () => (sim = await simulator({ hosts: 80, detectionsPerHost: 8, qids: 120, seed: 11 })),
  );
  afterAll(() => sim.close());

  it('sends the configured filters and gets exactly the matching hosts and detections', async () => {
    const tag = sim.dataset.tags().find((t) => /^eval-/.test(t.name)) ?? sim.dataset.tags()[0];
    const config = configFor(sim, {
      severities: [3, 4, 5],
      statuses: ['Active', 'Re-Opened', 'Fixed'],
      finding_types: ['Confirmed'],
      include_ignored: false,
      include_information_gathered: true,
      include_results: true,
      results_max_length: 64,
      tag_filter: `${tag.name}, no-such-tag`,
    });
    const run = await runMain('read', {
      config,
      catalog: catalog(['hosts', 'host_detections', 'detections']),
    });
    expect(run.code).toBe(0);
    expectCleanRun(run);
    const expectedHosts = sim.dataset.matchHosts(hostListParams(validateConfig(config)));
    expect(expectedHosts.length).toBeGreaterThan(0);
    expect(expectedHosts.length).toBeLessThan(80);
    expect(byId(recordsOf<HostRecord>(run, 'hosts')).map((h) => h.ID)).toEqual(expectedHosts);
    const expected = sim.dataset.matchDetections(detectionParams(validateConfig(config)));
    const hosts = byId(recordsOf<HostDetectionRecord>(run, 'host_detections'));
    expect(hosts.map((h) => h.ID)).toEqual(expected.map((m) => m.hostId));
    hosts.forEach((host, i) => {
      const want = expected[i].detections;
      expect(host.VULNERABILITIES.map((d) => d.UNIQUE_VULN_ID)).toEqual(
        want.map((d) => d.UNIQUE_VULN_ID),
      );
      host.VULNERABILITIES.forEach((d, j) => {
        const results = want[j].RESULTS;
        if (results === undefined || results.length <= 64) expect(d.RESULTS).toBe(results);
        else {
          expect(d.RESULTS?.length).toBeLessThanOrEqual(64);
          expect(d.RESULTS).toMatch(/\n\[… \d+ more characters truncated\]$/);
        }
      });
    });
    // detections (parsed, not encoded, with RESULTS): the same detections, flat, capped alike.
    const flat = recordsOf<DetectionRecord>(run, 'detections');
    // Its ESTIMATE counts detections, not hosts: the first range's detections per listed host
    // times the hosts listed (exact here: one range).
    const estimates = run.messages
      .filter((m) => m.type === 'TRACE' && m.trace.type === 'ESTIMATE')
      .map((m) => [m.trace.estimate.name, m.trace.estimate.row_estimate]);
    expect(estimates).toEqual([
      ['hosts', expectedHosts.length],
      ['host_detections', expectedHosts.length],
      ['detections', flat.length],
    ]);
    expect(flat.sort((a, b) => a.HOST_ID - b.HOST_ID)).toEqual(
      byId(recordsOf<HostDetectionRecord>(run, 'host_detections')).flatMap((host) =>
        host.VULNERABILITIES.map((d) => ({
          subscription: 'sim',
          HOST_ID: host.ID,
          ...pick(host, ['ASSET_ID', 'IP', 'TRACKING_METHOD', 'DNS', 'NETBIOS', 'OS']),
          LAST_SCAN_DATETIME: host.LAST_SCAN_DATETIME,
          ...withoutJoin(d),
          DETECTION_KEY: String(d.UNIQUE_VULN_ID),
        })),
      ),
    );
  });
});

describe('bin/main read killed mid-way', () => {
  let sim: Simulator;
  beforeAll(
    async () =>
      (sim = await simulator({
        hosts: 100,
        detectionsPerHost: 5,
        qids: 100,
        seed: 5,
        latencyMs: 30,
      })),
  );
  afterAll(() => sim.close());

  it('resumes from its last STATE, skips finished ranges and ends with the same set', async () => {
    const config = configFor(sim, { max_concurrency: 2 });
    const streams = catalog(['host_detections']);
    const clean = await runMain('read', { config, catalog: streams });
    expect(clean.code).toBe(0);
    let checkpoints = 0;
    const killed = await runMain(
      'read',
      { config, catalog: streams },
      (m) => m.type === 'STATE' && ++checkpoints === 5,
    );
    expect(killed.signal).toBe('SIGKILL');
    const state = lastState(killed);
    const pending = (
      decodeState(state).host_detections as { pending: { done: [number, number][] } }
    ).pending;
    expect(pending.done.length).toBeGreaterThan(0);
    const resumed = await runMain('read', { config, catalog: streams, state });
    expect(resumed.code).toBe(0);
    expectCleanRun(resumed);
    const key = (h: HostDetectionRecord) => h.ID;
    const merged = new Map<number, HostDetectionRecord>();
    for (const host of [
      ...recordsOf<HostDetectionRecord>(killed, 'host_detections'),
      ...recordsOf<HostDetectionRecord>(resumed, 'host_detections'),
    ]) {
      merged.set(key(host), host);
    }
    expect(byId([...merged.values()])).toEqual(
      byId(recordsOf<HostDetectionRecord>(clean, 'host_detections')),
    );
    const resumedIds = recordsOf<HostDetectionRecord>(resumed, 'host_detections').map(key);
    for (const [from, to] of pending.done) {
      expect(resumedIds.filter((id) => id >= from && id <= to)).toEqual([]);
    }
    const final = streamStates(resumed, 'host_detections').pop();
    const live = encodeIdRuns(mergeIdRuns(sim.dataset.hostIds().map((id) => [id, id])));
    expect(final).toEqual({
      filters: detectionFilters(validateConfig(config)),
      cursor: sim.clock.nowIso(),
      live,
    });
  });
});

describe('bin/main read: the detections stream', () => {
  let sim: Simulator;
  let firstRun: Run;
  const config = configFor({} as Simulator);
  const streams = catalog(['host_detections', 'knowledge_base', 'detections']);

  beforeAll(async () => {
    sim = await simulator({ hosts: 60, detectionsPerHost: 6, qids: 100, seed: 9 });
    Object.assign(config, configFor(sim));
    firstRun = await runMain('read', { config, catalog: streams });
  });
  afterAll(() => sim.close());

  it('a full read: one flat record per detection, exactly the data set', () => {
    expect(firstRun.code).toBe(0);
    expectCleanRun(firstRun);
    expectValidRecords(firstRun);
    expectFlatDetectionsOf(sim, config, recordsOf<DetectionRecord>(firstRun, 'detections'));
    // host_detections is as it was, and knowledge_base now carries its detections' ATT&CK.
    const hosts = recordsOf<HostDetectionRecord>(firstRun, 'host_detections');
    expectDetectionsOf(sim, config, hosts);
    const kb = new Map(
      recordsOf<KnowledgeBaseRecord>(firstRun, 'knowledge_base').map((r) => [r.QID, r]),
    );
    for (const detection of hosts.flatMap((h) => h.VULNERABILITIES)) {
      expect(pick(kb.get(detection.QID) as KnowledgeBaseRecord, MITRE)).toEqual(
        pick(detection, MITRE),
      );
    }
    const final = streamStates(firstRun, 'detections').pop();
    const live = encodeIdRuns(mergeIdRuns(sim.dataset.hostIds().map((id) => [id, id])));
    expect(final).toEqual({
      filters: detectionFilters(validateConfig(config)),
      cursor: sim.clock.nowIso(),
      live,
    });
  });

  it('column selection: every record without the columns the catalog leaves out, keys and cursor kept', async () => {
    // QDS_FACTORS and a host field left out; so are PORT (a part of DETECTION_KEY), HOST_ID (of
    // the primary key) and the cursor, which the source writes all the same.
    const kept = ['PORT', 'HOST_ID', 'LAST_SCAN_DATETIME'];
    const left = ['QDS_FACTORS', 'OS', 'LAST_PROCESSED_DATETIME', ...kept];
    const run = await runMain('read', {
      config,
      catalog: selectingCatalog({
        detections: schemaWithout(detectionsSchema, left),
        host_detections: schemaWithout(hostDetectionsSchema, ['OS', 'ID']),
      }),
    });
    expect(run.code).toBe(0);
    expectCleanRun(run);
    const dropped = left.filter((f) => !kept.includes(f));
    expect(recordsOf<DetectionRecord>(run, 'detections').sort(byDetection)).toEqual(
      recordsOf<DetectionRecord>(firstRun, 'detections')
        .map((r) => without(r, dropped))
        .sort(byDetection),
    );
    expect(recordsOf<DetectionRecord>(firstRun, 'detections')[0]).toHaveProperty('QDS_FACTORS');
    // Object records (host_detections) lose top-level fields only; ID is their key.
    expect(byId(recordsOf<HostDetectionRecord>(run, 'host_detections'))).toEqual(
      byId(recordsOf<HostDetectionRecord>(firstRun, 'host_detections')).map((r) =>
        without(r, ['OS']),
      ),
    );
    expect(run.messages.map((m) => m.log?.message).filter(Boolean)).toContain(
      'detections: columns the catalog does not select are left out: OS, QDS_FACTORS, LAST_PROCESSED_DATETIME',
    );
  });

  it("an incremental read: the changed hosts' detections, and a deletion per purged host", async () => {
    const report = sim.scanCycle({ hostFraction: 0.2, purgeFraction: 0.05, kbFraction: 0 });
    expect(report.purgedHostIds.length).toBeGreaterThan(0);
    const run = await runMain('read', {
      config,
      catalog: catalog(['detections']),
      state: lastState(firstRun),
    });
    expect(run.code).toBe(0);
    expectCleanRun(run);
    expectValidRecords(run);
    const [deleted, rows] = partition(recordsOf<DetectionRecord>(run, 'detections'), (r) =>
      Boolean(r._ab_cdc_deleted_at),
    );
    const now = sim.clock.nowIso();
    expect(deleted).toEqual(
      report.purgedHostIds.map((HOST_ID) => ({
        subscription: 'sim',
        HOST_ID,
        DETECTION_KEY: '*',
        _ab_cdc_deleted_at: now,
        LAST_SCAN_DATETIME: now,
      })),
    );
    // Deletions come first, before the first checkpoint.
    const firstState = run.messages.findIndex((m) => m.type === 'STATE');
    const records = run.messages.filter((m) => m.type === 'RECORD');
    expect(run.messages.indexOf(records[deleted.length - 1])).toBeLessThan(firstState);
    // No stored row of a purged host has a later cursor than its deletion.
    for (const row of recordsOf<DetectionRecord>(firstRun, 'detections')) {
      if (report.purgedHostIds.includes(row.HOST_ID)) {
        expect(Date.parse(now)).toBeGreaterThanOrEqual(
          Date.parse(row.LAST_SCAN_DATETIME as string),
        );
      }
    }
    expect([...new Set(rows.map((r) => r.HOST_ID))].sort((a, b) => a - b)).toEqual(
      report.changedHostIds,
    );
    expectFlatDetectionsOf(sim, config, rows, report.changedHostIds);
    // Fixed detections the source ingests (not information gathered, on hosts still listed).
    const ingested = new Set(
      recordsOf<DetectionRecord>(firstRun, 'detections').map((r) => r.DETECTION_KEY),
    );
    const fixedIngested = report.fixed.filter(
      (f) => ingested.has(String(f.uniqueVulnId)) && !report.purgedHostIds.includes(f.hostId),
    );
    expect(fixedIngested.length).toBeGreaterThan(0);
    for (const fixed of fixedIngested) {
      const row = rows.find((r) => r.DETECTION_KEY === String(fixed.uniqueVulnId));
      expect(row).toMatchObject({ HOST_ID: fixed.hostId, STATUS: 'Fixed' });
    }
    // Said once: a third read, with nothing changed, has no records.
    const again = await runMain('read', {
      config,
      catalog: catalog(['detections']),
      state: lastState(run),
    });
    expect(again.code).toBe(0);
    expect(recordsOf(again, 'detections')).toEqual([]);
  });
});

describe('bin/main read: bytes per detection on stdout', () => {
  it('detections takes at most 1,100 bytes a detection (800 without QDS_FACTORS and OS), under 60% of host_detections', async () => {
    // The benchmark's data set: 50 detections a host, 2,000 QIDs, QDS factors on each.
    const sim = await simulator({ hosts: 100, detectionsPerHost: 50, qids: 2000, seed: 3 });
    try {
      const run = await runMain('read', {
        config: configFor(sim, { detections_page_size: 50 }),
        catalog: catalog(['host_detections', 'detections']),
      });
      expect(run.code).toBe(0);
      const flat = bytesPerDetection(run, 'detections');
      const nested = bytesPerDetection(run, 'host_detections');
      expect(recordsOf(run, 'detections').length).toBeGreaterThan(4000);
      expect(flat).toBeLessThanOrEqual(1100);
      expect(flat / nested).toBeLessThan(0.6);
      // A connection that leaves QDS_FACTORS and OS out (Airbyte's column selection) gets less.
      const selected = await runMain('read', {
        config: configFor(sim, { detections_page_size: 50 }),
        catalog: selectingCatalog({
          detections: schemaWithout(detectionsSchema, ['QDS_FACTORS', 'OS']),
        }),
      });
      expect(selected.code).toBe(0);
      expect(recordsOf(selected, 'detections').length).toBe(recordsOf(run, 'detections').length);
      expect(bytesPerDetection(selected, 'detections')).toBeLessThanOrEqual(800);
    } finally {
      await sim.close();
    }
  });
});
