/**
 * Reads a stream as ID ranges fetched concurrently and checkpoints after each completed range
 * (field lessons "what no one does yet"): list the IDs once, cut them into ranges of the page
 * size, read ranges in parallel under the subscription's call budget, and report each finished
 * range to the stream's RangeCursor, so that a killed sync resumes where it stopped and loses
 * nothing. The readers run in the background and hand records and closed ranges, in order,
 * through a short queue; nextRange() gives the records up to the next closed range.
 *
 * A range that keeps timing out is split in two, down to a single host, which is reported,
 * skipped, and retried by the next sync.
 */
import { AirbyteLogger, SyncMode } from 'faros-airbyte-cdk';
import VError from 'verror';

import { IdRange, RangeStalledError } from '../qualys/lists';
import { AsyncQueue } from './async-queue';
import { Progress } from './progress';
import { RangeCursor } from './range-cursor';

export interface RangedStreamState {
  /** RESPONSE/DATETIME of the last complete sync's ID listing. */
  cursor?: string;
  /** The sync in progress, if one was interrupted. */
  pending?: {
    mode: SyncMode;
    /** The lower bound the sync reads from (vm_processed_after / last_modified_after). */
    since?: string;
    /** RESPONSE/DATETIME of its ID listing: the cursor once it completes. */
    startedAt?: string;
    /** Finished ID ranges, sorted, touching ones merged. */
    done: [number, number][];
  };
  /** IDs skipped by an earlier sync because every request for them stalled. */
  skipped?: number[];
  /** Every ID the last sync listed (id-runs text), to tell which have disappeared since. */
  live?: string;
  /** The config filters the cursor was read with: other filters mean other records. */
  filters?: Record<string, unknown>;
}

export interface RangeSource<T> {
  /** Lists the IDs to read, cut into ranges of `size` (the page size unless given). */
  list(listing: {
    since: string | undefined;
    exclude: [number, number][];
    within?: { from: number; to: number };
    size?: number;
  }): Promise<{ datetime?: string; ranges: IdRange[]; total: number }>;
  /**
   * The records of one range, in batches (a host's detections, or one record), so that the
   * queue and the generators between reader and output are passed once per batch, not once per
   * record; throws RangeStalledError for the range to be split.
   */
  read(
    range: { from: number; to: number },
    since: string | undefined,
    stallsToSplit: number,
  ): AsyncGenerator<T[]>;
  /** Sub-items of a record, for progress (detections of a host). */
  detailCount?(record: T): number;
  /**
   * Whether a listed ID gives many records (`detections`: a host's detections, one batch): the
   * ESTIMATE then waits for the first closed range and extrapolates its records per ID.
   */
  readonly manyRecordsPerId?: boolean;
  /**
   * Deletion records for the IDs listed by the last sync (`previous`, the state's `live`) and no
   * longer listed, and the IDs listed now, to keep for the next sync. Once per sync, not on resume.
   */
  removed?(previous: string | undefined): Promise<{ records: T[]; live: string }>;
}

interface Task {
  from: number;
  to: number;
  /** IDs listed in it, when known. */
  count?: number;
  since: string | undefined;
  stallsToSplit: number;
  /** A host skipped by an earlier sync, retried without the date filter. */
  retryOfSkipped?: boolean;
}

type Item<T> =
  | { kind: 'records'; records: T[] }
  | {
      kind: 'done';
      from: number;
      to: number;
      retryOfSkipped?: boolean;
      /** The IDs the range was listed with and the records read from it (whole ranges only). */
      read?: { ids: number; records: number };
    }
  | { kind: 'skipped'; id: number }
  | { kind: 'failed'; task: Task; error: Error }
  | { kind: 'end' };

/** Records (and range ends) waiting for the consumer: few, so that records die young. */
const QUEUED_ITEMS = 2;

/** Timeouts without progress before a listed range is split; its parts split at the first. */
const STALLS_TO_SPLIT = 2;

