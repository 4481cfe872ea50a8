/**
 * bin/main as a real Airbyte 1.x sync runs it (WORKER_JOB_ID set; the rules are summarised in
 * docs/architecture.md, "How a read works"): every message is a valid Airbyte message and follows the
 * platform's and the Bulk-CDK destinations' rules — STATE only for configured streams, per stream,
 * plain JSON, with sourceStats.recordCount; no heartbeat records; STREAM_STATUS per stream — and
 * state passed back as the platform does (the last STATE per stream, as an array) makes the next
 * sync read only what changed.
 */
import fs from 'node:fs';
import path from 'node:path';

import {
  addSourceCommonProperties,
  AirbyteLogger,
  AirbyteSpec,
  AirbyteStreamBase,
  State,
} from 'faros-airbyte-cdk';
import { Dictionary } from 'ts-essentials';

import pkg from '../../package.json';
import spec from '../../resources/spec.json';
import { Simulator } from '../../src/simulator';
import { headingAnchors } from '../markdown-anchors';
import {
  catalog,
  configFor,
  decodeState,
  expectCleanRun,
  lastState,
  Message,
  PLATFORM_ENV,
  recordsOf,
  ROOT,
  Run,
  runMain,
  simulator,
  STREAMS,
} from './harness';

const FAROS_ONLY = [
  'faros_source_id',
  'check_connection',
  'describe_connection',
  'probe_streams',
  'stream_freshness_hours',
  'source_heartbeat_interval_ms',
];

const KEY: Record<string, string> = { hosts: 'ID', host_detections: 'ID', knowledge_base: 'QID' };

/**
 * Holds a read's messages to the platform's rules, for the streams of its catalog; returns the
 * STREAM_STATUS sequence of each stream.
 */
function expectPlatformConformant(run: Run, streams: readonly string[]): Record<string, string[]> {
  expectCleanRun(run); // every message valid against airbyte_protocol.yaml
  const statuses: Record<string, string[]> = Object.fromEntries(streams.map((s) => [s, []]));
  const sinceState: Record<string, number> = Object.fromEntries(streams.map((s) => [s, 0]));
  for (const m of run.messages) {
    // Nothing but the protocol's own fields (the Faros CDK adds sourceStatus, logs, …).
    expect(Object.keys(m).sort()).toEqual(['type', m.type.toLowerCase()].sort());
    expect(['RECORD', 'STATE', 'LOG', 'TRACE']).toContain(m.type);
    if (m.type === 'RECORD') {
      const { stream, data, namespace } = m.record;
      expect(streams).toContain(stream);
      expect(namespace).toBeUndefined();
      // append_dedup fails the sync on a record whose primary key is all null.
      expect(data.subscription).toEqual(expect.any(String));
      expect(data[KEY[stream]]).toEqual(expect.any(Number));
      expect(Object.keys(data).filter((k) => k.startsWith('__faros'))).toEqual([]);
      expect(statuses[stream].at(-1)).toBe('RUNNING');
      sinceState[stream]++;
    } else if (m.type === 'STATE') {
      const { type, stream, sourceStats } = m.state;
      expect(Object.keys(m.state).sort()).toEqual(['sourceStats', 'stream', 'type']);
      expect(type).toBe('STREAM');
      expect(stream.stream_descriptor).toEqual({ name: expect.any(String) });
      expect(streams).toContain(stream.stream_descriptor.name);
      // Plain JSON a person can edit: no gzip blob.
      expect(stream.stream_state).not.toHaveProperty('format');
      expect(stream.stream_state).not.toHaveProperty('data');
      expect(sourceStats).toEqual({ recordCount: sinceState[stream.stream_descriptor.name] });
      sinceState[stream.stream_descriptor.name] = 0;
    } else if (m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS') {
      const { stream_descriptor, status } = m.trace.stream_status;
      expect(streams).toContain(stream_descriptor.name);
      statuses[stream_descriptor.name].push(status);
    }
  }
  // Every record is covered by a later STATE of its stream.
  expect(sinceState).toEqual(Object.fromEntries(streams.map((s) => [s, 0])));
  return statuses;
}

const byId = (records: Message[]) => records.map((r) => r.ID).sort((a, b) => a - b);

