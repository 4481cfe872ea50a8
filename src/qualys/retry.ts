/**
 * How long to wait before retrying a failed call, by kind of failure (field lessons #1, #3):
 * 1960 backs off briefly with jitter, 1965 waits the server's time, 5xx/resets/truncation/timeouts
 * back off exponentially with jitter up to max_retries, fatal errors are never retried.
 * Retries that overlap aggressively only produce more 409s, hence the jitter everywhere.
 */
import { QualysError } from './errors';

export interface RetryTiming {
  /** First backoff of a transient failure; doubles each attempt. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Backoff after a 1960 (another call must finish first). */
  conflictDelayMs: number;
  /** Consecutive 409s tolerated on one request before giving up. */
  maxConflicts: number;
  random: () => number;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = {
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  conflictDelayMs: 1000,
  maxConflicts: 30,
  random: Math.random,
};

/** Failed attempts of one request, by what failed. */
export interface Attempts {
  failures: number;
  conflicts: number;
}

/** Milliseconds to wait before the next attempt, or undefined when the error is final. */
export function retryDelay(
  error: QualysError,
  attempts: Attempts,
  maxRetries: number,
  timing: RetryTiming = DEFAULT_RETRY_TIMING,
): number | undefined {
  const jitter = 0.5 + timing.random() / 2;
  switch (error.kind) {
    case 'concurrency':
      if (attempts.conflicts >= timing.maxConflicts) return undefined;
      return (
        Math.min(timing.maxDelayMs, timing.conflictDelayMs * 1.5 ** attempts.conflicts) * jitter
      );
    case 'rate':
      // The budget blocks the API for the server's wait; retry as soon as it opens.
      return attempts.conflicts >= timing.maxConflicts ? undefined : 0;
    case 'transient':
    case 'timeout':
      if (attempts.failures >= maxRetries) return undefined;
      return Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** attempts.failures) * jitter;
    case 'fatal':
      return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
