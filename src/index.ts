/**
 * The Airbyte source for Qualys VMDR on the Faros CDK: spec, check, discover and read of the
 * streams hosts, host_detections, knowledge_base and detections. bin/main runs mainCommand().
 */
import { Command } from 'commander';
import {
  AirbyteConfig,
  AirbyteConfiguredCatalog,
  AirbyteLogLevel,
  AirbyteSourceBase,
  AirbyteSpec,
  AirbyteStreamBase,
} from 'faros-airbyte-cdk';
import VError from 'verror';

import { ConfigError, QualysConfig, validateConfig } from './config';
import { withConfigReadFirst } from './config-file';
import { reportFailure } from './failures';
import { QualysClient } from './qualys/client';
import { RecordOutputLogger } from './record-output';
import { redactOutput } from './redaction';
import { checkAccess } from './qualys/lists';
import { SOURCE_STREAM_NAMES } from './records';
import { QualysSourceRunner } from './source-runner';
import { CatalogRead } from './streams/catalog-read';
import { decodeInputState } from './streams/stream-state';
import { Detections } from './streams/detections';
import { HostDetections } from './streams/host_detections';
import { Hosts } from './streams/hosts';
import { KnowledgeBase } from './streams/knowledge_base';
import { RangedStream } from './streams/ranged-stream';
import spec from '../resources/spec.json';

export class QualysSource extends AirbyteSourceBase<QualysConfig> {
  /** Set for `read`: failures are then also reported as Airbyte TRACE errors. */
  private reading = false;
  /** Read started, and ended: an event loop that drains in between means lost work. */
  private readState: 'idle' | 'started' | 'ended' = 'idle';

  get type(): string {
    return 'qualys-vmdr';
  }

  async spec(): Promise<AirbyteSpec> {
    return new AirbyteSpec(spec);
  }

  async checkConnection(config: QualysConfig): Promise<[boolean, VError | undefined]> {
    try {
      const client = QualysClient.instance(validateConfig(config), this.logger);
      await checkAccess(client);
      return [true, undefined];
    } catch (err) {
      const error =
        err instanceof VError ? err : new VError(err as Error, 'Connection check failed');
      if (this.reading) reportFailure(this.logger, error);
      return [false, error];
    }
  }

  streams(config: AirbyteConfig): AirbyteStreamBase[] {
    return this.rangedStreams(config);
  }

  private rangedStreams(config: AirbyteConfig): RangedStream<object>[] {
    const client = QualysClient.instance(validateConfig(config), this.logger);
    return [
      new Hosts(client, this.logger),
      new HostDetections(client, this.logger),
      new KnowledgeBase(client, this.logger),
      new Detections(client, this.logger),
    ];
  }

  /**
   * `read`: validates the config, the catalog and the state (a failure is a config_error TRACE),
   * checks access to Qualys, then reads the configured streams in plain Airbyte messages (see
   * CatalogRead). Any failure leaves a TRACE error and a failing exit code.
   */
  async readCatalog(
    rawConfig: AirbyteConfig,
    catalog: AirbyteConfiguredCatalog,
    inputState: unknown,
  ): Promise<void> {
    this.reading = true;
    this.readState = 'started';
    let config: QualysConfig;
    let states;
    try {
      if (rawConfig.debug === true) this.logger.level = AirbyteLogLevel.DEBUG;
      config = validateConfig(rawConfig);
      checkCatalog(catalog);
      states = decodeInputState(inputState, SOURCE_STREAM_NAMES);
    } catch (err) {
      reportFailure(this.logger, err as Error);
      this.readState = 'ended';
      return;
    }
    this.logger.info(
      `State (${states.format}): ${Object.keys(states.streams).join(', ') || 'none'}` +
        (states.format === 'LEGACY' ? '; upgraded to per-stream states' : ''),
    );
    const [reachable] = await this.checkConnection(config);
    if (reachable) {
      const read = new CatalogRead(this.logger, {
        keepAliveMs: Number(rawConfig.source_heartbeat_interval_ms ?? 60_000),
      });
      const budget = QualysClient.instance(config, this.logger).budget;
      const stop = budget.onRateLimit((_api, until) => void read.rateLimited(until));
      try {
        await read.run(this.rangedStreams(config), catalog, states.streams);
      } finally {
        stop();
      }
    }
    this.readState = 'ended';
  }

  /**
   * Called when the process has nothing left to do: if a read began and did not end, some work
   * was dropped without an error (a bug); say so rather than exit as if the sync were complete.
   */
  checkReadEnded(): void {
    if (this.readState !== 'started') return;
    this.readState = 'ended';
    reportFailure(
      this.logger,
      new VError('The read stopped before its end with nothing left to do: the data is incomplete'),
    );
  }
}

/** Refuses a catalog with streams this source does not have (a config_error). */
function checkCatalog(catalog: AirbyteConfiguredCatalog): void {
  const unknown = (catalog.streams ?? [])
    .map((s) => s.stream?.name)
    .filter((name) => !(SOURCE_STREAM_NAMES as readonly string[]).includes(name));
  if (!Array.isArray(catalog.streams) || unknown.length > 0) {
    throw new ConfigError(
      `The catalog asks for streams this source does not have: ${unknown.join(', ') || 'no streams list'}; ` +
        `it has ${SOURCE_STREAM_NAMES.join(', ')}`,
    );
  }
}

export function mainCommand(): Command {
  redactOutput(process.stdout);
  redactOutput(process.stderr);
  const logger = new RecordOutputLogger();
  const source = new QualysSource(logger);
  process.once('beforeExit', () => source.checkReadEnded());
  const runner = new QualysSourceRunner(logger, source);
  return withConfigReadFirst(runner.mainCommand(), runner as never, source, logger);
}
