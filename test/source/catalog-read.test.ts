import {
  AirbyteConfiguredCatalog,
  AirbyteLogger,
  AirbyteMessage,
  SyncMode,
} from 'faros-airbyte-cdk';

import { CatalogRead, Checkpoint, CheckpointedStream } from '../../src/streams/catalog-read';
import { RangedStreamState } from '../../src/streams/ranged-sync';
import { Message } from './harness';

class Capture extends AirbyteLogger {
  readonly messages: Message[] = [];
  override write(msg: AirbyteMessage): Promise<void> {
    this.messages.push(JSON.parse(JSON.stringify(msg)));
    return Promise.resolve();
  }
}

/** A stream of `slices` ranges of `perSlice` records; each range's end adds it to `state.done`. */
class Fake implements CheckpointedStream {
  readonly supportsIncremental = true;
  readonly primaryKey = [['ID']];
  readonly cursorField = [];
  getJsonSchema() {
    return {};
  }
  constructor(
    readonly name: string,
    private readonly plan: {
      slices: number;
      perSlice: number;
      padding?: number;
      beforeSlice?: (slice: number) => Promise<void> | void;
      failAt?: number;
    },
  ) {}
  async *read(_mode: SyncMode, input: RangedStreamState): AsyncGenerator<object[] | Checkpoint> {
    const done: number[] = [...((input as { done?: number[] }).done ?? [])];
    const pad = this.plan.padding ? 'x'.repeat(this.plan.padding) : undefined;
    for (let slice = 1; slice <= this.plan.slices; slice++) {
      await this.plan.beforeSlice?.(slice);
      if (slice === this.plan.failAt) throw new Error(`slice ${slice} failed`);
      // Records in batches of up to two, as a stream yields a host's detections.
      for (let i = 0; i < this.plan.perSlice; i += 2) {
        const batch = [{ ID: slice * 100 + i }, { ID: slice * 100 + i + 1 }];
        yield batch.slice(0, Math.min(2, this.plan.perSlice - i));
      }
      done.push(slice);
      yield new Checkpoint({ done: [...done], ...(pad && { pad }) } as RangedStreamState);
    }
  }
}

function catalogOf(...names: string[]): AirbyteConfiguredCatalog {
  return {
    streams: names.map((name) => ({
      stream: { name, json_schema: {} },
      sync_mode: SyncMode.INCREMENTAL,
    })),
  };
}

const states = (log: Capture) =>
  log.messages
    .filter((m) => m.type === 'STATE')
    .map((m) => [m.state.stream.stream_state.done, m.state.sourceStats.recordCount]);

const statuses = (log: Capture) =>
  log.messages
    .filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS')
    .map((m) => [
      m.trace.stream_status.stream_descriptor.name,
      m.trace.stream_status.status,
      ...(m.trace.stream_status.reasons ?? []).map(
        (r: Message) => `${r.type} ${r.rate_limited.quota_reset}`,
      ),
    ]);

describe('CatalogRead', () => {
  it('writes a small state at every checkpoint, counting the records since the last', async () => {
    const log = new Capture();
    const read = new CatalogRead(log, { keepAliveMs: 0 });
    const ok = await read.run([new Fake('a', { slices: 3, perSlice: 2 })], catalogOf('a'), {});
    expect(ok).toBe(true);
    expect(states(log)).toEqual([
      [[1], 2],
      [[1, 2], 2],
      [[1, 2, 3], 2],
    ]);
    expect(statuses(log)).toEqual([
      ['a', 'STARTED'],
      ['a', 'RUNNING'],
      ['a', 'COMPLETE'],
    ]);
  });

  it('writes a large state at most at 256 kB/s, and always the last one', async () => {
    const log = new Capture();
    let now = 1_000_000;
    const read = new CatalogRead(log, { keepAliveMs: 0, now: () => now });
    // About 100 kB of state: one STATE per 0.39 s; the clock moves 0.1 s per slice.
    const stream = new Fake('a', {
      slices: 10,
      perSlice: 1,
      padding: 100_000,
      beforeSlice: () => void (now += 100),
    });
    await read.run([stream], catalogOf('a'), {});
    expect(states(log)).toEqual([
      [[1], 1],
      [[1, 2, 3, 4, 5], 4],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9], 4],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1],
    ]);
  });

  it('writes the latest state again while a stream waits longer than the keep-alive', async () => {
    const log = new Capture();
    const read = new CatalogRead(log, { keepAliveMs: 40 });
    const stream = new Fake('a', {
      slices: 2,
      perSlice: 1,
      beforeSlice: (slice) => new Promise((r) => setTimeout(r, slice === 2 ? 200 : 0)),
    });
    await read.run([stream], catalogOf('a'), { a: { cursor: '2025-01-01T00:00:00Z' } });
    const written = states(log);
    // After slice 1's checkpoint, the wait for slice 2 repeats it with nothing to count.
    expect(written[0]).toEqual([[1], 1]);
    expect(written.length).toBeGreaterThanOrEqual(4);
    expect(written.slice(1, -1)).toEqual(written.slice(1, -1).map(() => [[1], 0]));
    expect(written.at(-1)).toEqual([[1, 2], 1]);
  });

  it('ends a failed stream INCOMPLETE with its progress, and reads the next', async () => {
    const log = new Capture();
    const read = new CatalogRead(log, { keepAliveMs: 0 });
    const ok = await read.run(
      [
        new Fake('a', { slices: 3, perSlice: 1, failAt: 3 }),
        new Fake('b', { slices: 1, perSlice: 1 }),
      ],
      catalogOf('a', 'b'),
      {},
    );
    expect(ok).toBe(false);
    expect(states(log)).toEqual([
      [[1], 1],
      [[1, 2], 1],
      [[1], 1],
    ]);
    expect(statuses(log)).toEqual([
      ['a', 'STARTED'],
      ['a', 'RUNNING'],
      ['a', 'INCOMPLETE'],
      ['b', 'STARTED'],
      ['b', 'RUNNING'],
      ['b', 'COMPLETE'],
    ]);
  });

  it('says RATE_LIMITED once per wait, then RUNNING again at the next record', async () => {
    const log = new Capture();
    const read = new CatalogRead(log, { keepAliveMs: 0 });
    const stream = new Fake('a', {
      slices: 2,
      perSlice: 1,
      beforeSlice: async (slice) => {
        if (slice !== 2) return;
        await read.rateLimited(5_000);
        await read.rateLimited(5_500); // the same refusal's body after its headers
      },
    });
    await read.run([stream], catalogOf('a'), {});
    expect(statuses(log)).toEqual([
      ['a', 'STARTED'],
      ['a', 'RUNNING'],
      ['a', 'RUNNING', 'RATE_LIMITED 5000'],
      ['a', 'RUNNING'],
      ['a', 'COMPLETE'],
    ]);
  });
});
