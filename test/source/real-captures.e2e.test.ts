/**
 * Bodies real Qualys servers sent (test_files/real-captures, see its README and index.json),
 * replayed over HTTP from 127.0.0.1 to bin/main read and check. The ID listings the connector asks
 * for first are made from the replayed capture's own IDs (no capture holds a matching one). Every
 * host, detection and KB entry is compared with what an independent parser (fast-xml-parser)
 * reads from the same bytes, line ends normalised as XML 1.0 §2.11 says.
 */
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';

import { XMLParser } from 'fast-xml-parser';

import { MAX_FIELD_CHARS } from '../../src/qualys/xml/text-cap';
import { catalog, Message, recordsOf, Run, runMain } from './harness';

const DIR = path.join(__dirname, '../../test_files/real-captures');
const INDEX = JSON.parse(fs.readFileSync(path.join(DIR, 'index.json'), 'utf8')) as {
  files: Record<string, { content_type: string; status: number }>;
};
const PASSWORD = 'replay-pw-never-in-output';

type Xml = Record<string, unknown>;

const parser = new XMLParser({
  parseTagValue: false,
  ignoreAttributes: true,
  isArray: (name) => ['HOST', 'DETECTION', 'VULN', 'ID', 'ID_RANGE'].includes(name),
});

function capture(name: string): Buffer {
  return fs.readFileSync(path.join(DIR, name));
}

function parsed(name: string): Xml {
  return parser.parse(capture(name).toString('utf8')) as Xml;
}

function hostsOf(name: string): Xml[] {
  const response = (parsed(name).HOST_LIST_VM_DETECTION_OUTPUT as Xml).RESPONSE as Xml;
  return ((response.HOST_LIST as Xml | undefined)?.HOST as Xml[] | undefined) ?? [];
}

function vulnsOf(name: string): Xml[] {
  const response = (parsed(name).KNOWLEDGE_BASE_VULN_LIST_OUTPUT as Xml).RESPONSE as Xml;
  return ((response.VULN_LIST as Xml | undefined)?.VULN as Xml[] | undefined) ?? [];
}

function idSet(root: string, ids: number[]): string {
  const entries = [...ids]
    .sort((a, b) => a - b)
    .map((id) => `<ID>${id}</ID>`)
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8" ?>\n<${root}><RESPONSE><DATETIME>2025-03-14T09:00:00Z` +
    `</DATETIME>${ids.length ? `<ID_SET>${entries}</ID_SET>` : ''}</RESPONSE></${root}>\n`
  );
}

interface Replay {
  /** Capture served for the host ID listing; made from `detections` otherwise. */
  hostList?: string;
  /** Capture served for detection pages. */
  detections?: string;
  /** Captures served for KB reads (ids=…), the first that holds a requested QID; or empty. */
  kb?: string[];
  /** Capture served for every call (an error answer). */
  all?: string;
}

