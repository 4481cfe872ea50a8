/** The `etm sync` progress line: one case per row, each a sample after the previous one. */
import { ConsumerProgress } from '../../src/etm/sync/consumer';
import { ProgressLine } from '../../src/etm/sync/progress-line';

const progress = (over: Partial<ConsumerProgress>): ConsumerProgress => ({
  records: 0,
  checkpoints: 0,
  findings: 0,
  hosts: 0,
  streams: [],
  ...over,
});

test('rates are over the last interval; percentage and time left once the stream is estimated', () => {
  const line = new ProgressLine('emea', 0);
  const samples: [number, ConsumerProgress, string][] = [
    [
      2000,
      progress({
        records: 100,
        hosts: 100,
        streams: [{ name: 'hosts', records: 100, estimate: null }],
      }),
      'emea: 100 records (100 hosts, 0 findings), 0 checkpoints, 0 findings/s',
    ],
    [
      4000,
      progress({
        records: 300,
        hosts: 200,
        findings: 4000,
        checkpoints: 1,
        streams: [
          { name: 'hosts', records: 200, estimate: 200 },
          { name: 'host_detections', records: 100, estimate: 1000 },
        ],
      }),
      'emea: 300 records (200 hosts, 4,000 findings), 1 checkpoints, 2,000 findings/s, ' +
        'host_detections 10% of 1,000, about 18 s left',
    ],
    [
      // Slower now: the rate and the time left follow the last interval, not the average.
      14000,
      progress({
        records: 400,
        hosts: 200,
        findings: 6000,
        checkpoints: 2,
        streams: [
          { name: 'hosts', records: 200, estimate: 200 },
          { name: 'host_detections', records: 200, estimate: 1000 },
        ],
      }),
      'emea: 400 records (200 hosts, 6,000 findings), 2 checkpoints, 200 findings/s, ' +
        'host_detections 20% of 1,000, about 1 min left',
    ],
  ];
  for (const [at, p, expected] of samples) expect(line.format(p, at)).toBe(expected);
});
