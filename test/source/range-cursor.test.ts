import { SyncMode } from 'faros-airbyte-cdk';

import { RangeCursor } from '../../src/streams/range-cursor';

const INCREMENTAL = SyncMode.INCREMENTAL;
const FULL = SyncMode.FULL_REFRESH;

describe('RangeCursor', () => {
  it('reads from the cursor less 30 minutes, keeps closed ranges merged, moves the cursor at the end', () => {
    const cursor = new RangeCursor(
      { cursor: '2025-06-02T12:00:00Z', live: '1.2' },
      INCREMENTAL,
      '2024-01-01T00:00:00Z',
    );
    expect([cursor.since, cursor.resuming]).toEqual(['2025-06-02T11:30:00Z', false]);
    cursor.listed('2025-06-03T12:00:00Z');
    cursor.listedAll('5.3');
    cursor.close(21, 30);
    cursor.close(1, 10);
    const first = cursor.state();
    expect(first).toEqual({
      filters: {},
      cursor: '2025-06-02T12:00:00Z',
      pending: {
        mode: 'incremental',
        since: '2025-06-02T11:30:00Z',
        startedAt: '2025-06-03T12:00:00Z',
        done: [
          [1, 10],
          [21, 30],
        ],
      },
      live: '5.3',
    });
    cursor.close(11, 20);
    cursor.close(40, 45);
    expect(cursor.state().pending?.done).toEqual([
      [1, 30],
      [40, 45],
    ]);
    // A checkpoint taken earlier is not changed by later reports.
    expect(first.pending?.done).toHaveLength(2);
    cursor.finish(true);
    expect(cursor.state()).toEqual({ filters: {}, cursor: '2025-06-03T12:00:00Z', live: '5.3' });
  });

  it('resumes an interrupted sync of the same mode: its window, ranges and listing time', () => {
    const pending = {
      mode: INCREMENTAL,
      since: '2025-06-01T00:00:00Z',
      startedAt: '2025-06-02T00:00:00Z',
      done: [[1, 10]] as [number, number][],
    };
    const cursor = new RangeCursor(
      { cursor: '2025-05-01T00:00:00Z', pending },
      INCREMENTAL,
      undefined,
    );
    expect([cursor.since, cursor.resuming, cursor.closed]).toEqual([
      '2025-06-01T00:00:00Z',
      true,
      [[1, 10]],
    ]);
    cursor.listed('2025-06-09T00:00:00Z'); // the resumed listing's time is not the window's
    cursor.finish(true);
    expect(cursor.state()).toEqual({ filters: {}, cursor: '2025-06-02T00:00:00Z' });
    // Another mode starts afresh: a full refresh reads from start_date.
    const full = new RangeCursor({ pending }, FULL, '2024-01-01T00:00:00Z');
    expect([full.since, full.resuming, full.closed]).toEqual(['2024-01-01T00:00:00Z', false, []]);
  });

  it('keeps skipped IDs until retried, and the window pending when a range failed', () => {
    const cursor = new RangeCursor({ skipped: [7, 9] }, INCREMENTAL, undefined);
    expect(cursor.toRetry).toEqual([7, 9]);
    cursor.listed('2025-06-03T12:00:00Z');
    cursor.retried(7);
    cursor.skip(15);
    expect(cursor.state()).toMatchObject({ skipped: [9, 15], pending: { done: [[15, 15]] } });
    cursor.finish(false);
    expect(cursor.state()).toEqual({
      filters: {},
      pending: { mode: 'incremental', startedAt: '2025-06-03T12:00:00Z', done: [[15, 15]] },
      skipped: [9, 15],
    });
  });

  it('keeps its filters; other filters set the cursor and the pending window aside, saying why', () => {
    const filters = { severities: [4, 5], tag_filter: null };
    const stored = {
      cursor: '2025-06-02T12:00:00Z',
      pending: {
        mode: INCREMENTAL,
        since: '2025-06-01T00:00:00Z',
        done: [[1, 10]] as [number, number][],
      },
      live: '1.2',
      skipped: [7],
      filters: { severities: [5], tag_filter: null },
    };
    const changed = new RangeCursor(stored, INCREMENTAL, '2024-01-01T00:00:00Z', filters);
    expect(changed.filtersChanged).toBe('severities [5] → [4,5]');
    expect([changed.since, changed.resuming, changed.closed, changed.previousLive]).toEqual([
      '2024-01-01T00:00:00Z',
      false,
      [],
      '1.2',
    ]);
    expect(changed.toRetry).toEqual([7]);
    expect(changed.state().filters).toEqual(filters);
    // The same filters, or a state from before filters were kept: the cursor stands.
    for (const same of [
      { ...stored, filters },
      { ...stored, filters: undefined },
    ]) {
      const cursor = new RangeCursor(same, INCREMENTAL, '2024-01-01T00:00:00Z', filters);
      expect([cursor.filtersChanged, cursor.resuming]).toEqual([undefined, true]);
    }
  });
});
