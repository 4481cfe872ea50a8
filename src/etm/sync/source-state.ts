/**
 * The source's Airbyte state as the store keeps it, to pass back verbatim as the next read's
 * `--state` file. The Faros CDK on the CLI sends the whole connector state each time (legacy
 * `{"data": {"format": "base64/gzip", "data": "…"}}`), which replaces what was kept; per-stream
 * STREAM states (the Airbyte platform format) are kept per stream and passed back as their list.
 */

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