describe('bin/main spec, discover and --version for the platform', () => {
  it('spec hides the Faros-only fields from the setup form and points at this documentation', async () => {
    const run = await runMain('spec', {}, undefined, PLATFORM_ENV);
    expect(run.code).toBe(0);
    const { documentationUrl, connectionSpecification } = run.messages[0].spec;
    const properties = connectionSpecification.properties;
    const hidden = Object.keys(properties).filter((k) => properties[k].airbyte_hidden === true);
    expect(hidden.sort()).toEqual([...FAROS_ONLY].sort());
    expect(Object.keys(properties)).toEqual(
      expect.arrayContaining([...Object.keys(spec.connectionSpecification.properties), 'debug']),
    );
    expect(properties.source_heartbeat_interval_ms.description).not.toMatch(/heartbeat records/);
    // The README section the URL names exists (GitHub's anchor of a heading).
    const [, anchor] = documentationUrl.split('#');
    expect(headingAnchors(path.join(ROOT, 'README.md'))).toContain(anchor);
    expect(documentationUrl).not.toMatch(/qualys\.com/);
  });

  it('discover: resumable streams, their schemas exactly, no Faros columns', async () => {
    const run = await runMain(
      'discover',
      { config: { base_url: 'https://qualysapi.qualys.com', username: 'u', password: 'p' } },
      undefined,
      PLATFORM_ENV,
    );
    expect(run.code).toBe(0);
    const streams = run.messages[0].catalog.streams as Message[];
    expect(streams.map((s) => [s.name, s.is_resumable])).toEqual(
      [...STREAMS, 'detections'].map((name) => [name, true]),
    );
    for (const stream of streams) {
      const schema = JSON.parse(
        fs.readFileSync(path.join(ROOT, `resources/schemas/${stream.name}.json`), 'utf8'),
      );
      expect(stream.json_schema).toEqual(schema);
    }
  });

  it('--version and the "Source version" log give the connector version', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin/main'), '--version']);
    expect(out.toString().trim()).toBe(pkg.version);
  });
});

