/**
 * What the three streams share: read() lists and reads ID ranges through RangedSync, whose
 * closed ranges go to the stream's RangeCursor, and yields the records with a Checkpoint of the
 * cursor's state after each range, for CatalogRead to write; records keep Qualys' element names.
 * A stream subclass says only what is particular to it: its schema, key, cursor and how to list
 * and read its ranges. The CDK describes the stream (discover).
 */
import {
  AirbyteLogger,
  AirbyteStream,
  AirbyteStreamBase,
  HEARTBEAT_FIELD,
  SyncMode,
} from 'faros-airbyte-cdk';
import { Dictionary } from 'ts-essentials';

import { reportFailure } from '../failures';
import { QualysClient } from '../qualys/client';
import { Checkpoint } from './catalog-read';
import { Progress } from './progress';
import { RangeCursor } from './range-cursor';
import { RangedStreamState, RangedSync, RangeSource } from './ranged-sync';

export abstract class RangedStream<T extends object> extends AirbyteStreamBase {
  constructor(
    protected readonly client: QualysClient,
    logger: AirbyteLogger,
  ) {
    super(logger);
  }

  /**
   * @param fields the top-level fields the catalog selects, for a stream that writes records as
   *   JSON bytes (CatalogRead drops the others from objects)
   */
  protected abstract rangeSource(fields?: ReadonlySet<string>): RangeSource<T>;
  /** What one record is, and what its sub-items are, for progress logs. */
  protected abstract get units(): { record: string; detail?: string };

  /** The config values that decide which records this stream reads, kept in its state. */
  protected filters(): Record<string, unknown> {
    return {};
  }

  /** Range readers per call the subscription may run (a reader may wait for other things). */
  protected get readersPerCall(): number {
    return 1;
  }

  /** Records carry their data once; the CDK would otherwise copy each into __faros_data. */
  override get skipDataField(): boolean {
    return true;
  }

  override get sourceDefinedCursor(): boolean {
    return true;
  }

  /**
   * The CDK's stream, without its `__faros_heartbeat` column (no such records are written), and
   * resumable: a full refresh keeps its finished ranges in the state, so an attempt that fails
   * may go on from them (the platform keeps the state between attempts only when told so).
   */
  override asAirbyteStream(): AirbyteStream {
    const stream = super.asAirbyteStream();
    const properties = stream.json_schema.properties as Record<string, unknown> | undefined;
    if (properties) delete properties[HEARTBEAT_FIELD];
    return { ...stream, is_resumable: true } as AirbyteStream;
  }

  /**
   * Reads the stream from `input`: its records in batches, each completed range followed by a Checkpoint
   * of the cursor's state, and a last Checkpoint at the end. Throws (after reporting a TRACE
   * error) when ranges failed for good; their progress is in the checkpoints before.
   */
  async *read(
    mode: SyncMode,
    input: RangedStreamState,
    fields?: ReadonlySet<string>,
  ): AsyncGenerator<T[] | Checkpoint> {
    const { record, detail } = this.units;
    const cursor = new RangeCursor(input, mode, this.client.config.start_date, this.filters());
    if (cursor.filtersChanged) {
      this.logger.info(
        `${this.name}: filters changed since the last sync (${cursor.filtersChanged}): ` +
          'reading the whole window again',
      );
    }
    const sync = new RangedSync(this.name, this.rangeSource(fields), cursor, {
      syncMode: mode,
      // Ranges read at once; the call budget decides how many calls actually run.
      workers: this.readersPerCall * this.client.config.max_concurrency,
      logger: this.logger,
      progress: new Progress(this.name, record, this.client, this.logger, detail),
    });
    try {
      await sync.start();
      while (!sync.finished) {
        yield* sync.nextRange();
        yield new Checkpoint(cursor.state());
      }
      sync.throwIfFailed();
    } catch (err) {
      // Airbyte needs a TRACE error; CatalogRead goes on with the next stream.
      reportFailure(this.logger, err as Error);
      throw err;
    }
  }

  /** The CDK's entry point (its stream probe): the records of a read, without checkpoints. */
  override async *readRecords(
    syncMode: SyncMode,
    _cursorField?: string[],
    _streamSlice?: Dictionary<unknown>,
    streamState?: Dictionary<unknown>,
  ): AsyncGenerator<T> {
    for await (const item of this.read(syncMode, (streamState ?? {}) as RangedStreamState)) {
      if (!(item instanceof Checkpoint)) yield* item;
    }
  }
}
