import zlib from 'zlib';

import { Connectors } from '../../src/etm/store/connectors';
import { EtmStore } from '../../src/etm/store/database';
import { SyncConsumer } from '../../src/etm/sync/consumer';
import { mergeState, renamedStream } from '../../src/etm/sync/source-state';
import {
  asLines,
  assets,
  captureLogger,
  consume,
  destination,
  detection,
  detectionsRecord,
  dump,
  findings,
  fixtureLines,
  host,
  stateMessage,
  SUB_A,
  SUB_B,
  onEachEngine,
  tempStore,
} from './helpers';

const A = fixtureLines('subscription-a.jsonl');
const B = fixtureLines('subscription-b.jsonl');

const isState = (line: string): boolean => JSON.parse(line).type === 'STATE';

/** What a source resumed from `state` sends: everything after the STATE carrying it. */
function resumeAfter(lines: string[], state: unknown): string[] {
  if (state === undefined) return lines;
  const at = lines.findIndex(
    (l) => isState(l) && JSON.stringify(JSON.parse(l).state) === JSON.stringify(state),
  );
  return lines.slice(at + 1);
}

async function register(store: EtmStore, name: string): Promise<Connectors> {
  const connectors = new Connectors(store.sql);
  await connectors.register({ name });
  return connectors;
}

