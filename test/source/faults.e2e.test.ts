import { validateConfig } from '../../src/config';
import { detectionParams } from '../../src/qualys/params';
import { HostDetectionRecord } from '../../src/records';
import { FaultRule, Simulator, SimulatorOptions } from '../../src/simulator';
import { detectionFilters } from '../../src/streams/host_detections';
import { encodeIdRuns, mergeIdRuns } from '../../src/streams/id-runs';
import {
  catalog,
  configFor,
  decodeState,
  expectCleanRun,
  lastState,
  recordsOf,
  runMain,
  Run,
  simulator,
} from './harness';

const DATA: SimulatorOptions = { hosts: 60, detectionsPerHost: 4, qids: 60, seed: 21 };

/** Reads host_detections under a fault plan; returns the run and the simulator's stats. */
async function readUnder(
  rules: FaultRule[],
  options: SimulatorOptions = {},
  extra: Record<string, unknown> = {},
) {
  const sim = await simulator({ ...DATA, ...options, faults: { rules } });
  try {
    const config = configFor(sim, extra);
    const run = await runMain('read', { config, catalog: catalog(['host_detections']) });
    return { sim, run, config, stats: sim.stats() };
  } finally {
    await sim.close();
  }
}

function expectFullSet(
  sim: Simulator,
  run: Run,
  config: Record<string, unknown>,
  except: number[] = [],
) {
  expect(run.code).toBe(0);
  expectCleanRun(run);
  const expected = sim.dataset
    .matchDetections(detectionParams(validateConfig(config)))
    .filter((m) => !except.includes(m.hostId));
  const hosts = recordsOf<HostDetectionRecord>(run, 'host_detections').sort((a, b) => a.ID - b.ID);
  expect(hosts.map((h) => h.ID)).toEqual(expected.map((m) => m.hostId));
  hosts.forEach((h, i) => {
    expect(h.VULNERABILITIES.map((d) => d.UNIQUE_VULN_ID)).toEqual(
      expected[i].detections.map((d) => d.UNIQUE_VULN_ID),
    );
  });
}

function warnings(run: Run): string[] {
  return run.messages
    .filter((m) => m.type === 'LOG' && m.log.level === 'WARN')
    .map((m) => m.log.message);
}

describe('bin/main read under faults ends with the full set', () => {
  it('409 storms: concurrency (1960) and rate (1965) conflicts', async () => {
    const { sim, run, config, stats } = await readUnder([
      { type: 'conflict', code: 1960, endpoint: 'hld', calls: [1, 3, 4] },
      { type: 'conflict', code: 1965, secondsToWait: 1, endpoint: 'hld', calls: [6] },
    ]);
    expectFullSet(sim, run, config);
    expect(stats.conflicts).toEqual({ '1960': 3, '1965': 1 });
    expect(
      run.messages.some(
        (m) =>
          m.type === 'LOG' &&
          /Rate limit of the detection API reached \((code 1965|X-RateLimit-ToWait-Sec)\): waiting 1 s/.test(
            m.log.message,
          ),
      ),
    ).toBe(true);
  });

  it('5xx errors and 503 maintenance windows', async () => {
    const { sim, run, config, stats } = await readUnder([
      { type: 'http_error', status: 500, endpoint: 'hld', calls: [2] },
      // Call 1 is the check before the read (retried as call 2), call 3 the ID listing.
      { type: 'http_error', status: 502, endpoint: 'host_list', calls: [1, 3] },
      { type: 'maintenance', retryAfterSec: 1, endpoint: 'kb', calls: [1] },
    ]);
    expectFullSet(sim, run, config);
    expect(stats.statusCodes).toMatchObject({ '500': 1, '502': 2, '503': 1 });
    expect(warnings(run).filter((w) => /retry 1 of 2 /.test(w))).toHaveLength(1);
    expect(warnings(run).filter((w) => /retry 1 of 8 /.test(w))).toHaveLength(3);
  });

  it('connection resets and bodies cut mid-XML, resuming after the last host read', async () => {
    const { sim, run, config, stats } = await readUnder([
      { type: 'reset', afterBytes: 6000, endpoint: 'hld', calls: [2, 3] },
      { type: 'truncate', afterBytes: 9000, endpoint: 'hld', calls: [5] },
    ]);
    expectFullSet(sim, run, config);
    expect(stats.faults).toMatchObject({ reset: 2, truncate: 1 });
    expect(warnings(run).some((w) => /truncated response/.test(w))).toBe(true);
  });

  it('timeouts (no byte within `timeout`)', async () => {
    const { sim, run, config } = await readUnder(
      [{ type: 'first_byte', ms: 2500, endpoint: 'hld', calls: [2] }],
      {},
      { timeout: 1 },
    );
    expectFullSet(sim, run, config);
    expect(warnings(run).some((w) => /no data from Qualys for 1 s; retry 1 of 8/.test(w))).toBe(
      true,
    );
  });

  it('a poison host: split down to it, skip it, report it, retry it next sync', async () => {
    const probe = await simulator(DATA);
    const ids = probe.dataset
      .matchDetections(detectionParams(validateConfig(configFor(probe))))
      .map((m) => m.hostId);
    await probe.close();
    const poison = ids[23];
    const { sim, run, config } = await readUnder(
      [{ type: 'poison', hostId: poison }],
      {},
      { timeout: 1 },
    );
    expectFullSet(sim, run, config, [poison]);
    expect(warnings(run)).toContain(
      `host_detections: skipped 1 ids that stalled every request: ${poison}`,
    );
    const state = lastState(run);
    expect(decodeState(state).host_detections).toMatchObject({ skipped: [poison] });
    // Next sync, the host answers again: it is read although it did not change since.
    const healed = await simulator(DATA);
    try {
      const next = await runMain('read', {
        config: configFor(healed, { timeout: 1 }),
        catalog: catalog(['host_detections']),
        state,
      });
      expect(next.code).toBe(0);
      expect(recordsOf<HostDetectionRecord>(next, 'host_detections').map((h) => h.ID)).toEqual([
        poison,
      ]);
      expect(decodeState(lastState(next)).host_detections).toEqual({
        filters: detectionFilters(validateConfig(configFor(healed))),
        cursor: healed.clock.nowIso(),
        live: encodeIdRuns(mergeIdRuns(healed.dataset.hostIds().map((id) => [id, id]))),
      });
    } finally {
      await healed.close();
    }
  });
});

describe('bin/main read within the subscription limits', () => {
  it('never runs more calls than X-Concurrency-Limit-Limit, and waits out the rate window', async () => {
    const { sim, run, config, stats } = await readUnder(
      [],
      { concurrencyLimit: 2, rateLimit: 4, rateWindowSec: 2, latencyMs: 100 },
      { max_concurrency: 8 },
    );
    expectFullSet(sim, run, config);
    expect(stats.maxRunning.hld).toBe(2);
    expect(stats.conflicts['1960']).toBe(0);
    expect(
      run.messages.some(
        (m) =>
          m.type === 'LOG' &&
          /Rate limit of the (detection|host_list) API reached/.test(m.log.message),
      ),
    ).toBe(true);
  });
});
