import http from 'node:http';
import { AddressInfo } from 'node:net';

import { AirbyteLogger } from 'faros-airbyte-cdk';

import { validateConfig } from '../../src/config';
import { QualysClient } from '../../src/qualys/client';
import { listIds, rangeRecords } from '../../src/qualys/lists';
import { detectionParams } from '../../src/qualys/params';
import { DEFAULT_RETRY_TIMING } from '../../src/qualys/retry';
import { compileRecordShape } from '../../src/qualys/xml/shape';
import { Simulator } from '../../src/simulator';
import schema from '../../resources/schemas/host_detections.json';
import { configFor, simulator } from './harness';

const SHAPE = compileRecordShape(schema);

function clientFor(sim: Pick<Simulator, 'baseUrl' | 'username' | 'password'>): QualysClient {
  const config = validateConfig(configFor(sim as Simulator));
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
        const { ranges, total } = await listIds(client, 'host_list', {
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
      const listing = await listIds(client, 'host_list', { since: undefined, exclude, size: 10 });
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

describe('a server that repeats a host across pages', () => {
  const host = (id: number) =>
    `<HOST><ID>${id}</ID><DETECTION_LIST><DETECTION><QID>38794</QID><TYPE>Confirmed</TYPE></DETECTION></DETECTION_LIST></HOST>`;
  const page = (ids: number[], nextIdMin?: number) =>
    '<?xml version="1.0" encoding="UTF-8" ?>\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE>' +
    `<DATETIME>2025-03-14T09:20:05Z</DATETIME><HOST_LIST>${ids.map(host).join('')}</HOST_LIST>` +
    (nextIdMin
      ? `<WARNING><CODE>1980</CODE><TEXT>2 record limit exceeded.</TEXT><URL><![CDATA[https://qualysapi.example.com/api/4.0/fo/asset/host/vm/detection/?action=list&truncation_limit=2&id_min=${nextIdMin}]]></URL></WARNING>`
      : '') +
    '</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>';

  it('is read once per host, with form-encoded POSTs carrying auth and X-Requested-With', async () => {
    const requests: { method?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    // Page 2 starts again at host 12: the id_min the server gives is the last host of page 1.
    const pages: Record<string, string> = {
      '10': page([10, 12], 12),
      '12': page([12, 15], 15),
      '15': page([15, 19]),
    };
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        requests.push({ method: req.method, headers: req.headers, body });
        const idMin = new URLSearchParams(body).get('id_min') ?? '';
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(pages[idMin]);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = clientFor({
        baseUrl: `http://127.0.0.1:${port}`,
        username: 'jdoe',
        password: 'pw',
      });
      const request = {
        api: 'detection' as const,
        params: { show_qds: '1' },
        items: { HOST: SHAPE },
        idField: 'ID',
        pageSize: 2,
        stallsToSplit: 2,
        what: 'test',
      };
      const ids: unknown[] = [];
      for await (const record of rangeRecords(client, request, { from: 10, to: 19 }))
        ids.push(record.ID);
      expect(ids).toEqual([10, 12, 15, 19]);
      expect(requests.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
      expect(requests.map((r) => r.body)).toEqual([
        'show_qds=1&action=list&id_min=10&id_max=19&truncation_limit=2',
        'show_qds=1&action=list&id_min=12&id_max=19&truncation_limit=2',
        'show_qds=1&action=list&id_min=15&id_max=19&truncation_limit=2',
      ]);
      for (const { headers } of requests) {
        expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
        expect(headers['x-requested-with']).toBe('qualys-vmdr-dataflow');
        expect(headers.authorization).toBe(`Basic ${Buffer.from('jdoe:pw').toString('base64')}`);
      }
    } finally {
      server.close();
    }
  });
});

describe('a call whose response has arrived while its records are still being read', () => {
  it('gives its slot to the next call at once (Qualys counts it running until it has sent)', async () => {
    const sim = await simulator({ hosts: 30, detectionsPerHost: 5, seed: 4 });
    try {
      const client = clientFor(sim);
      const params = { ...detectionParams(client.config), action: 'list', truncation_limit: '0' };
      const calls = client.call('detection', params, 'test', { HOST: SHAPE });
      const first = await calls.next();
      expect(first.done).toBe(false);
      expect(client.budget.stats().inFlight).toBe(1);
      // A slow consumer: the page (about 100 KB) arrives meanwhile, and the call ends for the
      // server; its slot is free while 29 hosts are still to be read.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(client.budget.stats().inFlight).toBe(0);
      let hosts = 0;
      for await (const event of calls) if (event.kind === 'record') hosts++;
      expect(hosts).toBeGreaterThanOrEqual(29);
    } finally {
      await sim.close();
    }
  });
});
