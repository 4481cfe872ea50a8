/**
 * The `read` of a configured catalog, in plain Airbyte messages whatever the environment (the
 * Faros CDK's read adds Faros-only states, heartbeat records and gzipped state when WORKER_JOB_ID
 * is set; see docs "What a real Airbyte 1.x sync expects"). The configured streams are read one
 * after another; for each it writes TRACE STREAM_STATUS STARTED, RUNNING (at its first record;
 * with a RATE_LIMITED reason while Qualys makes the sync wait), then COMPLETE or INCOMPLETE, and
 * a STREAM STATE with sourceStats.recordCount after its checkpoints. Only configured streams
 * ever get a STATE.
 *
 * Liveness: the platform counts only RECORD and STATE messages as activity, and Qualys can take
 * minutes to a first byte, so when a whole keep-alive interval passes without either, the
 * stream's latest checkpoint is written again (it is still true: nothing after it is lost).
 *
 * Columns: a configured stream that selects some columns gets records with only those (see
 * selected-fields); objects are trimmed here, a stream writing JSON bytes trims its own.
 *
 * Checkpoints: a stream's read() yields its records (in batches) and, after each completed range, a
 * Checkpoint of its state (see RangeCursor). A small state is written at every checkpoint; a
 * large one (hosts' `live` list at many hosts) at most at STATE_BYTES_PER_SECOND, so that state
 * never dwarfs the records; the last one always.
 */
import {
  AirbyteConfiguredCatalog,
  AirbyteLogger,
  AirbyteMessage,
  AirbyteRecord,
  SyncMode,
} from 'faros-airbyte-cdk';
import { Dictionary } from 'ts-essentials';

import { RangedStreamState } from './ranged-sync';
import { DescribedStream, leftOut, project, selectedFields } from './selected-fields';
import { describeState, stateMessage } from './stream-state';

/** A state up to this size is written at every checkpoint. */
const SMALL_STATE_BYTES = 16 * 1024;
/** Larger states: written when this rate allows (a 600 kB state every 2.4 s). */
const STATE_BYTES_PER_SECOND = 256 * 1024;

type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';

/** A stream's state after every record before it in its read. */
export class Checkpoint {
  constructor(readonly state: RangedStreamState) {}
}

/** What CatalogRead needs of a stream (RangedStream). */
export interface CheckpointedStream extends DescribedStream {
  readonly name: string;
  readonly supportsIncremental: boolean;
  /** @param fields the top-level fields the catalog selects (all when undefined) */
  read(
    mode: SyncMode,
    input: RangedStreamState,
    fields?: ReadonlySet<string>,
  ): AsyncIterable<object[] | Checkpoint>;
}

export interface CatalogReadOptions {
  /** Write the latest state again after this long without a RECORD or STATE (0: never). */
  keepAliveMs: number;
  now?: () => number;
}

/** The stream being read: what its next STATE says, and how many records it will count. */
interface Current {
  name: string;
  /** The latest checkpoint (a Checkpoint's state is never changed after it is yielded). */
  checkpoint: RangedStreamState;
  /** Its JSON, to tell a new state from the same again, and its size. */
  checkpointJson: string;
  /** The latest checkpoint is not written yet. */
  unwritten: boolean;
  /** Records written since the stream's last STATE. */
  recordsSinceState: number;
  lastStateAt: number;
  running: boolean;
  /** When a rate-limit wait ends (ms since epoch), while the stream is told to be waiting. */
  rateLimitedUntil?: number;
}

export class CatalogRead {
  private current: Current | undefined;
  /** RECORD and STATE messages written: the keep-alive timer looks for a change. */
  private activity = 0;
  private readonly now: () => number;

