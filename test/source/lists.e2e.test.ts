import { AirbyteLogger } from 'faros-airbyte-cdk';

import { validateConfig } from '../../src/config';
import { QualysClient } from '../../src/qualys/client';
import { listHostIdRanges, rangeRecords } from '../../src/qualys/lists';
import { detectionParams } from '../../src/qualys/params';
import { DEFAULT_RETRY_TIMING } from '../../src/qualys/retry';
import { compileRecordShape } from '../../src/qualys/xml/shape';
import { Simulator } from '../../src/simulator';
import schema from '../../resources/schemas/host_detections.json';
import { configFor, simulator } from './harness';

const SHAPE = compileRecordShape(schema);

function clientFor(sim: Simulator): QualysClient {
  const config = validateConfig(configFor(sim));
  const logger = new AirbyteLogger();
  logger.write = () => Promise.resolve();
  return new QualysClient(config, QualysClient.httpInstance(config), logger, {
    ...DEFAULT_RETRY_TIMING,
    baseDelayMs: 10,
  });
}

describe('ranged list operations against the simulator', () => {
  for (const warningUrl of ['cdata', 'escaped'] as const) {
    it(`follow ${warningUrl} WARNING URLs page by page: every host once, in order`, async () => {
      const sim = await simulator({ hosts: 40, detectionsPerHost: 3, seed: 9, warningUrl });
      try {
        const client = clientFor(sim);
        const params = detectionParams(client.config);
        const expected = sim.dataset.matchDetections(params).map((m) => m.hostId);
        const { ranges, total } = await listHostIdRanges(client, {
          since: undefined,
          exclude: [],
          size: 1000,
        });
        expect(ranges).toHaveLength(1);
        expect(total).toBe(40);
        const seen: number[] = [];
        const request = {
          api: 'detection' as const,
          params,
          items: { HOST: SHAPE },
          idField: 'ID',
          pageSize: 3,
          stallsToSplit: 2,
          what: 'test',
        };
        for await (const host of rangeRecords(client, request, ranges[0]))
          seen.push(host.ID as number);
        expect(seen).toEqual(expected);
        expect(sim.stats().calls.hld).toBe(Math.ceil(expected.length / 3));
      } finally {
        await sim.close();
      }
    });
  }

  it('cuts the ID listing into ranges of the page size, leaving out finished ones', async () => {
    const sim = await simulator({ hosts: 25, seed: 4 });
    try {
      const client = clientFor(sim);
      const ids = sim.dataset.hostIds();
      const exclude: [number, number][] = [[ids[3], ids[7]]];
      const listing = await listHostIdRanges(client, { since: undefined, exclude, size: 10 });
      const kept = ids.filter((id) => id < ids[3] || id > ids[7]);
      expect(listing.total).toBe(kept.length);
      expect(listing.datetime).toBe(sim.clock.nowIso());
      expect(listing.ranges.map((r) => r.count)).toEqual([10, 10]);
      expect(listing.ranges[0].from).toBe(kept[0]);
      expect(listing.ranges[1].to).toBe(kept[kept.length - 1]);
    } finally {
      await sim.close();
    }
  });
});
