import { State } from 'faros-airbyte-cdk';

import { decodeInputState } from '../../src/streams/stream-state';

const STREAMS = ['hosts', 'host_detections'];
const hosts = { cursor: '2025-06-02T12:00:00Z', live: '1thojk.d,b.1' };
const detections = {
  pending: { mode: 'incremental', startedAt: '2025-06-02T12:00:00Z', done: [[1, 9]] },
};

const streamMessage = (name: string, state: unknown, namespace?: string | null) => ({
  type: 'STREAM',
  stream: {
    stream_descriptor: { name, ...(namespace !== undefined && { namespace }) },
    stream_state: state,
  },
});

describe('decodeInputState', () => {
  it('reads what the platform hands back: the last STATE per stream, as an array', () => {
    const input = [
      streamMessage('hosts', hosts, null),
      streamMessage('host_detections', detections),
      streamMessage('knowledge_base', { cursor: '2025-01-01T00:00:00Z' }),
      streamMessage('hosts', { cursor: 'not ours' }, 'other_namespace'),
    ];
    expect(decodeInputState(input, STREAMS)).toEqual({
      format: 'STREAM',
      streams: { hosts, host_detections: detections },
    });
  });

  it('reads a GLOBAL state', () => {
    const global = {
      type: 'GLOBAL',
      global: {
        shared_state: {},
        stream_states: [{ stream_descriptor: { name: 'hosts' }, stream_state: hosts }],
      },
    };
    expect(decodeInputState([global], STREAMS)).toEqual({ format: 'GLOBAL', streams: { hosts } });
    expect(decodeInputState(global, STREAMS)).toEqual({ format: 'GLOBAL', streams: { hosts } });
  });

  it('upgrades the Faros CDK states: the legacy blob, as is or in a LEGACY message, and gzipped STREAM states', () => {
    const connector = { hosts, host_detections: detections, __stream_freshness_state: {} };
    const legacy = State.encodeLegacy(connector);
    const want = { hosts, host_detections: detections };
    expect(decodeInputState(legacy, STREAMS)).toEqual({ format: 'LEGACY', streams: want });
    expect(decodeInputState([{ type: 'LEGACY', data: legacy }], STREAMS).streams).toEqual(want);
    expect(decodeInputState(connector, STREAMS).streams).toEqual(want);
    const farosPlatform = [
      State.encodeStream('hosts', hosts),
      State.encodeStream('host_detections', detections),
      State.encodeStream('__noop__', {}, '__faros__'),
    ];
    expect(decodeInputState(farosPlatform, STREAMS)).toEqual({ format: 'STREAM', streams: want });
  });

  it('takes no state, {} and [] as no state', () => {
    for (const input of [undefined, {}, []]) {
      expect(decodeInputState(input, STREAMS)).toEqual({ format: 'none', streams: {} });
    }
  });

  it.each([
    [{ cursor: 'yesterday' }, 'cursor is not a date-time'],
    [{ live: 'zz' }, 'live: "zz" is not a gap.length pair'],
    [{ skipped: [1, -2] }, 'skipped is not a list of IDs'],
    [
      { pending: { mode: 'sometimes', done: [] } },
      'pending.mode is not incremental or full_refresh',
    ],
    [
      { pending: { mode: 'incremental', done: [[9, 1]] } },
      'pending.done is not a list of [from, to]',
    ],
    ['x', 'not a JSON object'],
  ])('refuses a stream state it did not write: %j', (state, problem) => {
    expect(() => decodeInputState([streamMessage('hosts', state)], STREAMS)).toThrow(
      `Invalid --state: the state of stream hosts: ${problem}`,
    );
  });
});