describe('bin/main read as the platform runs it', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await simulator({ hosts: 60, detectionsPerHost: 4, qids: 80, seed: 21 });
  });
  afterAll(() => sim.close());

  it('full refresh: plain messages, statuses in order, the whole data set', async () => {
    const run = await runMain(
      'read',
      { config: configFor(sim), catalog: catalog(STREAMS, 'full_refresh') },
      undefined,
      PLATFORM_ENV,
    );
    expect(run.code).toBe(0);
    const statuses = expectPlatformConformant(run, STREAMS);
    for (const stream of STREAMS)
      expect(statuses[stream]).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    expect(run.messages.find((m) => m.type === 'LOG')?.log.message).toBe(
      `Source version: ${pkg.version}`,
    );
    expect(byId(recordsOf(run, 'hosts'))).toEqual(sim.dataset.hostIds());
    expect(recordsOf(run, 'knowledge_base')).toHaveLength(80);
    // Streams are read one after the other: each one's messages sit between its STARTED and COMPLETE.
    const order = run.messages
      .filter((m) => m.type === 'RECORD' || m.type === 'STATE')
      .map((m) => (m.type === 'RECORD' ? m.record.stream : m.state.stream.stream_descriptor.name));
    expect([...new Set(order)]).toEqual([...STREAMS]);
  });

  it('incremental: the state passed back as an array makes the next sync read only changes', async () => {
    const config = configFor(sim);
    const first = await runMain('read', { config, catalog: catalog() }, undefined, PLATFORM_ENV);
    expect(first.code).toBe(0);
    expectPlatformConformant(first, STREAMS);
    const state = lastState(first);
    expect(state.map((s) => s.stream.stream_descriptor.name)).toEqual([...STREAMS]);
    expect(decodeState(state).hosts).toEqual({
      filters: { tag_filter: null },
      cursor: sim.clock.nowIso(),
      live: expect.any(String),
    });

    const report = sim.scanCycle({ hostFraction: 0.2, purgeFraction: 0.05, kbFraction: 0.1 });
    expect(report.purgedHostIds.length).toBeGreaterThan(0);
    const second = await runMain(
      'read',
      { config, catalog: catalog(), state },
      undefined,
      PLATFORM_ENV,
    );
    expect(second.code).toBe(0);
    expectPlatformConformant(second, STREAMS);
    const now = sim.clock.nowIso();
    for (const [stream, cursor] of [
      ['hosts', 'LAST_VULN_SCAN_DATETIME'],
      ['host_detections', 'LAST_SCAN_DATETIME'],
    ]) {
      const records = recordsOf(second, stream);
      const deletions = records.filter((r) => r._ab_cdc_deleted_at);
      expect(byId(deletions)).toEqual(report.purgedHostIds);
      // A deletion's cursor is no older than the row it deletes: destinations apply it.
      for (const deletion of deletions) {
        expect(deletion._ab_cdc_deleted_at).toBe(now);
        expect(deletion[cursor]).toBe(now);
        const row = recordsOf(first, stream).find((r) => r.ID === deletion.ID);
        if (row?.[cursor]) expect(Date.parse(now)).toBeGreaterThanOrEqual(Date.parse(row[cursor]));
      }
      const changed = byId(records.filter((r) => !r._ab_cdc_deleted_at));
      if (stream === 'hosts') expect(changed).toEqual(report.changedHostIds);
      else expect(report.changedHostIds).toEqual(expect.arrayContaining(changed));
    }
    expect(
      recordsOf(second, 'knowledge_base')
        .map((r) => r.QID)
        .sort((a, b) => a - b),
    ).toEqual(report.modifiedQids);

    // Nothing changed since: no records, and still one STATE per stream.
    const hostListCalls = sim.stats().calls.host_list;
    const third = await runMain(
      'read',
      { config, catalog: catalog(), state: lastState(second) },
      undefined,
      PLATFORM_ENV,
    );
    expect(third.code).toBe(0);
    const statuses = expectPlatformConformant(third, STREAMS);
    expect(third.messages.filter((m) => m.type === 'RECORD')).toEqual([]);
    expect(lastState(third)).toEqual(lastState(second));
    for (const stream of STREAMS) expect(statuses[stream]).toEqual(['STARTED', 'COMPLETE']);
    // The check, each stream's window listing, and one listing of every ID for both streams.
    expect(sim.stats().calls.host_list - hostListCalls).toBe(4);
  });

  it('upgrades the Faros CDK legacy state once, then writes per-stream states', async () => {
    const config = configFor(sim);
    const first = await runMain('read', { config, catalog: catalog() }, undefined, PLATFORM_ENV);
    const streamStates = decodeState(lastState(first));
    // What the CDK wrote on the CLI: the whole connector state, gzipped, with its shared keys.
    const legacy = State.encodeLegacy({
      ...streamStates,
      __stream_freshness_state: { hosts: { lastSyncedAt: 1 } },
    });
    // What it wrote on the platform: gzipped per-stream states and its own fake streams.
    const farosPlatform = [
      ...Object.entries(streamStates).map(([name, s]) => State.encodeStream(name, s)),
      State.encodeStream('__stream_freshness_state', {}, '__faros_shared_state__'),
    ];
    const global = {
      type: 'GLOBAL',
      global: {
        stream_states: Object.entries(streamStates).map(([name, s]) => ({
          stream_descriptor: { name },
          stream_state: s,
        })),
      },
    };
    const report = sim.scanCycle({ hostFraction: 0.1, purgeFraction: 0, kbFraction: 0 });
    for (const state of [legacy, [{ type: 'LEGACY', data: legacy }], farosPlatform, [global]]) {
      const run = await runMain(
        'read',
        { config, catalog: catalog(['hosts']), state },
        undefined,
        PLATFORM_ENV,
      );
      expect(run.code).toBe(0);
      expectPlatformConformant(run, ['hosts']);
      expect(byId(recordsOf(run, 'hosts'))).toEqual(report.changedHostIds);
      expect(decodeState(lastState(run)).hosts).toEqual({
        filters: { tag_filter: null },
        cursor: sim.clock.nowIso(),
        live: (streamStates.hosts as { live: string }).live,
      });
    }
  });

  it('refuses a state it did not write, naming the stream and field, as a config_error', async () => {
    const run = await runMain(
      'read',
      {
        config: configFor(sim),
        catalog: catalog(['hosts']),
        state: [
          {
            type: 'STREAM',
            stream: { stream_descriptor: { name: 'hosts' }, stream_state: { cursor: 'yesterday' } },
          },
        ],
      },
      undefined,
      PLATFORM_ENV,
    );
    expect(run.code).toBe(1);
    expect(
      run.messages.filter((m) => m.type === 'TRACE').map((m) => [m.trace.type, m.trace.error]),
    ).toEqual([
      [
        'ERROR',
        expect.objectContaining({
          failure_type: 'config_error',
          message: 'Invalid --state: the state of stream hosts: cursor is not a date-time',
        }),
      ],
    ]);
    expect(run.messages.filter((m) => m.type === 'RECORD' || m.type === 'STATE')).toEqual([]);
  });
});

