/**
 * The Airbyte source for Qualys VMDR on the Faros CDK: spec, check, discover and read of the
 * streams hosts, host_detections and knowledge_base. bin/main runs mainCommand().
 */
import { Command } from 'commander';
import {
  AirbyteConfig,
  AirbyteConfiguredCatalog,
  AirbyteSourceBase,
  AirbyteSourceRunner,
  AirbyteSpec,
  AirbyteState,
  AirbyteStreamBase,
} from 'faros-airbyte-cdk';
import VError from 'verror';

import { QualysConfig, validateConfig } from './config';
import { withConfigReadFirst } from './config-file';
import { reportFailure } from './failures';
import { QualysClient } from './qualys/client';
import { RecordOutputLogger } from './record-output';
import { redactOutput } from './redaction';
import { checkAccess } from './qualys/lists';
import { HostDetections } from './streams/host_detections';
import { Hosts } from './streams/hosts';
import { KnowledgeBase } from './streams/knowledge_base';
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
    const client = QualysClient.instance(validateConfig(config), this.logger);
    return [
      new Hosts(client, this.logger),
      new HostDetections(client, this.logger),
      new KnowledgeBase(client, this.logger),
    ];
  }

  override async onBeforeRead(
    config: QualysConfig,
    catalog: AirbyteConfiguredCatalog,
    state?: AirbyteState,
  ): Promise<{ config: QualysConfig; catalog: AirbyteConfiguredCatalog; state?: AirbyteState }> {
    this.reading = true;
    try {
      return { config: validateConfig(config), catalog, state };
    } catch (err) {
      reportFailure(this.logger, err as Error);
      throw err;
    }
  }

  override async *read(
    ...args: Parameters<AirbyteSourceBase<QualysConfig>['read']>
  ): ReturnType<AirbyteSourceBase<QualysConfig>['read']> {
    this.readState = 'started';
    yield* super.read(...args);
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

export function mainCommand(): Command {
  redactOutput(process.stdout);
  redactOutput(process.stderr);
  const logger = new RecordOutputLogger();
  const source = new QualysSource(logger);
  process.once('beforeExit', () => source.checkReadEnded());
  const runner = new AirbyteSourceRunner(logger, source);
  return withConfigReadFirst(runner.mainCommand(), runner, source, logger);
}
