/**
 * The CDK's command line with what a plain Airbyte connector needs instead of Faros' behaviour:
 * `--version` and the "Source version" log give this package's version (the CDK prints its own,
 * or "unknown"); `spec` hides the fields the CDK adds for the Faros platform from Airbyte's setup
 * form (`airbyte_hidden`); `read` hands the configured catalog to QualysSource.readCatalog, which
 * writes plain Airbyte messages, instead of the CDK's read, which adds Faros-only STATE messages
 * (source identity, config, logs, status) before and around the streams.
 */
import fs from 'node:fs';

import { Command } from 'commander';
import {
  addSourceCommonProperties,
  AirbyteConfiguredCatalog,
  AirbyteSourceLogger,
  AirbyteSourceRunner,
  AirbyteSpec,
  redactConfig,
  withDefaults,
} from 'faros-airbyte-cdk';

import { ConfigError } from './config';
import type { QualysSource } from './index';
import { reportFailure } from './failures';
import { version } from '../package.json';

export const CONNECTOR_VERSION: string = version;

/** Fields the CDK adds to every spec that only the Faros platform reads. */
const FAROS_ONLY_FIELDS = [
  'faros_source_id',
  'check_connection',
  'describe_connection',
  'probe_streams',
  'stream_freshness_hours',
  'source_heartbeat_interval_ms',
];

/** The spec as `spec` writes it: the CDK's common fields added, its Faros-only ones hidden. */
export function airbyteSpec(spec: AirbyteSpec): AirbyteSpec {
  const full = addSourceCommonProperties(spec);
  const properties = full.spec.connectionSpecification.properties as Record<
    string,
    Record<string, unknown>
  >;
  for (const field of FAROS_ONLY_FIELDS) properties[field].airbyte_hidden = true;
  // This source writes no heartbeat records: the interval is the keep-alive of CatalogRead.
  properties.source_heartbeat_interval_ms.description =
    'Milliseconds without a record or state after which the latest state is written again, ' +
    'so that Airbyte knows the sync is alive while Qualys is slow to answer. 0 disables it.';
  return full;
}

export class QualysSourceRunner extends AirbyteSourceRunner<Record<string, unknown>> {
  constructor(
    logger: AirbyteSourceLogger,
    private readonly qualys: QualysSource,
  ) {
    super(logger, qualys as never);
  }

  override mainCommand(): Command {
    return new Command()
      .name('main')
      .version(CONNECTOR_VERSION)
      .addCommand(this.specCommand())
      .addCommand(this.specPrettyCommand())
      .addCommand(this.airbyteLocalCLIWizardCommand())
      .addCommand(this.checkCommand())
      .addCommand(this.discoverCommand())
      .addCommand(this.readCommand());
  }

  override specCommand(): Command {
    return new Command()
      .command('spec')
      .description('spec command')
      .alias('s')
      .action(async () => {
        await this.logger.write(airbyteSpec(await this.qualys.spec()));
      });
  }

  override readCommand(): Command {
    return new Command()
      .command('read')
      .description('read command')
      .alias('r')
      .requiredOption('--config <path to json>', 'config json')
      .requiredOption('--catalog <path to json>', 'catalog json')
      .option('--state <path to json>', 'state json')
      .action(async (opts: { config: string; catalog: string; state?: string }) => {
        try {
          await this.read(opts);
        } finally {
          await this.logger.flush();
        }
      });
  }

  private async read(opts: { config: string; catalog: string; state?: string }): Promise<void> {
    let files;
    try {
      files = {
        catalog: readJson(opts.catalog, 'catalog') as unknown as AirbyteConfiguredCatalog,
        state: opts.state === undefined ? undefined : readJson(opts.state, 'state'),
      };
    } catch (err) {
      reportFailure(this.logger, err as Error);
      return;
    }
    // The config as check and discover get it: config-file.ts read and checked it already.
    const { config: loaded, spec } = await (this as unknown as ConfigLoader).loadConfig(
      opts.config,
    );
    const config = withDefaults(loaded, spec);
    this.logger.info(`Source version: ${CONNECTOR_VERSION}`);
    this.logger.info(`Config: ${JSON.stringify(redactConfig(config, spec))}`);
    this.logger.info(
      `Catalog: ${files.catalog.streams?.map((s) => `${s.stream.name} (${s.sync_mode})`).join(', ')}`,
    );
    await this.qualys.readCatalog(config, files.catalog, files.state);
  }
}

/** The CDK runner's config loading: private in its types, replaced by config-file.ts. */
interface ConfigLoader {
  loadConfig(file: string): Promise<{ config: Record<string, unknown>; spec: AirbyteSpec }>;
}

/** A JSON file given on the command line; a one-line error when it is missing or not JSON. */
function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`Cannot read the ${what} file ${file}: ${reason}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`The ${what} file ${file} is not JSON: ${(err as Error).message}`);
  }
}