/** Serves `replay` to the connector; resolves with its base URL and a close function. */
async function replayServer(replay: Replay) {
  const serve = (res: http.ServerResponse, name: string) => {
    const { status, content_type } = INDEX.files[name];
    res.writeHead(status, { 'content-type': content_type }).end(capture(name));
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      if (replay.all) return serve(res, replay.all);
      const listing = params.get('details') === 'None';
      if (req.url === '/api/4.0/fo/asset/host/' && replay.hostList) {
        serve(res, replay.hostList);
      } else if (req.url === '/api/4.0/fo/asset/host/') {
        const ids = replay.detections ? hostsOf(replay.detections).map((h) => Number(h.ID)) : [];
        res.writeHead(200, { 'content-type': 'text/xml' }).end(idSet('HOST_LIST_OUTPUT', ids));
      } else if (req.url === '/api/4.0/fo/asset/host/vm/detection/' && replay.detections) {
        serve(res, replay.detections);
      } else if (req.url === '/api/4.0/fo/knowledge_base/vuln/') {
        const files = replay.kb ?? ['kb-j1-qg3-2020-10-empty.xml'];
        if (listing) {
          const qids = files.flatMap((f) => vulnsOf(f).map((v) => Number(v.QID)));
          const root = 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT';
          res.writeHead(200, { 'content-type': 'text/xml' }).end(idSet(root, [...new Set(qids)]));
          return;
        }
        // The join asks for ids=…, the knowledge_base stream for id_min..id_max.
        const wanted = new Set((params.get('ids') ?? '').split(',').map(Number));
        const [min, max] = [Number(params.get('id_min')), Number(params.get('id_max'))];
        const asked = (qid: number) => wanted.has(qid) || (qid >= min && qid <= max);
        const file = files.find((f) => vulnsOf(f).some((v) => asked(Number(v.QID))));
        serve(res, file ?? 'kb-j1-qg3-2020-10-empty.xml');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    config: (extra: Record<string, unknown> = {}) => ({
      base_url: `http://127.0.0.1:${port}`,
      username: 'jdoe',
      password: PASSWORD,
      subscription: 'replay',
      detections_page_size: 10,
      hosts_page_size: 10,
      timeout: 20,
      max_retries: 1,
      ...extra,
    }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function replayRead(
  replay: Replay,
  stream: string,
  extra: Record<string, unknown> = {},
): Promise<Run> {
  const server = await replayServer(replay);
  try {
    const run = await runMain('read', { config: server.config(extra), catalog: catalog([stream]) });
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    return run;
  } finally {
    await server.close();
  }
}

function warnings(run: Run): string[] {
  return run.messages
    .filter((m: Message) => m.type === 'LOG' && m.log.level === 'WARN')
    .map((m) => m.log.message as string);
}

/** XML 1.0 §2.11: CR LF and a lone CR are LF. */
function lf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/**
 * Every text leaf of `xml` (an element fast-xml-parser read) is the record's field of that name,
 * as the record's type has it; `skip` lists elements compared elsewhere.
 */
function expectLeaves(record: Xml, xml: Xml, skip: string[], what: string): void {
  for (const [name, value] of Object.entries(xml)) {
    if (typeof value !== 'string' || skip.includes(name)) continue;
    const actual = record[name];
    const text = lf(value);
    const expected =
      typeof actual === 'number' ? Number(text) : typeof actual === 'boolean' ? text === '1' : text;
    expect([what, name, typeof actual === 'string' ? actual.trim() : actual]).toEqual([
      what,
      name,
      typeof expected === 'string' ? expected.trim() : expected,
    ]);
  }
}

/** `results`: the RESULTS cap in effect (include_results), or the general field cap. */
function expectDetections(run: Run, capture: string, results: number): void {
  const records = recordsOf<Xml>(run, 'host_detections');
  const hosts = hostsOf(capture);
  // In the order the server sent them, none dropped.
  expect(records.map((r) => r.ID)).toEqual(hosts.map((h) => Number(h.ID)));
  hosts.forEach((host, i) => {
    const record = records[i];
    expectLeaves(record, host, [], `host ${String(host.ID)}`);
    const detections = ((host.DETECTION_LIST as Xml | undefined)?.DETECTION as Xml[]) ?? [];
    const recorded = record.VULNERABILITIES as Xml[];
    expect(recorded.map((d) => d.QID)).toEqual(detections.map((d) => Number(d.QID)));
    detections.forEach((detection, j) => {
      const what = `host ${String(host.ID)} QID ${String(detection.QID)}`;
      expectLeaves(recorded[j], detection, ['RESULTS'], what);
      const raw = detection.RESULTS === undefined ? undefined : lf(String(detection.RESULTS));
      const got = recorded[j].RESULTS as string | undefined;
      if (raw === undefined) {
        expect([what, got]).toEqual([what, undefined]);
      } else if (raw.length <= results) {
        expect([what, got?.trim()]).toEqual([what, raw.trim()]);
      } else {
        expect(got?.length).toBeLessThanOrEqual(results);
        const match = /^([\s\S]*)\n\[… (\d+) more characters truncated\]$/.exec(got ?? '');
        const [, kept, dropped] = match ?? ['', '', 'NaN'];
        // The marker counts exactly the characters not kept.
        expect([what, kept.length + Number(dropped)]).toEqual([what, raw.length]);
        expect([what, kept]).toEqual([what, raw.slice(0, kept.length)]);
      }
    });
  });
}

describe('real Qualys captures replayed to bin/main read', () => {
  it('reads every host and detection of a 5-host page (qg3, 2020)', async () => {
    const run = await replayRead({ detections: 'hld-j1-qg3-2020-04.xml' }, 'host_detections');
    expect(run.code).toBe(0);
    // Requested with show_results=1: RESULTS are kept, within the general field cap.
    expectDetections(run, 'hld-j1-qg3-2020-04.xml', MAX_FIELD_CHARS);
    const detections = recordsOf<Xml>(run, 'host_detections').flatMap(
      (r) => r.VULNERABILITIES as Xml[],
    );
    expect(detections).toHaveLength(29);
  });

  it('caps RESULTS with a marker that counts exactly what it drops', async () => {
    const run = await replayRead({ detections: 'hld-j1-qg3-2020-04.xml' }, 'host_detections', {
      include_results: true,
      results_max_length: 200,
    });
    expect(run.code).toBe(0);
    expectDetections(run, 'hld-j1-qg3-2020-04.xml', 200);
  });

  it('emits hosts that are not in ascending ID order (qg2, 2023), none dropped', async () => {
    const capture = 'hld-demisto-qg2-2023-05.xml';
    const run = await replayRead({ detections: capture }, 'host_detections', {
      include_results: true,
      results_max_length: 100000,
    });
    expect(run.code).toBe(0);
    expect(recordsOf<Xml>(run, 'host_detections').map((r) => r.ID)).toEqual([143111841, 10112200]);
    expectDetections(run, capture, 100000);
    expect(warnings(run).filter((w) => !/QIDs missing from the knowledge base/.test(w))).toEqual(
      [],
    );
  });

  it('reads an empty detection answer as no hosts', async () => {
    const run = await replayRead({ detections: 'hld-j1-qg3-2020-09-empty.xml' }, 'host_detections');
    expect(run.code).toBe(0);
    expect(recordsOf(run, 'host_detections')).toEqual([]);
  });

  it.each([
    // The listing and the detection answer of one real request pair (qg3, 2020-09-27).
    ['hostlist-idset-j1-qg3-2020-09.xml', 1],
    ['hostlist-empty-j1-qg3-2020-09.xml', 0],
    ['hostlist-empty-j1-qg3-2022-10.xml', 0],
  ])('lists host IDs from %s and reads what the detection answer holds', async (hostList, n) => {
    const server = await replayServer({ hostList, detections: 'hld-j1-qg3-2020-09-empty.xml' });
    try {
      const run = await runMain('read', {
        config: server.config(),
        catalog: catalog(['host_detections']),
      });
      expect(run.code).toBe(0);
      const estimate = run.messages.find((m) => m.type === 'TRACE' && m.trace.type === 'ESTIMATE');
      expect(estimate?.trace.estimate.row_estimate).toBe(n);
      expect(recordsOf(run, 'host_detections')).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('reads KB entries with CR LF inside CDATA as LF (XML 1.0 §2.11)', async () => {
    const capture = 'kb-qualysapi-2015-09.xml';
    const run = await replayRead({ kb: [capture] }, 'knowledge_base');
    expect(run.code).toBe(0);
    const records = recordsOf<Xml>(run, 'knowledge_base').sort(
      (a, b) => Number(a.QID) - Number(b.QID),
    );
    const vulns = vulnsOf(capture);
    expect(records.map((r) => r.QID)).toEqual(vulns.map((v) => Number(v.QID)));
    vulns.forEach((vuln, i) => expectLeaves(records[i], vuln, [], `QID ${String(vuln.QID)}`));
    const qid11 = records.find((r) => r.QID === 11) as Xml;
    expect(String(qid11.DIAGNOSIS)).toContain('\n');
    expect(JSON.stringify(records)).not.toContain('\\r');
  });

  it.each([
    ['kb-j1-qg3-2022-10.xml', 42],
    ['kb-j1-qg3-2020-10-316760.xml', 1],
    ['kb-j1-qg3-2020-10-150086.xml', 2],
    ['kb-demisto-2024-02.xml', 2],
  ])('reads every QID of %s', async (capture, count) => {
    const run = await replayRead({ kb: [capture] }, 'knowledge_base');
    expect(run.code).toBe(0);
    const records = recordsOf<Xml>(run, 'knowledge_base');
    const vulns = vulnsOf(capture);
    expect(vulns).toHaveLength(count);
    const byQid = new Map(records.map((r) => [r.QID, r]));
    expect([...byQid.keys()].sort()).toEqual(vulns.map((v) => Number(v.QID)).sort());
    for (const vuln of vulns) {
      expectLeaves(byQid.get(Number(vuln.QID)) as Xml, vuln, [], `QID ${String(vuln.QID)}`);
    }
  });
});

describe('real Qualys error answers replayed to bin/main check', () => {
  it.each([
    ['simple-return-2000-j1-qg3-2020-09.xml', /Qualys rejected the credentials \(HTTP 401/],
    ['simple-return-2001-j1-qg3-2020-11.xml', /HTTP 200 \(code 2001\): This account has expired\./],
    [
      'simple-return-1905-hld-j1-qg3-2020-09.xml',
      /HTTP 400 \(code 1905\): parameter ids has invalid value/,
    ],
  ])('%s fails the check with its message', async (capture, message) => {
    const server = await replayServer({ all: capture });
    try {
      const run = await runMain('check', { config: server.config() });
      const status = run.messages.find((m) => m.type === 'CONNECTION_STATUS');
      expect(status?.connectionStatus.status).toBe('FAILED');
      expect(status?.connectionStatus.message).toMatch(message);
    } finally {
      await server.close();
    }
  });
});
