/**
 * Consumes a source's Airbyte messages, line by line, into the store. RECORDs are held until
 * their checkpoint (up to HELD_BYTES of input), then converted and staged in one transaction; a
 * STATE commits everything staged together with that state, so
 * the store always holds exactly what the last committed checkpoint covers — a sync killed between
 * two STATEs, re-run from the stored state, ends with the same store as one clean run.
 *
 * Failures: a stream error the source reports (sourceStatus ERRORED) rolls back what was staged
 * and the sync goes on (later checkpoints still describe committed data); a fatal one (TRACE
 * error, failed connection check, a line that is not a message, a record we cannot convert) rolls
 * back and stops committing, because a later state would skip past the lost records.
 */
import { streamOf } from '../converter';
import { EtmDestination, RecordRejected } from '../destination';
import { Connectors } from '../store/connectors';
import { AirbyteMessage, failureOf, warningOf } from './messages';
import { Breather, readAhead } from './read-ahead';
import { mergeState } from './source-state';

export interface ConsumerProgress {
  readonly records: number;
  readonly checkpoints: number;
  readonly findings: number;
  /** Hosts read: the larger of the two streams that carry host records, not their sum. */
  readonly hosts: number;
  /** Records per stream, and the source's ESTIMATE of its total once it has sent one. */
  readonly streams: ReadonlyArray<StreamProgress>;
}

export interface StreamProgress {
  readonly name: string;
  readonly records: number;
  readonly estimate: number | null;
}

/**
 * Streams whose records are hosts (with or without their detections); `detections` records are
 * detections, counted as findings.
 */
const HOST_STREAMS = ['hosts', 'host_detections'];

export interface ConsumerOptions {
  /** Save each checkpoint's state on this connector (etm sync). */
  readonly connector?: string;
  /** Commit what is staged when input ends without a final checkpoint (etm convert). */
  readonly commitAtEnd?: boolean;
  readonly onProgress?: (p: ConsumerProgress) => void;
  /** Source LOG messages at WARN or above, and our own warnings. */
  readonly onLog?: (level: string, message: string) => void;
  /** Milliseconds between progress reports. */
  readonly progressEveryMs?: number;
  /** Each STATE, as the source sent it, once what it covers is committed (bin/destination). */
  readonly onCommit?: (state: unknown) => void;
  /**
   * A record its converter cannot read is reported here and skipped, the others kept (Airbyte
   * destination); without it, such a record fails the sync (etm sync, which owns its source).
   */
  readonly onRejected?: (rejection: RecordRejected) => void;
  /**
   * Called with held records before the transaction that stages them opens (bin/destination
   * starts the runs of subscriptions it has not seen yet, for the findings' history to name).
   */
  readonly beforeStage?: (records: ReadonlyArray<HeldRecord>) => Promise<void>;
}

type HeldRecord = NonNullable<AirbyteMessage['record']>;

export interface ConsumeResult {
  records: number;
  checkpoints: number;
  /** Records staged after the last checkpoint and not committed when input ended. */
  uncommitted: number;
  /** Records staged and then rolled back by a failure. */
  rolledBack: number;
  failures: string[];
  /** Records skipped because no converter could read them (with onRejected). */
  rejected: number;
  /** A fatal failure stopped consumption; the caller should stop the source. */
  aborted: boolean;
  /**
   * The failure, among `failures`, of a last line that is not a message: a source stopped by a
   * signal (Ctrl-C) leaves a line cut short, which the caller then reports as the stop instead.
   */
  lastLineCut?: string;
}

const LOUD = new Set(['WARN', 'ERROR', 'FATAL']);

/**
 * Input held before it is staged. The write transaction opens only when a checkpoint's records
 * are all here (or this much has arrived), so that it never waits on the source's network reads
 * (Qualys may take minutes per page): on PostgreSQL it holds the store's writer lock
 * (store/sql.ts), on SQLite the file's write lock, and other writers queue behind either (on
 * SQLite for at most the 10 s busy timeout). Staging at 1 MB on SQLite was about 10% faster and
 * used 100 MB less, but held the file's lock across those reads.
 */
