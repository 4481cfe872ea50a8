/**
 * The Airbyte source for Qualys VMDR on the Faros CDK: spec, check, discover and read of the
 * streams hosts, host_detections and knowledge_base. bin/main runs mainCommand().
 */
import { Command } from 'commander';
import {
  AirbyteConfig,
  AirbyteConfiguredCatalog,
  AirbyteSourceBase,
  AirbyteSourceLogger,
  AirbyteSourceRunner,
  AirbyteSpec,
  AirbyteState,
  AirbyteStreamBase,
} from 'faros-airbyte-cdk';
import VError from 'verror';

import { QualysConfig, validateConfig } from './config';
import { reportFailure } from './failures';
import { QualysClient } from './qualys/client';
import { checkAccess } from './qualys/lists';
import { HostDetections } from './streams/host_detections';
import { Hosts } from './streams/hosts';
import { KnowledgeBase } from './streams/knowledge_base';
import spec from '../resources/spec.json';

export class QualysSource extends AirbyteSourceBase<QualysConfig> {
  /** Set for `read`: failures are then also reported as Airbyte TRACE errors. */
  private reading = false;

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
}

export function mainCommand(): Command {
  const logger = new AirbyteSourceLogger();
  const source = new QualysSource(logger);
  return new AirbyteSourceRunner(logger, source).mainCommand();
}