export class RangedSync<T> {
  private readonly queue: AsyncQueue<Item<T>>;
  private readonly tasks: Task[] = [];
  private readonly failures: { task: Task; error: Error }[] = [];
  private readonly skippedNow: number[] = [];
  private finishedFlag = false;
  /** Deletion records, emitted before the first checkpoint, which records the new `live`. */
  private removedRecords: T[] = [];
  /** IDs listed to read, for the estimate. */
  private listedIds = 0;
  private estimated = false;

  constructor(
    private readonly name: string,
    private readonly source: RangeSource<T>,
    private readonly cursor: RangeCursor,
    private readonly options: {
      syncMode: SyncMode;
      workers: number;
      logger: AirbyteLogger;
      progress: Progress;
    },
  ) {
    this.queue = new AsyncQueue(QUEUED_ITEMS);
  }

  get finished(): boolean {
    return this.finishedFlag;
  }

  /** Lists the IDs of the cursor's window and starts the readers. */
  async start(): Promise<void> {
    const { logger } = this.options;
    const { since, resuming } = this.cursor;
    if (resuming) {
      logger.info(
        `${this.name}: resuming the interrupted sync from ${since ?? 'the beginning'}, ` +
          `${this.cursor.closed.length} ranges already done`,
      );
    }
    const [listing] = await Promise.all([
      this.source.list({ since, exclude: this.cursor.closed.map(([from, to]) => [from, to]) }),
      resuming ? undefined : this.listRemoved(),
    ]);
    if (!resuming && listing.datetime === undefined) {
      logger.warn(`${this.name}: the ID listing had no RESPONSE/DATETIME; the cursor stays as is`);
    }
    this.cursor.listed(listing.datetime);
    for (const range of listing.ranges) {
      this.tasks.push({ ...range, since, stallsToSplit: STALLS_TO_SPLIT });
    }
    const retries = this.cursor.toRetry;
    for (const id of retries) {
      this.tasks.push({
        from: id,
        to: id,
        since: undefined,
        stallsToSplit: 1,
        retryOfSkipped: true,
      });
    }
    const total = listing.total + retries.length;
    this.listedIds = total;
    if (!this.source.manyRecordsPerId || total === 0) this.estimate(total);
    logger.info(
      `${this.name}: ${total} to read in ${this.tasks.length} ranges` +
        (since ? ` (changed since ${since})` : ''),
    );
    this.options.progress.start();
    void this.runReaders();
  }

  /** What disappeared since the last sync, as deletion records, and what is listed now. */
  private async listRemoved(): Promise<void> {
    if (!this.source.removed) return;
    const { records, live } = await this.source.removed(this.cursor.previousLive);
    this.cursor.listedAll(live);
    // A full refresh replaces the destination's data: deletions only matter to incremental syncs.
    if (this.options.syncMode !== SyncMode.INCREMENTAL || records.length === 0) return;
    this.removedRecords = records;
    this.options.logger.info(
      `${this.name}: ${records.length} no longer listed since the last sync: emitted as deletions`,
    );
  }

  /** Batches of records until the next range closes (a checkpoint for the cursor's state), or the end. */
  async *nextRange(): AsyncGenerator<T[]> {
    const removed = this.removedRecords;
    this.removedRecords = [];
    if (removed.length > 0) yield removed;
    const { progress } = this.options;
    const detailCount = this.source.detailCount;
    for (;;) {
      const item = await this.queue.shift();
      switch (item.kind) {
        case 'records':
          for (const record of item.records) progress.record(detailCount?.(record) ?? 0);
          if (item.records.length > 0) yield item.records;
          break;
        case 'done':
          if (item.retryOfSkipped) this.cursor.retried(item.from);
          else this.cursor.close(item.from, item.to);
          if (item.read) this.extrapolateEstimate(item.read);
          return;
        case 'skipped':
          this.cursor.skip(item.id);
          this.skippedNow.push(item.id);
          return;
        case 'failed':
          this.failures.push(item);
          this.options.logger.error(
            `${this.name}: giving up on ids ${item.task.from}-${item.task.to}: ${item.error.message}`,
          );
          break;
        case 'end':
          this.finish();
          return;
      }
    }
  }
  /** Throws once finished if any range failed for good (its progress is kept in the state). */
  throwIfFailed(): void {
    if (this.failures.length === 0) return;
    const ranges = this.failures.map((f) => `${f.task.from}-${f.task.to}`).join(', ');
    throw new VError(
      { cause: this.failures[0].error, name: 'RangesFailed' },
      '%s: %d ID ranges could not be read (%s); the next sync resumes them',
      this.name,
      this.failures.length,
      ranges,
    );
  }

