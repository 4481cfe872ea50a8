/**
 * Failures reported the Airbyte way: a TRACE error whose failure_type tells the user whether to
 * fix the configuration (config_error) or retry later (system_error), plus a failing exit code,
 * which the CDK alone would leave at 0.
 */
import { AirbyteLogger, AirbyteTraceFailureType } from 'faros-airbyte-cdk';

import { ConfigError } from './config';
import { QualysError } from './qualys/errors';

export function isConfigError(error: unknown): boolean {
  return (
    error instanceof ConfigError || (error instanceof QualysError && !!error.details.configError)
  );
}

export function reportFailure(logger: AirbyteLogger, error: Error): void {
  logger.traceError(
    error,
    isConfigError(error)
      ? AirbyteTraceFailureType.CONFIG_ERROR
      : AirbyteTraceFailureType.SYSTEM_ERROR,
  );
  process.exitCode = 1;
}