onEachEngine('sync consumer', () => {
  test('each STATE commits the records before it together with that state', async () => {
    const t = await tempStore();
    try {
      const connectors = await register(t.store, SUB_A);
      const result = await consume(t.store, A, { connector: SUB_A });
      expect(result).toMatchObject({
        records: 5,
        checkpoints: 3,
        uncommitted: 0,
        failures: [],
        aborted: false,
      });
      const last = JSON.parse(A[A.length - 1]).state;
      expect(await connectors.state(SUB_A)).toEqual(last);
      expect(await assets(t.store)).toHaveLength(2);
      expect(await findings(t.store)).toHaveLength(7);
    } finally {
      await t.cleanup();
    }
  });

  test('records after the last STATE are not committed', async () => {
    const t = await tempStore();
    try {
      const lines = [
        detectionsRecord(host({ ID: 1 })),
        stateMessage({ n: 1 }),
        detectionsRecord(host({ ID: 2 })),
      ];
      const result = await consume(t.store, lines);
      expect(result.uncommitted).toBe(1);
      expect((await assets(t.store)).map((a) => a.externalAssetId)).toEqual(['1']);
    } finally {
      await t.cleanup();
    }
  });

  test('a TRACE error rolls back what was staged, keeps what was committed, and stops', async () => {
    const t = await tempStore();
    try {
      const connectors = await register(t.store, SUB_A);
      const trace = JSON.stringify({
        type: 'TRACE',
        trace: { type: 'ERROR', error: { message: 'HTTP 409 (1965)' } },
      });
      const lines = [
        detectionsRecord(host({ ID: 1 })),
        stateMessage({ n: 1 }),
        detectionsRecord(host({ ID: 2 })),
        trace,
        detectionsRecord(host({ ID: 3 })),
        stateMessage({ n: 2 }),
      ];
      const result = await consume(t.store, lines, { connector: SUB_A });
      expect(result).toMatchObject({
        aborted: true,
        failures: ['HTTP 409 (1965)'],
        rolledBack: 1,
        checkpoints: 1,
      });
      expect((await assets(t.store)).map((a) => a.externalAssetId)).toEqual(['1']);
      expect(await connectors.state(SUB_A)).toEqual({ n: 1 });
    } finally {
      await t.cleanup();
    }
  });

  test('a failed stream (sourceStatus ERRORED) rolls back its staged records; later checkpoints commit', async () => {
    const t = await tempStore();
    try {
      const errored = JSON.stringify({
        type: 'STATE',
        state: { n: 1 },
        sourceStatus: { status: 'ERRORED', message: { summary: 'hosts stream failed' } },
      });
      const lines = [
        detectionsRecord(host({ ID: 1 })),
        errored,
        detectionsRecord(host({ ID: 2 })),
        stateMessage({ n: 2 }),
      ];
      const result = await consume(t.store, lines);
      expect(result).toMatchObject({
        aborted: false,
        failures: ['hosts stream failed'],
        checkpoints: 1,
      });
      expect((await assets(t.store)).map((a) => a.externalAssetId)).toEqual(['2']);
    } finally {
      await t.cleanup();
    }
  });

  test('a line that is not a message, or a record that cannot be converted, stops the sync', async () => {
    const t = await tempStore();
    try {
      const garbled = await consume(t.store, [detectionsRecord(host({ ID: 1 })), '{"type":"RECO']);
      expect(garbled).toMatchObject({ aborted: true, rolledBack: 1 });
      expect(garbled.failures[0]).toMatch(/not an Airbyte message/);
      const noId = await consume(t.store, [
        detectionsRecord({ subscription: SUB_A, VULNERABILITIES: [] }),
      ]);
      expect(noId.aborted).toBe(true);
      expect(noId.failures[0]).toMatch(
        /host_detections record from subscription .* has no host ID/,
      );
      expect(await assets(t.store)).toHaveLength(0);
    } finally {
      await t.cleanup();
    }
  });

  test('prefixed stream names are matched on their last segment; unknown streams are skipped', async () => {
    const t = await tempStore();
    try {
      const logger = captureLogger();
      const consumer = new SyncConsumer(destination(t.store, { logger }), { commitAtEnd: true });
      const lines = [
        JSON.stringify({
          type: 'RECORD',
          record: { stream: 'acme__qualys__host_detections', data: host() },
        }),
        JSON.stringify({ type: 'RECORD', record: { stream: 'qualys__scans', data: {} } }),
        JSON.stringify({ type: 'RECORD', record: { stream: 'qualys__scans', data: {} } }),
      ];
      const result = await consumer.consume(asLines(lines));
      expect(result.records).toBe(1);
      expect(logger.warnings).toEqual([
        'no converter for stream qualys__scans; its records are skipped',
      ]);
      expect(await assets(t.store)).toHaveLength(1);
    } finally {
      await t.cleanup();
    }
  });

  test('source WARN/ERROR logs and failed slices are passed on, INFO is not', async () => {
    const t = await tempStore();
    try {
      const logs: string[] = [];
      const consumer = new SyncConsumer(destination(t.store), {
        onLog: (level, m) => logs.push(`${level} ${m}`),
      });
      await consumer.consume(
        asLines([
          JSON.stringify({ type: 'LOG', log: { level: 'INFO', message: 'Syncing hosts' } }),
          JSON.stringify({
            type: 'LOG',
            log: { level: 'WARN', message: 'host 42 skipped after 3 timeouts' },
          }),
        ]),
      );
      expect(logs).toEqual(['WARN host 42 skipped after 3 timeouts']);
    } finally {
      await t.cleanup();
    }
  });

  test.each(A.map((_, i) => i + 1).filter((k) => k < A.length))(
    'killed after line %d, then re-run from the stored state, equals one clean run',
    async (killAt) => {
      const clean = await tempStore();
      const killed = await tempStore();
      try {
        await register(clean.store, SUB_A);
        await consume(clean.store, A, { connector: SUB_A });

        await register(killed.store, SUB_A);
        const first = new SyncConsumer(destination(killed.store), { connector: SUB_A });
        for (const line of A.slice(0, killAt)) await first.handle(line);
        // The process dies: its open transaction is lost with the connection.
        await killed.store.close();
        const reopened = await EtmStore.open(killed.file);
        const state = await new Connectors(reopened.sql).state(SUB_A);
        await consume(reopened, resumeAfter(A, state), { connector: SUB_A });

        expect(await dump(reopened)).toEqual(await dump(clean.store));
        expect(await new Connectors(reopened.sql).state(SUB_A)).toEqual(
          await new Connectors(clean.store.sql).state(SUB_A),
        );
        await reopened.close();
      } finally {
        await clean.cleanup();
        await killed.cleanup();
      }
    },
  );

  test('two subscriptions with overlapping hosts give three assets from five hosts', async () => {
    const t = await tempStore();
    try {
      await register(t.store, SUB_A);
      await register(t.store, SUB_B);
      await consume(t.store, A, { connector: SUB_A });
      await consume(t.store, B, { connector: SUB_B });
      const all = await assets(t.store);
      expect(all).toHaveLength(3);
      expect(all.map((a) => [a.identifiedBy, (a.qualysHosts as unknown[]).length])).toEqual([
        ['fqdn', 2],
        ['cloudInstanceId', 2],
        ['qualysHostId', 1],
      ]);
      expect(await findings(t.store)).toHaveLength(8);
    } finally {
      await t.cleanup();
    }
  });

  test('a second sync of the same data changes nothing', async () => {
    const t = await tempStore();
    try {
      await consume(t.store, A);
      const before = await dump(t.store);
      await consume(t.store, A);
      expect(await dump(t.store)).toEqual(before);
    } finally {
      await t.cleanup();
    }
  });
});