  /** The estimate of a many-records-per-ID stream: the first range's records per ID, times IDs. */
  private extrapolateEstimate(read: { ids: number; records: number }): void {
    // Other streams had theirs when the IDs were listed.
    if (this.estimated || read.ids === 0) return;
    this.estimate(Math.round((read.records / read.ids) * this.listedIds));
  }

  private estimate(rows: number): void {
    this.estimated = true;
    // The logger keeps messages in order; the estimate need not wait for its write.
    void this.options.logger.write({
      type: 'TRACE',
      trace: {
        type: 'ESTIMATE',
        emitted_at: Date.now(),
        estimate: { name: this.name, type: 'STREAM', row_estimate: rows },
      },
    } as never);
  }

  private async runReaders(): Promise<void> {
    const workers = Math.max(1, Math.min(this.options.workers, this.tasks.length));
    await Promise.all(Array.from({ length: workers }, () => this.readTasks()));
    await this.queue.push({ kind: 'end' });
  }

  private async readTasks(): Promise<void> {
    for (let task = this.tasks.shift(); task; task = this.tasks.shift()) {
      try {
        let read = 0;
        for await (const records of this.source.read(task, task.since, task.stallsToSplit)) {
          read += records.length;
          await this.queue.push({ kind: 'records', records });
        }
        await this.queue.push({
          kind: 'done',
          from: task.from,
          to: task.to,
          retryOfSkipped: task.retryOfSkipped,
          ...(task.count !== undefined && { read: { ids: task.count, records: read } }),
        });
      } catch (err) {
        if (err instanceof RangeStalledError) await this.split(task, err);
        else await this.queue.push({ kind: 'failed', task, error: err as Error });
      }
    }
  }

  /** Splits the unread rest of a stalled range in two, or skips it when it is one host. */
  private async split(task: Task, stall: RangeStalledError): Promise<void> {
    if (stall.resumeFrom > task.from) {
      await this.queue.push({ kind: 'done', from: task.from, to: stall.resumeFrom - 1 });
    }
    try {
      const within = { from: stall.resumeFrom, to: task.to };
      const rest = await this.source.list({
        since: task.since,
        exclude: [],
        within,
        size: Number.MAX_SAFE_INTEGER,
      });
      const ids = rest.total;
      if (ids <= 1) {
        const id = rest.ranges[0]?.from ?? stall.resumeFrom;
        this.options.logger.warn(
          `${this.name}: every request for id ${id} stalls (${stall.message}); ` +
            `skipping it in this sync, the next sync retries it`,
        );
        if (ids === 1) await this.queue.push({ kind: 'skipped', id });
        else await this.queue.push({ kind: 'done', from: stall.resumeFrom, to: task.to });
        return;
      }
      const halves = await this.source.list({
        since: task.since,
        exclude: [],
        within,
        size: Math.ceil(ids / 2),
      });
      this.options.logger.info(
        `${this.name}: ids ${stall.resumeFrom}-${task.to} keep timing out; splitting ${ids} ids in two`,
      );
      for (const half of halves.ranges.reverse()) {
        this.tasks.unshift({
          from: half.from,
          to: half.to,
          count: half.count,
          since: task.since,
          stallsToSplit: 1,
        });
      }
    } catch (err) {
      await this.queue.push({ kind: 'failed', task, error: err as Error });
    }
  }

  private finish(): void {
    this.finishedFlag = true;
    this.options.progress.stop();
    this.cursor.finish(this.failures.length === 0);
    if (this.skippedNow.length) {
      this.options.logger.warn(
        `${this.name}: skipped ${this.skippedNow.length} ids that stalled every request: ` +
          `${this.skippedNow.join(', ')}`,
      );
    }
  }
}