  constructor(
    private readonly logger: AirbyteLogger,
    private readonly options: CatalogReadOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Reads every configured stream; false when any ended INCOMPLETE (its error was reported). */
  async run(
    streams: CheckpointedStream[],
    catalog: AirbyteConfiguredCatalog,
    states: Record<string, RangedStreamState>,
  ): Promise<boolean> {
    const byName = new Map(streams.map((s) => [s.name, s]));
    const keepAlive = this.startKeepAlive();
    let complete = true;
    try {
      for (const configured of catalog.streams) {
        const stream = byName.get(configured.stream.name);
        if (!stream) continue; // readCatalog refused the catalog already
        const incremental =
          configured.sync_mode === SyncMode.INCREMENTAL && stream.supportsIncremental;
        const mode = incremental ? SyncMode.INCREMENTAL : SyncMode.FULL_REFRESH;
        const fields = selectedFields(stream, configured.stream.json_schema);
        if (!(await this.readStream(stream, mode, states[stream.name] ?? {}, fields)))
          complete = false;
      }
    } finally {
      if (keepAlive) clearInterval(keepAlive);
    }
    return complete;
  }

  /** The stream being read is waiting for Qualys' rate limit until `until` (ms since epoch). */
  async rateLimited(until: number): Promise<void> {
    const current = this.current;
    // One refusal raises the wait twice (its headers, then its body): say it once.
    if (!current || (current.rateLimitedUntil ?? 0) + 1000 > until) return;
    current.rateLimitedUntil = until;
    await this.status(current.name, 'RUNNING', until);
  }

  private async readStream(
    stream: CheckpointedStream,
    mode: SyncMode,
    input: RangedStreamState,
    fields: ReadonlySet<string> | undefined,
  ): Promise<boolean> {
    const name = stream.name;
    this.current = {
      name,
      checkpoint: input,
      checkpointJson: JSON.stringify(input),
      unwritten: false,
      recordsSinceState: 0,
      lastStateAt: 0,
      running: false,
    };
    this.logger.info(`Reading ${name} (${mode}) from ${describeState(input)}`);
    if (fields) {
      const left = leftOut(stream, fields).join(', ');
      this.logger.info(`${name}: columns the catalog does not select are left out: ${left}`);
    }
    await this.status(name, 'STARTED');
    try {
      for await (const item of stream.read(mode, input, fields)) {
        if (item instanceof Checkpoint) await this.checkpoint(item.state);
        else await this.records(name, item as Dictionary<unknown>[], fields);
      }
      await this.finalCheckpoint();
      await this.status(name, 'COMPLETE');
      return true;
    } catch (err) {
      // The stream reported its error as a TRACE; what it finished is in its checkpoints.
      this.logger.error(`${name} stopped: ${(err as Error).message}`);
      const current = this.current;
      if (current.unwritten || current.recordsSinceState > 0) await this.writeState();
      await this.status(name, 'INCOMPLETE');
      return false;
    } finally {
      this.current = undefined;
    }
  }

  /** Writes a batch of records; resolves when the output has taken them all (backpressure). */
  private records(
    stream: string,
    batch: Dictionary<unknown>[],
    fields: ReadonlySet<string> | undefined,
  ): Promise<unknown> {
    const current = this.current as Current;
    if (!current.running || current.rateLimitedUntil !== undefined) {
      current.running = true;
      current.rateLimitedUntil = undefined;
      void this.status(stream, 'RUNNING');
    }
    this.activity++;
    const writes: Promise<void>[] = [];
    for (const data of batch) {
      const selected = fields ? project(data, fields) : data;
      // A record that cannot be encoded throws here: the ones before it are counted, not it.
      writes.push(this.logger.write(AirbyteRecord.make(stream, selected)));
      current.recordsSinceState++;
    }
    return writes.length === 1 ? writes[0] : Promise.all(writes);
  }

  /** Takes a checkpoint; writes it now if it is small or due. */
  private checkpoint(state: RangedStreamState): Promise<void> {
    const current = this.current as Current;
    const json = JSON.stringify(state);
    if (json !== current.checkpointJson) current.unwritten = true;
    current.checkpoint = state;
    current.checkpointJson = json;
    if (!current.unwritten && current.recordsSinceState === 0) return Promise.resolve();
    const bytes = json.length;
    const due = current.lastStateAt + (bytes / STATE_BYTES_PER_SECOND) * 1000 <= this.now();
    return bytes <= SMALL_STATE_BYTES || due ? this.writeState() : Promise.resolve();
  }

  /** A stream's read ends with its latest state, written at least once. */
  private finalCheckpoint(): Promise<void> {
    const current = this.current as Current;
    const news = current.unwritten || current.recordsSinceState > 0;
    return news || current.lastStateAt === 0 ? this.writeState() : Promise.resolve();
  }

  /** Writes the current stream's latest checkpoint, with the records counted since its last. */
  private writeState(): Promise<void> {
    const current = this.current;
    if (!current) return Promise.resolve();
    const message = stateMessage(current.name, current.checkpoint, current.recordsSinceState);
    current.recordsSinceState = 0;
    current.unwritten = false;
    current.lastStateAt = this.now();
    this.activity++;
    return this.logger.write(message as unknown as AirbyteMessage);
  }

  private startKeepAlive(): NodeJS.Timeout | undefined {
    const interval = this.options.keepAliveMs;
    if (!(interval > 0)) return undefined; // 0, or not a number: no keep-alive
    let seen = this.activity;
    const timer = setInterval(() => {
      if (this.activity === seen) void this.writeState();
      seen = this.activity;
    }, interval);
    // The streams' own work keeps the process alive; this timer alone must not.
    timer.unref();
    return timer;
  }

  private status(stream: string, status: StreamStatus, quotaReset?: number): Promise<void> {
    const reasons =
      quotaReset === undefined
        ? undefined
        : [{ type: 'RATE_LIMITED', rate_limited: { quota_reset: quotaReset } }];
    return this.logger.write({
      type: 'TRACE',
      trace: {
        type: 'STREAM_STATUS',
        emitted_at: this.now(),
        stream_status: { stream_descriptor: { name: stream }, status, ...(reasons && { reasons }) },
      },
    } as unknown as AirbyteMessage);
  }
}
