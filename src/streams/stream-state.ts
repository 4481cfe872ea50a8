/**
 * The source's state on the wire: one Airbyte STATE message per stream (`type: STREAM`), its
 * `stream_state` the stream's RangedStreamState as plain JSON, which a person can read and edit
 * in Airbyte's state editor. `--state` takes what the platform hands back (the last STATE of each
 * stream, as an array), a GLOBAL state, or — once, to upgrade an existing connection — the Faros
 * CDK's legacy blob (`{"data": {"format": "base64/gzip", …}}`) or its gzipped STREAM states.
 */
import { Data } from 'faros-airbyte-cdk';

import { ConfigError } from '../config';
import { decodeIdRuns } from './id-runs';
import { RangedStreamState } from './ranged-sync';

export interface StreamStateMessage {
  type: 'STATE';
  state: {
    type: 'STREAM';
    stream: { stream_descriptor: { name: string }; stream_state: RangedStreamState };
    sourceStats: { recordCount: number };
  };
}

export function stateMessage(
  stream: string,
  state: RangedStreamState,
  recordCount: number,
): StreamStateMessage {
  return {
    type: 'STATE',
    state: {
      type: 'STREAM',
      stream: { stream_descriptor: { name: stream }, stream_state: state },
      sourceStats: { recordCount },
    },
  };
}

export interface InputState {
  /** The state of each of `streams` found in the input (the others start from nothing). */
  streams: Record<string, RangedStreamState>;
  /** What the input was, for the log: Airbyte's own forms, or the legacy blob being upgraded. */
  format: 'none' | 'STREAM' | 'GLOBAL' | 'LEGACY';
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The stream states of a `--state` file's content for the given streams; throws a ConfigError
 * that names the stream and field when a state is not one this source wrote.
 */
export function decodeInputState(input: unknown, streams: readonly string[]): InputState {
  const found: Record<string, unknown> = {};
  let format: InputState['format'] = 'none';
  const messages = Array.isArray(input) ? input : input === undefined ? [] : [input];
  for (const message of messages) {
    if (!isObject(message)) throw invalid('the state is not a JSON object or an array of them');
    if (Object.keys(message).length === 0) continue; // `{}`: no state yet
    const type = message.type;
    if (type === 'STREAM' && isObject(message.stream)) {
      format = 'STREAM';
      const descriptor = message.stream.stream_descriptor as Json | undefined;
      // A namespaced descriptor is not one of ours (the Faros CDK's shared states are).
      if (typeof descriptor?.name === 'string' && descriptor.namespace == null) {
        found[descriptor.name] = message.stream.stream_state;
      }
    } else if (type === 'GLOBAL' && isObject(message.global)) {
      format = 'GLOBAL';
      for (const entry of (message.global.stream_states as Json[] | undefined) ?? []) {
        const descriptor = entry?.stream_descriptor as Json | undefined;
        if (typeof descriptor?.name === 'string' && descriptor.namespace == null) {
          found[descriptor.name] = entry.stream_state;
        }
      }
    } else {
      // LEGACY: the message's `data`, or the blob itself (which the Faros CDK gzips).
      format = 'LEGACY';
      const blob = type === 'LEGACY' ? message.data : message;
      const legacy = decompress(isObject(blob) && isObject(blob.data) ? blob.data : blob);
      if (!isObject(legacy)) throw invalid('the legacy state is not a JSON object');
      Object.assign(found, legacy);
    }
  }
  const result: Record<string, RangedStreamState> = {};
  for (const stream of streams) {
    // The Faros CDK gzipped each stream state on the platform: decompress it once to upgrade.
    const state = decompress(found[stream]);
    if (state !== undefined && state !== null) result[stream] = checkStreamState(stream, state);
  }
  return { streams: result, format };
}

/** The Faros CDK's `{format: "base64/gzip", data}` decompressed; anything else as it is. */
function decompress(value: unknown): unknown {
  return isObject(value) ? Data.decompress(value) : value;
}

function invalid(message: string): ConfigError {
  return new ConfigError(`Invalid --state: ${message}`);
}

const isDate = (value: unknown) => typeof value === 'string' && !isNaN(Date.parse(value));
const isId = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

/** The state of `stream` as RangedStream reads it, or an error naming what is wrong. */
function checkStreamState(stream: string, state: unknown): RangedStreamState {
  const problem = streamStateProblem(state);
  if (problem) throw invalid(`the state of stream ${stream}: ${problem}`);
  return state as RangedStreamState;
}

function streamStateProblem(state: unknown): string | undefined {
  if (!isObject(state)) return 'not a JSON object';
  const { cursor, pending, skipped, live, filters } = state;
  if (cursor !== undefined && !isDate(cursor)) return 'cursor is not a date-time';
  if (filters !== undefined && !isObject(filters)) return 'filters is not a JSON object';
  if (skipped !== undefined && !(Array.isArray(skipped) && skipped.every(isId)))
    return 'skipped is not a list of IDs';
  if (live !== undefined) {
    if (typeof live !== 'string') return 'live is not an id-runs text';
    try {
      decodeIdRuns(live, 'live');
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (pending === undefined) return undefined;
  if (!isObject(pending)) return 'pending is not a JSON object';
  if (pending.mode !== 'incremental' && pending.mode !== 'full_refresh')
    return 'pending.mode is not incremental or full_refresh';
  for (const key of ['since', 'startedAt'] as const) {
    if (pending[key] !== undefined && !isDate(pending[key]))
      return `pending.${key} is not a date-time`;
  }
  const done = pending.done;
  const isRange = (r: unknown) =>
    Array.isArray(r) && r.length === 2 && isId(r[0]) && isId(r[1]) && r[0] <= r[1];
  if (!Array.isArray(done) || !done.every(isRange))
    return 'pending.done is not a list of [from, to]';
  return undefined;
}

/** A stream state in a log line: what it says, without the `live` list (up to megabytes). */
export function describeState(state: RangedStreamState): string {
  const parts = [state.cursor ? `cursor ${state.cursor}` : 'no cursor'];
  if (state.pending) {
    parts.push(
      `an interrupted ${state.pending.mode} sync with ${state.pending.done.length} ranges done`,
    );
  }
  if (state.skipped?.length) parts.push(`${state.skipped.length} skipped IDs to retry`);
  if (state.live !== undefined) parts.push(`${state.live.length} characters of live host IDs`);
  return parts.join(', ');
}