describe('bin/main read of a catalog it cannot serve', () => {
  it('refuses streams it does not have as a config_error, before calling Qualys', async () => {
    const run = await runMain(
      'read',
      {
        config: { base_url: 'https://qualysapi.qualys.com', username: 'u', password: 'p' },
        catalog: catalog(['hosts', 'vulns']),
      },
      undefined,
      PLATFORM_ENV,
    );
    expect(run.code).toBe(1);
    expect(
      run.messages
        .filter((m) => m.type === 'TRACE')
        .map((m) => [m.trace.error.failure_type, m.trace.error.message]),
    ).toEqual([
      [
        'config_error',
        'The catalog asks for streams this source does not have: vulns; ' +
          'it has hosts, host_detections, knowledge_base, detections',
      ],
    ]);
  });
});

describe('bin/main read while Qualys makes it wait', () => {
  it('keeps the sync alive by writing the stream state again, never a heartbeat record', async () => {
    const sim = await simulator({ hosts: 20, detectionsPerHost: 2, qids: 20, firstByteMs: 1500 });
    try {
      const config = configFor(sim, { source_heartbeat_interval_ms: 200 });
      const run = await runMain('read', { config, catalog: catalog(['hosts']) }, undefined, {
        ...PLATFORM_ENV,
      });
      expect(run.code).toBe(0);
      expectPlatformConformant(run, ['hosts']);
      // Before the first record, Qualys was silent for seconds: the (empty) state of the waiting
      // stream is written again, each time with no records to count.
      const firstRecord = run.messages.findIndex((m) => m.type === 'RECORD');
      const keepAlive = run.messages
        .slice(0, firstRecord)
        .filter((m) => m.type === 'STATE')
        .map((m) => m.state);
      expect(keepAlive.length).toBeGreaterThanOrEqual(2);
      for (const state of keepAlive) {
        expect(state).toEqual({
          type: 'STREAM',
          stream: { stream_descriptor: { name: 'hosts' }, stream_state: {} },
          sourceStats: { recordCount: 0 },
        });
      }
    } finally {
      await sim.close();
    }
  });

  it('says RATE_LIMITED with the quota reset while waiting out a 409 1965', async () => {
    const sim = await simulator({
      hosts: 20,
      detectionsPerHost: 2,
      qids: 20,
      faults: {
        // Host List call 5: the second range's read (after the check and two ID listings).
        rules: [
          { type: 'conflict', code: 1965, secondsToWait: 2, endpoint: 'host_list', calls: [5] },
        ],
      },
    });
    try {
      const run = await runMain(
        'read',
        { config: configFor(sim, { max_concurrency: 1 }), catalog: catalog(['hosts']) },
        undefined,
        PLATFORM_ENV,
      );
      expect(run.code).toBe(0);
      // Running, rate limited, running again with the next record, complete.
      const statuses = expectPlatformConformant(run, ['hosts']);
      expect(statuses.hosts).toEqual(['STARTED', 'RUNNING', 'RUNNING', 'RUNNING', 'COMPLETE']);
      const limited = run.messages.filter(
        (m) => m.type === 'TRACE' && m.trace.stream_status?.reasons,
      );
      expect(limited).toHaveLength(1);
      const statusTraces = run.messages.filter((m) => m.trace?.type === 'STREAM_STATUS');
      expect(statusTraces.indexOf(limited[0])).toBe(2);
      const { emitted_at, stream_status } = limited[0].trace;
      expect(stream_status.reasons).toEqual([
        { type: 'RATE_LIMITED', rate_limited: { quota_reset: expect.any(Number) } },
      ]);
      const wait = stream_status.reasons[0].rate_limited.quota_reset - emitted_at;
      expect(wait).toBeGreaterThan(1000);
      expect(wait).toBeLessThanOrEqual(2000);
      expect(byId(recordsOf(run, 'hosts'))).toEqual(sim.dataset.hostIds());
    } finally {
      await sim.close();
    }
  });

  it('says RATE_LIMITED while the rate window is spent (X-RateLimit-Remaining: 0)', async () => {
    const sim = await simulator({
      hosts: 30,
      detectionsPerHost: 2,
      qids: 20,
      rateLimit: 3,
      rateWindowSec: 2,
    });
    try {
      const started = Date.now();
      const run = await runMain(
        'read',
        { config: configFor(sim, { max_concurrency: 1 }), catalog: catalog(['hosts']) },
        undefined,
        PLATFORM_ENV,
      );
      expect(run.code).toBe(0);
      const statuses = expectPlatformConformant(run, ['hosts']);
      const resets = run.messages
        .filter((m) => m.type === 'TRACE' && m.trace.stream_status?.reasons)
        .map((m) => m.trace.stream_status.reasons[0].rate_limited.quota_reset);
      expect(resets.length).toBeGreaterThan(0);
      for (const reset of resets) {
        expect(reset).toBeGreaterThan(started);
        expect(reset).toBeLessThanOrEqual(Date.now() + 2000);
      }
      expect(statuses.hosts[0]).toBe('STARTED');
      expect(statuses.hosts.at(-1)).toBe('COMPLETE');
      expect(byId(recordsOf(run, 'hosts'))).toEqual(sim.dataset.hostIds());
    } finally {
      await sim.close();
    }
  });

  it('ends a stream that fails INCOMPLETE and goes on with the next', async () => {
    const sim = await simulator({
      hosts: 20,
      detectionsPerHost: 2,
      qids: 20,
      faults: { rules: [{ type: 'http_error', status: 500, endpoint: 'hld', after: 1 }] },
    });
    try {
      const run = await runMain(
        'read',
        {
          config: configFor(sim, { max_retries: 1 }),
          catalog: catalog(['host_detections', 'hosts']),
        },
        undefined,
        PLATFORM_ENV,
      );
      expect(run.code).toBe(1);
      const statuses = expectPlatformConformant(run, ['host_detections', 'hosts']);
      expect(statuses.host_detections.at(-1)).toBe('INCOMPLETE');
      expect(statuses.hosts).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
      const errors = run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
      expect(errors.map((m) => m.trace.error.failure_type)).toEqual(['system_error']);
      // What it finished is in its state, for the next attempt.
      expect(
        (decodeState(lastState(run)).host_detections as { pending: { done: unknown[] } }).pending
          .done.length,
      ).toBeGreaterThan(0);
    } finally {
      await sim.close();
    }
  });
});

