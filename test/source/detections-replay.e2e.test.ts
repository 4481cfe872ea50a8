/**
 * The `detections` stream on a real /api/2.0 Host List Detection answer, which has no
 * UNIQUE_VULN_ID (test_files/real-captures/hld-j1-qg3-2020-04.xml, see /work/shared's README of
 * the captures): replayed over HTTP from 127.0.0.1 to bin/main read, every record is compared
 * with what an independent parser (fast-xml-parser) reads from the same bytes, and each key is
 * the documented fallback, QID|PORT|PROTOCOL|SSL|FQDN|INSTANCE.
 */
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';

import { XMLParser } from 'fast-xml-parser';

import { DetectionRecord } from '../../src/records';
import { catalog, expectCleanRun, PASSWORD, recordsOf, recordValidator, runMain } from './harness';

const CAPTURE = fs.readFileSync(
  path.join(__dirname, '../../test_files/real-captures/hld-j1-qg3-2020-04.xml'),
);

type Xml = Record<string, string | undefined> & { DETECTION_LIST?: { DETECTION: Xml[] } };

function captureHosts(): Xml[] {
  const parser = new XMLParser({
    parseTagValue: false,
    ignoreAttributes: true,
    isArray: (name) => ['HOST', 'DETECTION'].includes(name),
  });
  const doc = parser.parse(CAPTURE.toString('utf8')) as {
    HOST_LIST_VM_DETECTION_OUTPUT: { RESPONSE: { HOST_LIST: { HOST: Xml[] } } };
  };
  return doc.HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST;
}

/** Serves the capture for detection calls, and its host IDs for the host listings. */
async function replayServer(ids: number[]) {
  const idSet =
    '<?xml version="1.0" encoding="UTF-8" ?>\n<HOST_LIST_OUTPUT><RESPONSE>' +
    '<DATETIME>2020-04-23T10:00:00Z</DATETIME><ID_SET>' +
    ids.map((id) => `<ID>${id}</ID>`).join('') +
    '</ID_SET></RESPONSE></HOST_LIST_OUTPUT>\n';
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/api/4.0/fo/asset/host/') {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(idSet);
      } else if (req.url === '/api/4.0/fo/asset/host/vm/detection/') {
        res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' }).end(CAPTURE);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const flag = (text: string | undefined) => (text === undefined ? undefined : text === '1');

describe('bin/main read of detections on a real /api/2.0 answer (no UNIQUE_VULN_ID)', () => {
  it('gives each detection the fallback key, unique per host, and exactly its fields', async () => {
    const hosts = captureHosts();
    const server = await replayServer(hosts.map((h) => Number(h.ID)).sort((a, b) => a - b));
    try {
      const config = {
        base_url: server.baseUrl,
        username: 'jdoe',
        password: PASSWORD,
        subscription: 'replay',
        detections_page_size: 100,
        timeout: 20,
        max_retries: 1,
      };
      const run = await runMain('read', { config, catalog: catalog(['detections']) });
      expect(run.code).toBe(0);
      expectCleanRun(run);
      const records = recordsOf<DetectionRecord>(run, 'detections');
      const validate = recordValidator('detections');
      for (const record of records) expect(validate(record)).toBe(true);
      const expected = hosts.flatMap((host) =>
        (host.DETECTION_LIST?.DETECTION ?? []).map((d) => ({
          subscription: 'replay',
          HOST_ID: Number(host.ID),
          IP: host.IP,
          TRACKING_METHOD: host.TRACKING_METHOD,
          DNS: host.DNS,
          NETBIOS: host.NETBIOS,
          OS: host.OS,
          LAST_SCAN_DATETIME: host.LAST_SCAN_DATETIME,
          QID: Number(d.QID),
          TYPE: d.TYPE,
          SEVERITY: num(d.SEVERITY),
          PORT: num(d.PORT),
          PROTOCOL: d.PROTOCOL,
          SSL: flag(d.SSL),
          STATUS: d.STATUS,
          FIRST_FOUND_DATETIME: d.FIRST_FOUND_DATETIME,
          LAST_FOUND_DATETIME: d.LAST_FOUND_DATETIME,
          TIMES_FOUND: num(d.TIMES_FOUND),
          LAST_PROCESSED_DATETIME: d.LAST_PROCESSED_DATETIME,
          DETECTION_KEY: [d.QID, d.PORT, d.PROTOCOL, flag(d.SSL), d.FQDN, d.INSTANCE]
            .map((part) => part ?? '')
            .join('|'),
        })),
      );
      expect(expected).toHaveLength(29);
      // Every field compared is exactly what the capture says (absent ones absent); RESULTS and the rest
      // are held to the general reader by the encoder tests.
      expect(records).toEqual(
        expected.map((row) => expect.objectContaining(JSON.parse(JSON.stringify(row)))),
      );
      for (const record of records) expect(record).not.toHaveProperty('UNIQUE_VULN_ID');
      expect(records.slice(0, 2).map((r) => r.DETECTION_KEY)).toEqual([
        '11|||false||',
        '38739|22|tcp|false||',
      ]);
      const keys = records.map((r) => `${r.HOST_ID} ${r.DETECTION_KEY}`);
      expect(new Set(keys).size).toBe(29);
    } finally {
      await server.close();
    }
  });
});