const HELD_BYTES = 16 * 1024 * 1024;
/** Input read ahead of the consumer (characters), while it converts and writes what it holds. */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** Synchronous work (SQLite) between two turns of the event loop, for the input to be read. */
const BREATHE_MS = 5;

export class SyncConsumer {
  private readonly result: ConsumeResult = {
    records: 0,
    checkpoints: 0,
    uncommitted: 0,
    rolledBack: 0,
    failures: [],
    rejected: 0,
    aborted: false,
  };
  /** Records taken in and not committed: held in `held`, or staged in the transaction. */
  private staged = 0;
  private held: NonNullable<AirbyteMessage['record']>[] = [];
  private heldBytes = 0;
  private kept: unknown;
  private lastState: unknown;
  /** A line that did not parse, not failed yet (see consume). */
  private unparsed: string | undefined;
  private lastProgress = Date.now();
  private readonly streams = new Map<string, { records: number; estimate: number | null }>();
  private readonly connectors: Connectors;
  private started = false;
  private readonly breather = new Breather(BREATHE_MS);

  constructor(
    private readonly destination: EtmDestination,
    private readonly options: ConsumerOptions = {},
  ) {
    this.connectors = new Connectors(destination.store.sql);
  }

  async consume(lines: AsyncIterable<string>): Promise<ConsumeResult> {
    for await (const line of readAhead(lines, READ_AHEAD_BYTES)) {
      if (!(await this.next(line))) return this.finish();
      await this.breather.breathe();
    }
    return this.end();
  }

  /** Takes one line of input; false once consumption has stopped on a fatal failure. */
  async next(line: string): Promise<boolean> {
    await this.start();
    // A line that is not a message fails the sync once another follows it.
    if (this.unparsed !== undefined) await this.notAMessage(this.unparsed);
    if (this.result.aborted) return false;
    await this.handle(line);
    return true;
  }

  /** Input ended (or stopped: then it only rolls back what is staged). */
  async end(): Promise<ConsumeResult> {
    if (this.result.aborted) return this.finish();
    // Not logged here: the caller knows whether the source was stopped mid-line.
    if (this.unparsed !== undefined)
      this.result.lastLineCut = await this.notAMessage(this.unparsed, false);
    if (this.result.aborted) return this.finish();
    try {
      const pending = this.staged;
      await this.flush();
      await this.destination.store.begin();
      await this.destination.complete();
      // Records after the last checkpoint are not confirmed by the source; only convert keeps them.
      if (this.options.commitAtEnd || pending === 0) await this.commit(this.lastState, false);
    } catch (err) {
      await this.fail(`finishing the sync failed: ${(err as Error).message}`, true);
    }
    return this.finish();
  }

