/**
 * The source's Airbyte state as the store keeps it, to pass back verbatim as the next read's
 * `--state` file. The Faros CDK on the CLI sends the whole connector state each time (legacy
 * `{"data": {"format": "base64/gzip", "data": "…"}}`), which replaces what was kept; per-stream
 * STREAM states (the Airbyte platform format) are kept per stream and passed back as their list.
 */

import zlib from 'zlib';

interface StreamState {
  type: 'STREAM';
  stream: { stream_descriptor: { name: string; namespace?: string } };
}

const isStreamState = (s: unknown): s is StreamState =>
  !!s && typeof s === 'object' && (s as { type?: unknown }).type === 'STREAM';

const descriptor = (s: StreamState): string =>
  `${s.stream.stream_descriptor.namespace ?? ''}\u0000${s.stream.stream_descriptor.name}`;

/** The state to keep after `incoming` arrives on top of `kept`. */
export function mergeState(kept: unknown, incoming: unknown): unknown {
  if (!isStreamState(incoming)) return incoming;
  const list = Array.isArray(kept) ? kept.filter(isStreamState) : [];
  return [...list.filter((s) => descriptor(s) !== descriptor(incoming)), incoming];
}

/**
 * The state without one stream's part, so that the next sync reads that stream from scratch:
 * per-stream states lose that stream's entry; a legacy state (one object keyed by stream, maybe
 * gzipped by the Faros CDK) loses that key and is kept as plain JSON, which the CDK also reads.
 */
export function withoutStream(kept: unknown, stream: string): unknown {
  if (Array.isArray(kept)) {
    return kept.filter((s) => !isStreamState(s) || s.stream.stream_descriptor.name !== stream);
  }
  const streams = legacyStreams(kept);
  if (!streams) return kept;
  const { [stream]: _dropped, ...rest } = streams;
  return rest;
}

/** The streams a stored state holds a part for. */
export function streamsOf(kept: unknown): string[] {
  if (Array.isArray(kept))
    return kept.filter(isStreamState).map((s) => s.stream.stream_descriptor.name);
  return Object.keys(legacyStreams(kept) ?? {});
}

/** A legacy state as stream name → state: `{data: gzipped}` as the CDK writes it, or plain. */
function legacyStreams(kept: unknown): Record<string, unknown> | null {
  if (!kept || typeof kept !== 'object') return null;
  const d = (kept as { data?: { format?: unknown; data?: unknown } }).data;
  if (d?.format === 'base64/gzip' && typeof d.data === 'string') {
    return JSON.parse(zlib.gunzipSync(Buffer.from(d.data, 'base64')).toString('utf8'));
  }
  return kept as Record<string, unknown>;
}

/**
 * The state kept by an etm that read `from`, for a catalog that reads `to` instead: `to` takes
 * `from`'s part (etm read host_detections before it read detections; both streams keep the
 * same state, one cursor over the same request and filters: streams/ranged-stream.ts), so the
 * first sync after the change reads only what changed. Unchanged when `to` has a part already
 * or `from` has none.
 */
export function renamedStream(kept: unknown, from: string, to: string): unknown {
  if (Array.isArray(kept)) {
    const names = streamsOf(kept);
    if (!names.includes(from) || names.includes(to)) return kept;
    return kept.map((s) =>
      isStreamState(s) && s.stream.stream_descriptor.name === from
        ? {
            ...s,
            stream: { ...s.stream, stream_descriptor: { ...s.stream.stream_descriptor, name: to } },
          }
        : s,
    );
  }
  // Decoded once (a legacy blob is gzipped).
  const streams = legacyStreams(kept);
  if (!streams || !(from in streams) || to in streams) return kept;
  const { [from]: part, ...rest } = streams;
  return { ...rest, [to]: part };
}
