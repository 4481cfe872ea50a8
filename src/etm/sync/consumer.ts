/**
 * Consumes a source's Airbyte messages, line by line, into the store. RECORDs are converted and
 * staged in the open transaction; a STATE commits everything staged together with that state, so
 * the store always holds exactly what the last committed checkpoint covers — a sync killed between
 * two STATEs, re-run from the stored state, ends with the same store as one clean run.
 *
 * Failures: a stream error the source reports (sourceStatus ERRORED) rolls back what was staged
 * and the sync goes on (later checkpoints still describe committed data); a fatal one (TRACE
 * error, failed connection check, a line that is not a message, a record we cannot convert) rolls
 * back and stops committing, because a later state would skip past the lost records.
 */
import { EtmDestination } from '../destination';
import { Connectors } from '../store/connectors';
import { AirbyteMessage, failureOf, warningOf } from './messages';
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

/** Streams whose records are hosts (with or without their detections). */
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
}

export interface ConsumeResult {
  records: number;
  checkpoints: number;
  /** Records staged after the last checkpoint and not committed when input ended. */
  uncommitted: number;
  /** Records staged and then rolled back by a failure. */
  rolledBack: number;
  failures: string[];
  /** A fatal failure stopped consumption; the caller should stop the source. */
  aborted: boolean;
  /**
   * The failure, among `failures`, of a last line that is not a message: a source stopped by a
   * signal (Ctrl-C) leaves a line cut short, which the caller then reports as the stop instead.
   */
  lastLineCut?: string;
}

const LOUD = new Set(['WARN', 'ERROR', 'FATAL']);

export class SyncConsumer {
  private readonly result: ConsumeResult = {
    records: 0,
    checkpoints: 0,
    uncommitted: 0,
    rolledBack: 0,
    failures: [],
    aborted: false,
  };
  private staged = 0;
  private kept: unknown;
  private lastState: unknown;
  /** A line that did not parse, not failed yet (see consume). */
  private unparsed: string | undefined;
  private lastProgress = Date.now();
  private readonly streams = new Map<string, { records: number; estimate: number | null }>();
  private readonly connectors: Connectors;

  constructor(
    private readonly destination: EtmDestination,
    private readonly options: ConsumerOptions = {},
  ) {
    this.connectors = new Connectors(destination.store.db);
    if (options.connector) this.kept = this.connectors.state(options.connector);
  }

  async consume(lines: AsyncIterable<string>): Promise<ConsumeResult> {
    for await (const line of lines) {
      // A line that is not a message fails the sync once another follows it.
      if (this.unparsed !== undefined) this.notAMessage(this.unparsed);
      if (this.result.aborted) return this.finish();
      await this.handle(line);
    }
    // Not logged here: the caller knows whether the source was stopped mid-line.
    if (this.unparsed !== undefined)
      this.result.lastLineCut = this.notAMessage(this.unparsed, false);
    if (this.result.aborted) return this.finish();
    try {
      const pending = this.staged;
      this.destination.store.begin();
      await this.destination.complete();
      // Records after the last checkpoint are not confirmed by the source; only convert keeps them.
      if (this.options.commitAtEnd || pending === 0) this.commit(this.lastState, false);
    } catch (err) {
      this.fail(`finishing the sync failed: ${(err as Error).message}`, true);
    }
    return this.finish();
  }

  /** Handles one line; exposed so tests can drive the consumer message by message. */
  async handle(line: string): Promise<void> {
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
      this.fail(failure.message, failure.fatal);
      return;
    }
    const warning = warningOf(msg);
    if (warning) this.options.onLog?.('WARN', warning);
    try {
      if (msg.type === 'RECORD' && msg.record) await this.stage(msg);
      else if (msg.type === 'STATE' && msg.state !== undefined) this.commit(msg.state);
      else if (msg.type === 'TRACE' && msg.trace?.type === 'ESTIMATE') this.estimate(msg);
      else if (msg.type === 'LOG' && LOUD.has(msg.log?.level ?? '')) {
        this.options.onLog?.(msg.log?.level ?? 'WARN', msg.log?.message ?? '');
      }
    } catch (err) {
      this.fail((err as Error).message, true);
    }
  }

  private async stage(msg: AirbyteMessage): Promise<void> {
    this.destination.store.begin();
    const record = msg.record as NonNullable<AirbyteMessage['record']>;
    if (await this.destination.process(record)) {
      this.staged++;
      this.result.records++;
      this.stream(record.stream).records++;
    }
    this.report(false);
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

  private commit(state: unknown, counted = true): void {
    const { store } = this.destination;
    store.begin();
    this.destination.checkpoint();
    if (this.options.connector && state !== undefined) {
      this.kept = mergeState(this.kept, state);
      this.connectors.saveState(this.options.connector, this.kept);
    }
    store.commit();
    this.lastState = state;
    this.staged = 0;
    if (counted) this.result.checkpoints++;
  }

  /** Fails the sync on a line that is not a message; returns the failure. */
  private notAMessage(line: string, log = true): string {
    this.unparsed = undefined;
    const message = `the source wrote a line that is not an Airbyte message: ${line.slice(0, 120)}`;
    this.fail(message, true, log);
    return message;
  }

  private fail(message: string, fatal: boolean, log = true): void {
    this.destination.store.rollback();
    this.destination.discard();
    this.result.rolledBack += this.staged;
    this.staged = 0;
    this.result.failures.push(message);
    this.result.aborted ||= fatal;
    if (log) this.options.onLog?.('ERROR', message);
  }

  private finish(): ConsumeResult {
    if (this.destination.store.inTransaction) {
      this.result.uncommitted = this.staged;
      this.destination.store.rollback();
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
        ...streams.filter((s) => HOST_STREAMS.includes(s.name)).map((s) => s.records),
      ),
      streams,
    });
  }
}