  /** Reads the connector's kept state once, before the first message. */
  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.options.connector) this.kept = await this.connectors.state(this.options.connector);
  }

  /** Handles one line; exposed so tests can drive the consumer message by message. */
  async handle(line: string): Promise<void> {
    await this.start();
    if (this.result.aborted || line.trim() === '') return;
    let msg: AirbyteMessage;
    try {
      msg = JSON.parse(line);
    } catch {
      // Failed by consume(): as the last line it may be one a stopped source cut short.
      this.unparsed = line;
      return;
    }
    const failure = failureOf(msg);
    if (failure) {
      await this.fail(failure.message, failure.fatal);
      return;
    }
    const warning = warningOf(msg);
    if (warning) this.options.onLog?.('WARN', warning);
    try {
      if (msg.type === 'RECORD' && msg.record) await this.hold(msg.record, line.length);
      else if (msg.type === 'STATE' && msg.state !== undefined) await this.commit(msg.state);
      else if (msg.type === 'TRACE' && msg.trace?.type === 'ESTIMATE') this.estimate(msg);
      else if (msg.type === 'LOG' && LOUD.has(msg.log?.level ?? '')) {
        this.options.onLog?.(msg.log?.level ?? 'WARN', msg.log?.message ?? '');
      }
    } catch (err) {
      await this.fail(err instanceof RecordRejected ? err.reason : (err as Error).message, true);
    }
  }

  private async hold(record: NonNullable<AirbyteMessage['record']>, bytes: number): Promise<void> {
    this.held.push(record);
    if (this.destination.converts(record.stream)) {
      this.staged++;
      this.result.records++;
      this.stream(record.stream).records++;
    }
    this.heldBytes += bytes;
    if (this.heldBytes >= HELD_BYTES) await this.flush();
    this.report(false);
  }

  /** Converts and stages the held records in the (opened) write transaction. */
  private async flush(): Promise<void> {
    if (this.held.length === 0) return;
    const records = this.held;
    this.held = [];
    this.heldBytes = 0;
    await this.options.beforeStage?.(records);
    await this.destination.store.begin();
    await this.destination.prepare(records);
    for (const record of records) {
      await this.breather.breathe();
      try {
        await this.destination.process(record);
      } catch (err) {
        if (!(err instanceof RecordRejected)) throw err;
        this.staged--;
        this.result.records--;
        this.stream(record.stream).records--;
        if (!this.options.onRejected) throw err;
        this.result.rejected++;
        this.options.onRejected(err);
      }
    }
  }

  private estimate(msg: AirbyteMessage): void {
    const e = msg.trace?.estimate;
    if (e?.name && typeof e.row_estimate === 'number')
      this.stream(e.name).estimate = e.row_estimate;
  }

  private stream(name: string): { records: number; estimate: number | null } {
    let s = this.streams.get(name);
    if (!s) {
      s = { records: 0, estimate: null };
      this.streams.set(name, s);
    }
    return s;
  }

  private async commit(state: unknown, counted = true): Promise<void> {
    const { store } = this.destination;
    await this.flush();
    await store.begin();
    await this.destination.checkpoint();
    if (this.options.connector && state !== undefined) {
      this.kept = mergeState(this.kept, state);
      await this.connectors.saveState(this.options.connector, this.kept);
    }
    await store.commit();
    if (counted && state !== undefined) this.options.onCommit?.(state);
    this.lastState = state;
    this.staged = 0;
    if (counted) this.result.checkpoints++;
  }

  /** Fails the sync on a line that is not a message; returns the failure. */
  private async notAMessage(line: string, log = true): Promise<string> {
    this.unparsed = undefined;
    const message = `the source wrote a line that is not an Airbyte message: ${line.slice(0, 120)}`;
    await this.fail(message, true, log);
    return message;
  }

  private async fail(message: string, fatal: boolean, log = true): Promise<void> {
    await this.destination.store.rollback();
    this.destination.discard();
    this.result.rolledBack += this.staged;
    this.staged = 0;
    this.held = [];
    this.heldBytes = 0;
    this.result.failures.push(message);
    this.result.aborted ||= fatal;
    if (log) this.options.onLog?.('ERROR', message);
  }

  private async finish(): Promise<ConsumeResult> {
    if (this.destination.store.inTransaction || this.held.length > 0) {
      this.result.uncommitted = this.staged;
      this.held = [];
      await this.destination.store.rollback();
      this.destination.discard();
    }
    this.report(true);
    return this.result;
  }

  private report(force: boolean): void {
    const every = this.options.progressEveryMs ?? 2000;
    if (!this.options.onProgress || (!force && Date.now() - this.lastProgress < every)) return;
    this.lastProgress = Date.now();
    const w = this.destination.writer.stats;
    const streams = [...this.streams].map(([name, s]) => ({ name, ...s }));
    this.options.onProgress({
      records: this.result.records,
      checkpoints: this.result.checkpoints,
      findings: w.findingsNew + w.findingsUpdated + w.findingsStale,
      hosts: Math.max(
        0,
        ...streams.filter((s) => HOST_STREAMS.includes(streamOf(s.name))).map((s) => s.records),
      ),
      streams,
    });
  }
}
