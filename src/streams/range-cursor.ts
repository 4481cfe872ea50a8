/**
 * The cursor of a ranged stream, after Airbyte's ConcurrentCursor
 * (airbyte_cdk/sources/streams/concurrent/cursor.py): the one owner of the stream's state. It
 * decides the sync's window — resume the interrupted sync, or read from the last cursor less
 * CURSOR_OVERLAP_MS (from start_date on a first or full sync) — and takes what the readers report:
 * closed ID ranges (kept sorted and merged), hosts skipped or retried, the host IDs listed now.
 * The readers never touch the state; each checkpoint is a new object from state().
 *
 * The cursor value is the server's RESPONSE/DATETIME of the sync's ID listing, never the local
 * clock; it becomes the stream's `cursor` only when every range of the window was read. The state
 * also keeps the config filters it was read with: when they change (a wider `severities`, say),
 * the cursor no longer says what was read, and the whole window is read again.
 */
import { SyncMode } from 'faros-airbyte-cdk';
import { isEqual } from 'lodash';

import { formatQualysDate } from '../config';
import type { RangedStreamState } from './ranged-sync';

/** Re-read what changed shortly before the previous sync started (≤ 1 hour, as the issue asks). */
export const CURSOR_OVERLAP_MS = 30 * 60 * 1000;

export class RangeCursor {
  /** The lower bound of the window (vm_processed_after / last_modified_after). */
  readonly since: string | undefined;
  /** The window is an interrupted sync's, whose finished ranges are not read again. */
  readonly resuming: boolean;
  /** Every host ID the last sync listed (id-runs text), to tell which have gone since. */
  readonly previousLive: string | undefined;
  private readonly done: [number, number][];
  private cursor: string | undefined;
  private startedAt: string | undefined;
  private live: string | undefined;
  /** Skipped by earlier syncs and not read yet; then those this sync skipped. */
  private readonly skipped: Set<number>;
  private finished = false;
  /** Why the stored cursor was set aside, if it was. */
  readonly filtersChanged: string | undefined;

  constructor(
    stored: RangedStreamState,
    private readonly mode: SyncMode,
    startDate: string | undefined,
    private readonly filters: Record<string, unknown> = {},
  ) {
    // A state written before filters were kept (no `filters`) is taken as read with these.
    const changed = stored.filters !== undefined && !isEqual(stored.filters, filters);
    this.filtersChanged = changed ? filterChanges(stored.filters ?? {}, filters) : undefined;
    const input: RangedStreamState = changed
      ? { live: stored.live, skipped: stored.skipped }
      : stored;
    const pending = input.pending;
    this.resuming = pending !== undefined && pending.mode === mode;
    this.cursor = input.cursor;
    this.live = input.live;
    this.previousLive = input.live;
    this.skipped = new Set(input.skipped ?? []);
    if (this.resuming && pending) {
      this.since = pending.since;
      this.startedAt = pending.startedAt;
      this.done = pending.done.map(([from, to]) => [from, to]);
    } else {
      this.since = lowerBound(mode, input.cursor, startDate);
      this.done = [];
    }
  }

  /** ID ranges of the window already read (when resuming), sorted and disjoint. */
  get closed(): readonly (readonly [number, number])[] {
    return this.done;
  }

  /** IDs that stalled every request in an earlier sync, to retry without the date filter. */
  get toRetry(): number[] {
    return [...this.skipped];
  }

  /** The window's ID listing was made at `datetime` (kept from the interrupted sync on resume). */
  listed(datetime: string | undefined): void {
    if (!this.resuming) this.startedAt = datetime;
  }

  /** Every ID listed now (id-runs text), for the next sync to tell which have gone. */
  listedAll(live: string): void {
    this.live = live;
  }

  /** The readers read every record of IDs from-to. */
  close(from: number, to: number): void {
    let i = 0;
    while (i < this.done.length && this.done[i][1] < from - 1) i++;
    let start = from;
    let end = to;
    // Merge with every range it touches or overlaps.
    while (i < this.done.length && this.done[i][0] <= end + 1) {
      start = Math.min(start, this.done[i][0]);
      end = Math.max(end, this.done[i][1]);
      this.done.splice(i, 1);
    }
    this.done.splice(i, 0, [start, end]);
  }

  /** Every request for `id` stalled: the range is closed without it; a later sync retries it. */
  skip(id: number): void {
    this.close(id, id);
    this.skipped.add(id);
  }

  /** A host skipped earlier was read. */
  retried(id: number): void {
    this.skipped.delete(id);
  }

  /** The window was read: `complete` when no range failed (then the cursor moves). */
  finish(complete: boolean): void {
    if (!complete) return;
    this.finished = true;
    if (this.startedAt !== undefined) this.cursor = this.startedAt;
  }

  /** The state to checkpoint now: a new object, which later reports do not change. */
  state(): RangedStreamState {
    const state: RangedStreamState = { filters: this.filters };
    if (this.cursor !== undefined) state.cursor = this.cursor;
    if (!this.finished) {
      state.pending = {
        mode: this.mode,
        since: this.since,
        startedAt: this.startedAt,
        done: this.done.map(([from, to]) => [from, to]),
      };
    }
    if (this.skipped.size > 0) state.skipped = [...this.skipped].sort((a, b) => a - b);
    if (this.live !== undefined) state.live = this.live;
    return state;
  }
}

function lowerBound(
  mode: SyncMode,
  cursor: string | undefined,
  startDate: string | undefined,
): string | undefined {
  if (mode === SyncMode.INCREMENTAL && cursor) {
    return formatQualysDate(new Date(new Date(cursor).getTime() - CURSOR_OVERLAP_MS));
  }
  return startDate;
}

/** "severities [5] → [4,5]; tag_filter none → "PCI"", for the log line. */
function filterChanges(before: Record<string, unknown>, after: Record<string, unknown>): string {
  const show = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => !isEqual(before[k], after[k]))
    .map((k) => `${k} ${show(before[k])} → ${show(after[k])}`)
    .join('; ');
}
