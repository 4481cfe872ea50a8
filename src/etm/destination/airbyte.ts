/**
 * The ETM store as an Airbyte destination (bin/destination): spec, check and write. `write`
 * feeds the source's messages on stdin through the same consumer and ETM destination as
 * `etm sync` (sync/consumer.ts, destination.ts): each STATE is committed with what it covers and
 * only then echoed, so the platform resumes from states whose data is stored; a re-delivered
 * record is an upsert of what is stored (idempotent). A record no converter can read is
 * reported (stream, key, why) and skipped; the others go on.
 *
 * Connectors: one per subscription label seen in the records, Processing (with a run) from
 * just before its first records are staged, then Processed, or Failed when the write fails.
 */
import {
  AirbyteConfig,
  AirbyteConfiguredCatalog,
  AirbyteConnectionStatus,
  AirbyteConnectionStatusMessage,
  AirbyteDestination,
  AirbyteLogger,
  AirbyteSpec,
  AirbyteStateMessage,
} from 'faros-airbyte-cdk';
import { VError } from 'verror';

import { EtmDestination } from '../destination';
import { IdentificationRules } from '../identification-rules';
import { lines } from '../io';
import { Connectors } from '../store/connectors';
import { EtmStore } from '../store/database';
import { SyncConsumer } from '../sync/consumer';
import spec from '../../../resources/destination-spec.json';
import { DestinationConfig, DestinationSettings, readDestinationConfig } from './config';
import { withTransformMap } from './config';

export class EtmAirbyteDestination extends AirbyteDestination<AirbyteConfig> {
  constructor(private readonly logger: AirbyteLogger) {
    super();
  }

  async spec(): Promise<AirbyteSpec> {
    return new AirbyteSpec(spec as unknown as ConstructorParameters<typeof AirbyteSpec>[0]);
  }

  /** Reads the config, opens the store (creating or migrating it) and proves it can write. */
  async check(config: AirbyteConfig): Promise<AirbyteConnectionStatusMessage> {
    try {
      const settings = readDestinationConfig(config as DestinationConfig);
      const store = await EtmStore.open(settings.location);
      try {
        await newDestination(store, settings, this.logger);
        await store.begin();
        await store.setMeta('checked_at', new Date().toISOString());
        // Nothing of a check stays: it only proves that writes are allowed.
        await store.rollback();
      } finally {
        await store.close();
      }
      return new AirbyteConnectionStatusMessage({ status: AirbyteConnectionStatus.SUCCEEDED });
    } catch (err) {
      return new AirbyteConnectionStatusMessage({
        status: AirbyteConnectionStatus.FAILED,
        message: (err as Error).message,
      });
    }
  }

  async *write(
    config: AirbyteConfig,
    _redactedConfig: AirbyteConfig,
    _catalog: AirbyteConfiguredCatalog,
    stdin: NodeJS.ReadStream,
  ): AsyncGenerator<AirbyteStateMessage> {
    const settings = readDestinationConfig(config as DestinationConfig);
    const store = await EtmStore.open(settings.location);
    try {
      const run = new ConnectorRuns(new Connectors(store.sql));
      const destination = await newDestination(store, settings, this.logger);
      const committed: unknown[] = [];
      const consumer = new SyncConsumer(destination, {
        commitAtEnd: true,
        onCommit: (state) => committed.push(state),
        onRejected: (r) => this.logger.warn(`skipped ${r.stream} record ${r.key}: ${r.reason}`),
        onLog: (level, message) => this.logger.warn(`source ${level}: ${message}`),
        // Before their first write, so that the history of what they write names the run.
        beforeStage: (records) => run.seen(subscriptionsOf(records)),
      });
      const echo = function* (): Generator<AirbyteStateMessage> {
        while (committed.length > 0)
          yield new AirbyteStateMessage(committed.shift() as AirbyteStateMessage['state']);
      };
      for await (const line of lines(stdin)) {
        const more = await consumer.next(line);
        yield* echo();
        if (!more) break;
      }
      const result = await consumer.end();
      yield* echo();
      const error = result.failures.length > 0 ? result.failures.join('; ') : undefined;
      await run.finish(result.records, result.checkpoints, result.rejected, error);
      if (error) throw new VError('writing to the ETM store failed: %s', error);
    } finally {
      await store.close();
    }
  }
}

/** The destination, its rules told the networks the store's connectors declared. */
async function newDestination(
  store: EtmStore,
  settings: DestinationSettings,
  logger: AirbyteLogger,
): Promise<EtmDestination> {
  const networks = await new Connectors(store.sql).networks();
  const rules = (settings.rules ?? IdentificationRules.defaults()).withNetworks(networks);
  try {
    return withTransformMap(
      settings.transformMap,
      (file) =>
        new EtmDestination(store, {
          transformMap: file,
          rules,
          logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m) },
        }),
    );
  } catch (err) {
    throw new VError('transform_map: %s', (err as Error).message);
  }
}

/** The subscription labels of records (their `subscription` field). */
function subscriptionsOf(records: ReadonlyArray<{ data: unknown }>): Set<string> {
  const labels = new Set<string>();
  for (const { data } of records) {
    const label = (data as { subscription?: unknown } | null)?.subscription;
    if (typeof label === 'string' && label !== '') labels.add(label);
  }
  return labels;
}

/** The connectors of the subscriptions one write saw, and their runs. */
class ConnectorRuns {
  private readonly runs = new Map<string, number>();

  constructor(private readonly connectors: Connectors) {}

  /** Registers and starts a run for subscriptions not seen before (outside a transaction). */
  async seen(subscriptions: ReadonlySet<string>): Promise<void> {
    for (const name of subscriptions) {
      if (this.runs.has(name)) continue;
      await this.connectors.register({ name });
      await this.connectors.setStatus(name, 'Processing');
      this.runs.set(name, await this.connectors.startRun(name));
    }
  }

  async finish(
    records: number,
    checkpoints: number,
    rejected: number,
    error: string | undefined,
  ): Promise<void> {
    const status = error ? 'Failed' : 'Processed';
    for (const [name, id] of this.runs) {
      const summary = { connector: name, records, checkpoints, rejected };
      await this.connectors.finishRun(id, status, summary, error);
      await this.connectors.setStatus(name, status, error);
    }
  }
}
