/**
 * The Airbyte messages a source writes, as far as the sync reads them (one JSON object per line:
 * RECORD, STATE, LOG, TRACE, CONNECTION_STATUS). The Faros CDK adds `sourceStatus` to some STATE
 * messages; ERRORED there means a stream failed.
 */
import { AirbyteRecord } from '../converter';

export interface AirbyteMessage {
  type: string;
  record?: AirbyteRecord;
  state?: unknown;
  sourceStatus?: { status?: string; message?: { summary?: string } | string };
  log?: { level?: string; message?: string };
  trace?: {
    type?: string;
    error?: { message?: string; internal_message?: string };
    estimate?: { name?: string; row_estimate?: number };
  };
  connectionStatus?: { status?: string; message?: string };
}

/** The failure a message reports, or null. */
export function failureOf(msg: AirbyteMessage): { message: string; fatal: boolean } | null {
  if (msg.type === 'TRACE' && msg.trace?.type === 'ERROR') {
    return { message: msg.trace.error?.message ?? 'source reported an error', fatal: true };
  }
  if (msg.type === 'CONNECTION_STATUS' && msg.connectionStatus?.status === 'FAILED') {
    return {
      message: msg.connectionStatus.message ?? 'source connection check failed',
      fatal: true,
    };
  }
  if (msg.type === 'STATE' && msg.sourceStatus?.status === 'ERRORED') {
    const m = msg.sourceStatus.message;
    // A stream failed; the source goes on with the others and later checkpoints stay valid.
    return {
      message: (typeof m === 'string' ? m : m?.summary) ?? 'a source stream failed',
      fatal: false,
    };
  }
  return null;
}

/**
 * A problem the source reports without failing: the Faros CDK sends a failed slice as a STATE
 * whose sourceStatus is still RUNNING, with the error as its message.
 */
export function warningOf(msg: AirbyteMessage): string | null {
  if (msg.type !== 'STATE' || !msg.sourceStatus?.message || msg.sourceStatus.status === 'ERRORED')
    return null;
  const m = msg.sourceStatus.message;
  return typeof m === 'string' ? m : (m.summary ?? null);
}
