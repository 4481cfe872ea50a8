/**
 * The --config file, read and checked before the CDK sees it. The CDK's runner loads it with
 * require() (a Node stack for a missing or broken file, a parse error quoting the file, which may
 * be the password) and logs it redacted by key only: here every failure is one Airbyte message
 * (CONNECTION_STATUS FAILED in check, a TRACE config_error otherwise) and a failing exit code, and
 * the config's credentials are registered for redaction before anything is written.
 */
import fs from 'node:fs';

import { Command } from 'commander';
import {
  addSourceCommonProperties,
  AirbyteConfig,
  AirbyteConnectionStatus,
  AirbyteConnectionStatusMessage,
  AirbyteSource,
  AirbyteSourceLogger,
  AirbyteSourceRunner,
  AirbyteTrace,
  AirbyteTraceFailureType,
} from 'faros-airbyte-cdk';

import { ConfigError, credentialsOf, QualysConfig, validateConfig } from './config';
import { Redactor, secrets } from './redaction';

/** A config is a few hundred bytes; a CA bundle some hundred KB. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const EXPECTED = 'expected a JSON object with base_url, username and password';

/** Thrown once a failure has been reported as an Airbyte message: nothing more to say. */
export class ReportedFailure extends Error {
  readonly reported = true;
}

/**
 * The parsed content of a config file. Throws ConfigError in one line that never quotes the file
 * (a JSON parser's message does).
 */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_BYTES) {
      throw new ConfigError(
        `The config file ${file} is ${size} bytes, more than a config can be (${MAX_CONFIG_BYTES})`,
      );
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Cannot read the config file ${file}: ${readFailure(err)}`);
  }
  if (text.trim() === '') throw new ConfigError(`The config file ${file} is empty: ${EXPECTED}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    const where = position === undefined ? '' : ` (${lineAndColumn(text, Number(position))})`;
    throw new ConfigError(`The config file ${file} is not valid JSON${where}: ${EXPECTED}`);
  }
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? 'unreadable';
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** Reads, registers the credentials of and validates a config file; throws ConfigError. */
export function loadConfigFile(
  file: string,
  warn: (message: string) => void,
  redactor: Redactor = secrets,
): QualysConfig {
  const raw = readConfigFile(file);
  for (const credential of credentialsOf(raw)) redactor.add(credential);
  return validateConfig(raw, warn);
}

/**
 * `program` (the runner's main command) with --config read here, before any action: a config
 * that cannot be used is reported as the command's Airbyte message and the action does not run.
 */
export function withConfigReadFirst(
  program: Command,
  runner: AirbyteSourceRunner<AirbyteConfig>,
  source: AirbyteSource<AirbyteConfig>,
  logger: AirbyteSourceLogger,
): Command {
  let loaded: QualysConfig | undefined;
  // The runner's own loadConfig (private) is replaced: pinned by test/source/config-file.test.ts.
  Object.defineProperty(runner, 'loadConfig', {
    value: async () => {
      const spec = addSourceCommonProperties(await source.spec());
      return { config: loaded, rawConfig: loaded, spec };
    },
  });
  program.hook('preAction', async (_program, action) => {
    const file = action.opts().config;
    if (typeof file !== 'string') return;
    try {
      loaded = loadConfigFile(file, (message) => logger.warn(message));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      await reportConfigFailure(action.name(), err.message, logger);
      throw new ReportedFailure(err.message);
    }
  });
  return program;
}

/** check answers FAILED; discover and read end with a TRACE config_error, without a stack. */
async function reportConfigFailure(
  command: string,
  message: string,
  logger: AirbyteSourceLogger,
): Promise<void> {
  process.exitCode = 1;
  if (command === 'check') {
    await logger.write(
      new AirbyteConnectionStatusMessage({ status: AirbyteConnectionStatus.FAILED, message }),
    );
  } else {
    await logger.write(
      new AirbyteTrace({
        type: 'ERROR',
        emitted_at: Date.now(),
        error: { message, failure_type: AirbyteTraceFailureType.CONFIG_ERROR },
      }),
    );
  }
  await logger.flush();
}