onEachEngine('source state', () => {
  test('the Faros CLI state replaces what was kept; per-stream states are kept per stream', () => {
    const legacy = { data: { format: 'base64/gzip', data: 'H4sI' } };
    expect(mergeState({ data: { format: 'base64/gzip', data: 'old' } }, legacy)).toEqual(legacy);
    const s = (name: string, v: number) => ({
      type: 'STREAM',
      stream: { stream_descriptor: { name }, stream_state: { v } },
    });
    let kept = mergeState(undefined, s('hosts', 1));
    kept = mergeState(kept, s('host_detections', 1));
    kept = mergeState(kept, s('hosts', 2));
    expect(kept).toEqual([s('host_detections', 1), s('hosts', 2)]);
  });

  test("host_detections' part becomes detections', once, in either form of state", () => {
    const s = (name: string, v: number) => ({
      type: 'STREAM',
      stream: { stream_descriptor: { name }, stream_state: { v } },
    });
    const rename = (kept: unknown) => renamedStream(kept, 'host_detections', 'detections');
    expect(rename([s('hosts', 1), s('host_detections', 2)])).toEqual([
      s('hosts', 1),
      s('detections', 2),
    ]);
    const already = [s('host_detections', 1), s('detections', 2)];
    expect(rename(already)).toBe(already);
    const none = [s('hosts', 1)];
    expect(rename(none)).toBe(none);
    expect(rename(undefined)).toBeUndefined();
    // The Faros CLI's legacy blob, gzipped, comes back as plain JSON (which the source reads).
    const blob = { hosts: { cutoff: 'h' }, host_detections: { cutoff: 'd' } };
    const gzipped = {
      data: { format: 'base64/gzip', data: zlib.gzipSync(JSON.stringify(blob)).toString('base64') },
    };
    expect(rename(gzipped)).toEqual({ hosts: { cutoff: 'h' }, detections: { cutoff: 'd' } });
  });

  test('status changes between syncs are counted', async () => {
    const t = await tempStore();
    try {
      await consume(t.store, [
        detectionsRecord(host({ VULNERABILITIES: [detection({ STATUS: 'Active' })] })),
        stateMessage(1),
      ]);
      const d = destination(t.store);
      const fixed = detection({ STATUS: 'Fixed' });
      await new SyncConsumer(d).consume(
        asLines([detectionsRecord(host({ VULNERABILITIES: [fixed] })), stateMessage(2)]),
      );
      expect(d.writer.stats).toMatchObject({
        findingsNew: 0,
        findingsUpdated: 1,
        statusChanges: { 'ACTIVE→FIXED': 1 },
      });
    } finally {
      await t.cleanup();
    }
  });
});
