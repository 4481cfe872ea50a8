/**
 * What the three streams share: they read ID ranges through RangedSync, checkpoint after each
 * range, and keep Qualys' element names. A stream subclass says only what is particular to it:
 * its schema, key, cursor and how to list and read its ranges.
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
import { Progress } from './progress';
import { RangedStreamState, RangedSync, RangeSource } from './ranged-sync';

export abstract class RangedStream<T extends object> extends AirbyteStreamBase {
  private sync: RangedSync<T> | undefined;

  constructor(
    protected readonly client: QualysClient,
    logger: AirbyteLogger,
  ) {
    super(logger);
  }

  protected abstract rangeSource(): RangeSource<T>;
  /** What one record is, and what its sub-items are, for progress logs. */
  protected abstract get units(): { record: string; detail?: string };

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

  override async *streamSlices(
    syncMode: SyncMode,
    _cursorField?: string[],
    streamState?: Dictionary<unknown>,
  ): AsyncGenerator<Dictionary<unknown> | undefined> {
    const { record, detail } = this.units;
    const progress = new Progress(this.name, record, this.client, this.logger, detail);
    const sync = new RangedSync(
      this.name,
      this.rangeSource(),
      (streamState ?? {}) as RangedStreamState,
      {
        syncMode,
        startDate: this.client.config.start_date,
        // Ranges read at once; the call budget decides how many calls actually run.
        workers: this.readersPerCall * this.client.config.max_concurrency,
        logger: this.logger,
        progress,
      },
    );
    this.sync = sync;
    try {
      await sync.start();
      for (let checkpoint = 1; !sync.finished; checkpoint++) yield { checkpoint };
      sync.throwIfFailed();
    } catch (err) {
      // The CDK logs a failed stream and goes on with the next; Airbyte needs a TRACE error.
      reportFailure(this.logger, err as Error);
      throw err;
    }
  }

  override async *readRecords(): AsyncGenerator<T> {
    if (this.sync) yield* this.sync.nextSlice();
  }

  /** The state lives in the object the CDK handed to streamSlices (see RangedSync). */
  override getUpdatedState(currentStreamState: Dictionary<unknown>): Dictionary<unknown> {
    return currentStreamState;
  }
}