class BareStream extends AirbyteStreamBase {
  getJsonSchema(): Dictionary<unknown> {
    return { type: 'object', properties: { ID: { type: 'integer' } } };
  }
  get primaryKey(): string[][] {
    return [['subscription'], ['ID']];
  }
  override get cursorField(): string[] {
    return ['T'];
  }
  override get skipDataField(): boolean {
    return true;
  }
  // eslint-disable-next-line require-yield
  async *readRecords(): AsyncGenerator<Dictionary<unknown>> {
    return;
  }
}

describe('the Faros CDK behaviour this source relies on (pinned)', () => {
  it('describes a stream so, with a heartbeat column RangedStream removes', () => {
    expect(new BareStream(new AirbyteLogger()).asAirbyteStream()).toEqual({
      name: 'bare_stream',
      json_schema: {
        type: 'object',
        properties: { ID: { type: 'integer' }, __faros_heartbeat: { type: ['boolean', 'null'] } },
      },
      supported_sync_modes: ['full_refresh', 'incremental'],
      source_defined_cursor: true,
      default_cursor_field: ['T'],
      source_defined_primary_key: [['subscription'], ['ID']],
    });
  });

  it('adds exactly these common fields to the spec, and gzips its legacy state so', () => {
    const full = addSourceCommonProperties(new AirbyteSpec(spec as never));
    const added = Object.keys(full.spec.connectionSpecification.properties).filter(
      (k) => !(k in spec.connectionSpecification.properties),
    );
    expect(added.sort()).toEqual([...FAROS_ONLY, 'debug'].sort());
    expect(State.encodeLegacy({ hosts: { cursor: 'c' } })).toEqual({
      data: { format: 'base64/gzip', data: expect.stringMatching(/^H4sI/) },
    });
    expect(State.decode(State.encodeLegacy({ hosts: { cursor: 'c' } }))).toEqual({
      hosts: { cursor: 'c' },
    });
  });
});
