/**
 * The fast path of host_detections (DetectionReader + HostEncoder) must give exactly the JSON of
 * the general path (ResponseReader + RecordBuilder + SharedJsonEncoder), byte for byte, on what
 * Qualys sends and on everything it gives up on.
 */
import fs from 'node:fs';
import path from 'node:path';

import { validateConfig } from '../../src/config';
import { detectionParams } from '../../src/qualys/params';
import { DetectionReader, MAX_HOST_BYTES } from '../../src/qualys/xml/detection-reader';
import { EncodedDetection, HostEncoder } from '../../src/qualys/xml/detection-encoder';
import { ListReader, ResponseEvent, ResponseReader } from '../../src/qualys/xml/response-reader';
import { compileRecordShape } from '../../src/qualys/xml/shape';
import { RECORD_PROTOTYPE } from '../../src/qualys/xml/record-object';
import { MAX_FIELD_CHARS } from '../../src/qualys/xml/text-cap';
import { Detection, detectionKey } from '../../src/records';
import { XmlSyntaxError } from '../../src/qualys/xml/tokenizer';
import { SharedJsonEncoder } from '../../src/shared-json';
import { startSimulator } from '../../src/simulator';
import detectionsSchema from '../../resources/schemas/host_detections.json';
import flatSchema from '../../resources/schemas/detections.json';

const HOST = compileRecordShape(detectionsSchema);

function read(reader: ListReader, doc: Buffer, chunkSize: number): ResponseEvent[] {
  const events: ResponseEvent[] = [];
  for (let i = 0; i < doc.length; i += chunkSize) {
    events.push(...reader.write(doc.subarray(i, i + chunkSize)));
  }
  reader.end();
  return events;
}

/** Each event as the record output would write it (records) or as JSON (the others). */
function encoded(events: ResponseEvent[]): string[] {
  const encoder = new SharedJsonEncoder();
  return events.map((event) => {
    if (event.kind !== 'record') return JSON.stringify(event);
    const parts: Buffer[] = [];
    encoder.encodeObject(event.record, {
      text: (text) => parts.push(Buffer.from(text, 'utf8')),
      bytes: (bytes, from = 0, to = bytes.length) => parts.push(bytes.subarray(from, to)),
    });
    return Buffer.concat(parts).toString('utf8');
  });
}

/** Reads `doc` both ways in chunks of `chunkSize`; returns the fast reader's host counts. */
function expectSameRecords(doc: Buffer, chunkSize = doc.length): DetectionReader['hosts'] {
  const general = encoded(read(new ResponseReader({ HOST }), doc, chunkSize));
  const fast = new DetectionReader(HOST);
  expect(encoded(read(fast, doc, chunkSize))).toEqual(general);
  return fast.hosts;
}

/** A 300-host page with every kind of detection, as the simulator serves the source's request. */
async function simulatorPage(): Promise<Buffer> {
  const sim = await startSimulator({ hosts: 300, detectionsPerHost: 20, qids: 400, seed: 7 });
  try {
    const config = validateConfig({
      base_url: sim.baseUrl,
      username: sim.username,
      password: sim.password,
      include_information_gathered: true,
      include_disabled: true,
    });
    const response = await fetch(`${sim.baseUrl}/api/4.0/fo/asset/host/vm/detection/`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`,
        'x-requested-with': 'test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        ...detectionParams(config),
        action: 'list',
        truncation_limit: '0',
      }).toString(),
    });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  } finally {
    await sim.close();
  }
}

function hld(hosts: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/4.0/fo/asset/host/vm/detection/dtd/output.dtd">
<HOST_LIST_VM_DETECTION_OUTPUT>
  <RESPONSE>
    <DATETIME>2025-03-14T09:20:05Z</DATETIME>
    <HOST_LIST>
${hosts}
    </HOST_LIST>
    <WARNING>
      <CODE>1980</CODE>
      <TEXT>1000 record limit exceeded. Use URL to get next batch of results.</TEXT>
      <URL><![CDATA[https://qualysapi.qualys.com/api/4.0/fo/asset/host/vm/detection/?action=list&id_min=9]]></URL>
    </WARNING>
  </RESPONSE>
</HOST_LIST_VM_DETECTION_OUTPUT>
`,
    'utf8',
  );
}

function host(id: number, detection: string, extra = ''): string {
  return `      <HOST>
        <ID>${id}</ID>
        <IP>10.0.0.${id}</IP>
        <TRACKING_METHOD>IP</TRACKING_METHOD>${extra}
        <DETECTION_LIST>
          <DETECTION>
            <UNIQUE_VULN_ID>${id}001</UNIQUE_VULN_ID>
            <QID>38170</QID>
            <TYPE>Confirmed</TYPE>
            <SEVERITY>3</SEVERITY>
            <PORT>443</PORT>
            <PROTOCOL>tcp</PROTOCOL>
            <SSL>1</SSL>
            <STATUS>Active</STATUS>
            <QDS severity="MEDIUM">45</QDS>
            <QDS_FACTORS>
              <QDS_FACTOR name="CVSS"><![CDATA[5.3]]></QDS_FACTOR>
            </QDS_FACTORS>${detection}
          </DETECTION>
        </DETECTION_LIST>
      </HOST>`;
}

describe('DetectionReader (the fast path) gives the general reader’s records', () => {
  it('on the Qualys sample, in any chunking, all hosts by the encoder', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../../test_files/qualys/hld_v4_sample.xml'));
    for (const chunkSize of [doc.length, 4096, 97, 7, 1]) {
      expect(expectSameRecords(doc, chunkSize)).toEqual({ encoded: 2, general: 0 });
    }
  });

  it('on a simulator page of 300 hosts with every kind of detection', async () => {
    const counts = expectSameRecords(await simulatorPage(), 65536);
    expect(counts.general).toBe(0);
    expect(counts.encoded).toBeGreaterThan(250);
  });

  it('when concurrent readers share one encoder and its output arenas', async () => {
    const doc = await simulatorPage();
    const general = encoded(read(new ResponseReader({ HOST }), doc, doc.length));
    const shared = new HostEncoder(HOST);
    const readers = [new DetectionReader(HOST, undefined, shared), new DetectionReader(HOST)];
    readers.push(new DetectionReader(HOST, undefined, shared));
    const events: ResponseEvent[][] = readers.map(() => []);
    // Interleaved as concurrent calls are; the page fills several 1 MB arenas.
    const chunk = 10_000;
    for (let i = 0; i < doc.length; i += chunk) {
      readers.forEach((reader, r) => events[r].push(...reader.write(doc.subarray(i, i + chunk))));
    }
    readers.forEach((reader) => reader.end());
    for (const [r, reader] of readers.entries()) {
      expect(reader.hosts.general).toBe(0);
      expect(encoded(events[r])).toEqual(general);
    }
  });

  it('escapes text as JSON.stringify does, and keeps UTF-8 split across chunks', () => {
    const results = `<RESULTS><![CDATA[say "hi" \\ back\tslash\n\u0001 é 漢字 😀 <![CDATA[ x]]></RESULTS>`;
    const doc = hld(host(1, results) + host(2, '<SERVICE>Apache &lt;2.4</SERVICE>'));
    for (const chunkSize of [doc.length, 5, 3, 2, 1]) {
      // Host 2's entity is for the general reader.
      expect(expectSameRecords(doc, chunkSize)).toEqual({ encoded: 1, general: 1 });
    }
  });

  it('finds and escapes special bytes wherever they fall in a four-byte group', () => {
    // Each special byte after 0 to 7 plain ones, in plain text and in CDATA.
    const specials = ['"', '\\', '\u0001', '\t', 'é', ']', ']]', '> x'];
    const hosts = specials.flatMap((special, k) =>
      [0, 1, 2, 3, 4, 5, 6, 7].map((n) => {
        const text = `${'abcdefg'.slice(0, n)}${special}z`;
        const cdata = `${'abcdefg'.slice(0, n)}${special.replace(/]/g, '] ')}z`;
        return host(
          k * 10 + n + 1,
          `<SERVICE>${text}</SERVICE><INSTANCE><![CDATA[${cdata}]]></INSTANCE>`,
        );
      }),
    );
    const doc = hld(hosts.join('\n'));
    expect(expectSameRecords(doc)).toEqual({ encoded: hosts.length, general: 0 });
    // '&' starts an entity, for the general reader, at any offset.
    const entities = [0, 1, 2, 3, 4].map((n) =>
      host(n + 1, `<SERVICE>${'abcd'.slice(0, n)}&amp;x</SERVICE>`),
    );
    expect(expectSameRecords(hld(entities.join('\n')))).toEqual({ encoded: 0, general: 5 });
  });

  it('leaves the rest of the page to the general reader after a HOST it cannot delimit', () => {
    const inCdata = '<RESULTS><![CDATA[a </HOST> b]]></RESULTS>';
    const doc = hld(host(1, '') + host(2, inCdata) + host(3, ''));
    expect(expectSameRecords(doc)).toEqual({ encoded: 1, general: 2 });
    expect(expectSameRecords(doc, 11)).toEqual({ encoded: 1, general: 2 });
    const attributes = hld(`      <HOST id="7"><ID>7</ID></HOST>\n${host(8, '')}`);
    expect(expectSameRecords(attributes)).toEqual({ encoded: 0, general: 2 });
  });

  it.each([
    ['an unknown element', '<NEW_FIELD><![CDATA[x]]></NEW_FIELD>'],
    ['a repeated element', '<TYPE>Potential</TYPE>'],
    ['a number that is not one', '<TIMES_FOUND>12a</TIMES_FOUND>'],
    ['a flag that is not one', '<IS_IGNORED>2</IS_IGNORED>'],
    ['a self-closing element', '<FQDN/>'],
    ['a comment', '<!-- note -->'],
    ['text beside CDATA', '<INSTANCE> <![CDATA[oracle10]]></INSTANCE>'],
    [
      'an entity in an attribute',
      '<QDS_FACTORS><QDS_FACTOR name="a&amp;b">1</QDS_FACTOR></QDS_FACTORS>',
    ],
    ['attributes on a leaf', '<SERVICE lang="en">http</SERVICE>'],
    ['a known name with more after it', '<LAST_FOUND_DATETIMES>x</LAST_FOUND_DATETIMES>'],
    ['a known name cut short', '<LAST_FOUND_DATETIM>x</LAST_FOUND_DATETIM>'],
    ['a space in a close tag', '<SERVICE>http</SERVICE >'],
  ])('gives a host with %s to the general reader, and reads the next one itself', (_, odd) => {
    const doc = hld(host(1, odd) + host(2, ''));
    expect(expectSameRecords(doc)).toEqual({ encoded: 1, general: 1 });
    expect(expectSameRecords(doc, 3)).toEqual({ encoded: 1, general: 1 });
  });

  it.each([
    ['its first four bytes', '</XAST_TEST_DATETIME>'],
    ['a later group of four', '</LAST_TEST_XATETIME>'],
    ['its last bytes', '</LAST_TEST_DATETIMX>'],
    ['its length', '</LAST_TEST_DATETIM>'],
  ])('fails as the general reader on a close tag that differs in %s', (_, close) => {
    const doc = hld(
      host(1, '') + host(2, `<LAST_TEST_DATETIME>2025-03-14T09:20:05Z${close}`) + host(3, ''),
    );
    const failure = (reader: ListReader) => {
      try {
        read(reader, doc, 5);
      } catch (err) {
        return err;
      }
      throw new Error('no failure');
    };
    const general = failure(new ResponseReader({ HOST }));
    expect(general).toBeInstanceOf(XmlSyntaxError);
    expect(failure(new DetectionReader(HOST))).toEqual(general);
  });

  it('reads detections whose elements come in any order, some of them optional', () => {
    const fields = [
      '<QID>38170</QID>',
      '<TYPE>Confirmed</TYPE>',
      '<PORT>443</PORT>',
      '<STATUS>Fixed</STATUS>',
      '<LAST_FIXED_DATETIME>2025-03-01T10:00:00Z</LAST_FIXED_DATETIME>',
      '<QDS severity="LOW">12</QDS>',
      '<SSL>0</SSL>',
    ];
    const optional = [2, 4, 5]; // PORT, LAST_FIXED_DATETIME, QDS
    const detection = (id: number, list: string[]) =>
      `<DETECTION><UNIQUE_VULN_ID>${id}</UNIQUE_VULN_ID>${list.join('')}</DETECTION>`;
    // Every subset of the optional fields, twice: a field is followed by two or three others
    // in turn.
    const subsets = [0, 1, 2, 3, 4, 5, 6, 7, 0, 5, 2, 7, 1, 6, 3, 4].map((bits, id) =>
      detection(
        id,
        fields.filter((_, k) => optional.every((o, b) => k !== o || bits & (1 << b))),
      ),
    );
    // Each field dropped in turn and the rest rotated: more followers than are remembered.
    const rotations = fields.map((_, skip) => {
      const kept = fields.filter((_, k) => k !== skip);
      return detection(100 + skip, [...kept.slice(skip), ...kept.slice(0, skip)]);
    });
    // Host 3's first detection lacks a QID: the general reader reads it.
    const lists = [subsets, [...rotations.slice(1), ...subsets, ...rotations.slice(1)], rotations];
    const doc = hld(
      lists
        .map((list, k) => host(k + 1, '').replace(/<DETECTION>[^]*<\/DETECTION>/, list.join('\n')))
        .join('\n'),
    );
    expect(expectSameRecords(doc)).toEqual({ encoded: 2, general: 1 });
    expect(expectSameRecords(doc, 7)).toEqual({ encoded: 2, general: 1 });
  });

  it('writes numbers and flags as the general reader converts them', () => {
    const doc = hld(
      host(
        1,
        `<TIMES_FOUND> 0042 </TIMES_FOUND>
            <TIMES_REOPENED></TIMES_REOPENED>
            <IS_IGNORED>true</IS_IGNORED>
            <IS_DISABLED> 0 </IS_DISABLED>
            <LAST_FIXED_DATETIME></LAST_FIXED_DATETIME>`,
      ),
    );
    expect(expectSameRecords(doc)).toEqual({ encoded: 1, general: 0 });
    const fast = read(new DetectionReader(HOST), doc, doc.length);
    const record = fast.find((e) => e.kind === 'record') as { record: Record<string, unknown> };
    const [detection] = record.record.VULNERABILITIES as EncodedDetection[];
    expect(detection).toBeInstanceOf(EncodedDetection);
    expect(detection.QID).toBe(38170);
    expect(JSON.parse(JSON.stringify(detection))).toMatchObject({
      QID: 38170,
      PORT: 443,
      SSL: true,
      QDS: { severity: 'MEDIUM', value: 45 },
      QDS_FACTORS: [{ name: 'CVSS', value: '5.3' }],
      TIMES_FOUND: 42,
      IS_IGNORED: true,
      IS_DISABLED: false,
      LAST_FIXED_DATETIME: '',
    });
    expect(JSON.parse(JSON.stringify(detection))).not.toHaveProperty('TIMES_REOPENED');
  });

  it('reads hosts without detections and gives invalid UTF-8 to the general reader', () => {
    const [before, after] = hld(host(1, '<SERVICE>#</SERVICE>')).toString('utf8').split('#');
    const invalidUtf8 = Buffer.concat([
      Buffer.from(before),
      Buffer.from([0xff]),
      Buffer.from(after),
    ]);
    expect(expectSameRecords(invalidUtf8)).toEqual({ encoded: 0, general: 1 });
    const noDetections = hld(`      <HOST><ID>5</ID><IP>10.0.0.5</IP></HOST>\n${host(6, '')}`);
    expect(expectSameRecords(noDetections)).toEqual({ encoded: 2, general: 0 });
  });

  it('reports a body cut inside a HOST, and reads error documents, as the general reader', () => {
    const doc = hld(host(1, '') + host(2, ''));
    const cut = doc.subarray(0, doc.indexOf('<HOST>', doc.indexOf('</HOST>')) + 40);
    const general = new ResponseReader({ HOST });
    const fast = new DetectionReader(HOST);
    general.write(cut);
    expect(encoded(fast.write(cut))).toHaveLength(2); // DATETIME and host 1
    expect(() => general.end()).toThrow(XmlSyntaxError);
    expect(() => fast.end()).toThrow(
      /XML document ended early inside <HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><HOST_LIST><HOST>/,
    );

    const simpleReturn = fs.readFileSync(
      path.join(__dirname, '../../test_files/qualys/simple_return_1965.xml'),
    );
    const reader = new DetectionReader(HOST);
    read(reader, simpleReturn, 13);
    expect(reader.otherDocument).toEqual(
      (() => {
        const r = new ResponseReader({ HOST });
        read(r, simpleReturn, simpleReturn.length);
        return r.otherDocument;
      })(),
    );
    expect(reader.otherDocument?.root).toBe('SIMPLE_RETURN');
  });
});

/** The records the fast path reads from `doc`. */
function recordsOf(doc: Buffer, chunkSize: number): Record<string, unknown>[] {
  return read(new DetectionReader(HOST), doc, chunkSize).flatMap((e) =>
    e.kind === 'record' ? [e.record] : [],
  );
}

function detectionsOf(record: Record<string, unknown>): Record<string, unknown>[] {
  return record.VULNERABILITIES as Record<string, unknown>[];
}

describe('DetectionReader and the general reader respect the same bounds', () => {
  it('normalise CR LF and a lone CR to LF (XML 1.0 §2.11), CR hosts by the general reader', () => {
    const crlf = '<RESULTS><![CDATA[a\r\nb\rc\r\n]]></RESULTS><SERVICE>x\r\ny</SERVICE>';
    const doc = hld(host(1, crlf) + host(2, ''));
    for (const chunkSize of [doc.length, 7, 1]) {
      expect(expectSameRecords(doc, chunkSize)).toEqual({ encoded: 1, general: 1 });
    }
    const detection = detectionsOf(recordsOf(doc, 1)[0])[0];
    expect([detection.RESULTS, detection.SERVICE]).toEqual(['a\nb\nc\n', 'x\ny']);
  });

  it('cut a field longer than MAX_FIELD_CHARS to a prefix and an exact marker', () => {
    const long = 'r'.repeat(MAX_FIELD_CHARS + 5000);
    const doc = hld(host(1, `<RESULTS><![CDATA[${long}]]></RESULTS>`) + host(2, ''));
    for (const chunkSize of [doc.length, 65536]) {
      expect(expectSameRecords(doc, chunkSize)).toEqual({ encoded: 1, general: 1 });
    }
    const results = detectionsOf(recordsOf(doc, 65536)[0])[0].RESULTS as string;
    expect(results).toHaveLength(MAX_FIELD_CHARS);
    const [, kept, dropped] = /^(r*)\n\[… (\d+) more characters truncated\]$/.exec(results) ?? [];
    expect(kept.length + Number(dropped)).toBe(long.length);
  });

  it('hand a HOST larger than MAX_HOST_BYTES, and the rest of the page, to the general reader', () => {
    const detection = `<DETECTION><QID>1</QID><SERVICE>${'s'.repeat(200)}</SERVICE></DETECTION>`;
    const huge = `<DETECTION_LIST>${detection.repeat(70_000)}</DETECTION_LIST>`;
    const many = hld(host(1, '') + `<HOST><ID>2</ID>${huge}</HOST>` + host(3, ''));
    expect(many.length).toBeGreaterThan(MAX_HOST_BYTES);
    expect(expectSameRecords(many, 65536)).toEqual({ encoded: 1, general: 2 });
  });

  it.each([
    ['deep nesting', `${'<X>'.repeat(40)}${'</X>'.repeat(40)}`, /elements nested deeper than 32/],
    ['an endless tag', `<SERVICE a="${'a'.repeat(70_000)}">x</SERVICE>`, /longer than 65536/],
    ['an element flood', '<Y>1</Y>'.repeat(800_000), /a <HOST> larger than 48 Mi/],
  ])('refuse %s with the same error', (_what, detection, message) => {
    const doc = hld(host(1, '') + host(2, detection) + host(3, ''));
    for (const reader of [new ResponseReader({ HOST }), new DetectionReader(HOST)]) {
      expect(() => read(reader, doc, 65536)).toThrow(message);
    }
  });

  it('keep __proto__, constructor and toString elements as fields, reaching no prototype', () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const hostile = names.map((n) => `<${n}><polluted>1</polluted></${n}><${n}>x</${n}>`).join('');
    const doc = hld(host(1, hostile, hostile) + host(2, `<QDS __proto__="p">1</QDS>`));
    const objectPrototype = Object.getOwnPropertyNames(Object.prototype);
    expect(expectSameRecords(doc, 3)).toEqual({ encoded: 0, general: 2 });
    const [first, second] = recordsOf(doc, 3);
    for (const record of [first, detectionsOf(first)[0]]) {
      expect(Object.getPrototypeOf(record)).toBe(RECORD_PROTOTYPE);
      expect(Object.getPrototypeOf(RECORD_PROTOTYPE)).toBe(null);
      expect(Object.isFrozen(RECORD_PROTOTYPE)).toBe(true);
      for (const name of names) {
        expect(Object.getOwnPropertyDescriptor(record, name)?.value).toEqual([
          { polluted: '1' },
          'x',
        ]);
      }
    }
    expect(JSON.stringify(detectionsOf(second)[0].QDS)).toBe('{"__proto__":"p","value":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(objectPrototype);
  });
});

/** Each detection of `events` as JSON: keyed by the encoder, or parsed and keyed by detectionKey. */
function keyedDetections(events: ResponseEvent[]): string[] {
  return events.flatMap((event) => {
    if (event.kind !== 'record') return [];
    const detections = (event.record.VULNERABILITIES ?? []) as (Detection | EncodedDetection)[];
    return detections.map((d) => {
      if (!(d instanceof EncodedDetection)) {
        return JSON.stringify({ ...d, DETECTION_KEY: detectionKey(d) });
      }
      const parts: Buffer[] = [];
      d.writeJson({
        text: (text) => parts.push(Buffer.from(text, 'utf8')),
        bytes: (bytes, from = 0, to = bytes.length) => parts.push(bytes.subarray(from, to)),
      });
      return Buffer.concat(parts).toString('utf8');
    });
  });
}

/** The keyed encoder's detections equal the general reader's with detectionKey, byte for byte. */
function expectSameKeyedDetections(doc: Buffer, chunkSize = doc.length): string[] {
  const general = keyedDetections(read(new ResponseReader({ HOST }), doc, chunkSize));
  const fast = new DetectionReader(HOST, undefined, new HostEncoder(HOST, true));
  expect(keyedDetections(read(fast, doc, chunkSize))).toEqual(general);
  expect(fast.hosts.encoded).toBeGreaterThan(0);
  return general;
}

const keysOf = (json: string[]) =>
  json.map((d) => (JSON.parse(d) as { DETECTION_KEY: string }).DETECTION_KEY);

describe('HostEncoder keyed (the detections stream): each detection ends with its DETECTION_KEY', () => {
  it('writes the fields detections.json describes: host_detections’ detection fields but the join', () => {
    const joined = ['QID_INFO', 'MITRE_TACTIC_ID', 'MITRE_TACTIC_NAME', 'MITRE_TECHNIQUE_ID'];
    const nested = Object.entries(detectionsSchema.properties.VULNERABILITIES.items.properties);
    const flat = flatSchema.properties as Record<string, unknown>;
    const own = nested.filter(
      ([name]) => !joined.includes(name) && name !== 'MITRE_TECHNIQUE_NAME',
    );
    expect(own.length).toBeGreaterThan(25);
    for (const [name, property] of own) expect([name, flat[name]]).toEqual([name, property]);
    for (const name of ['subscription', 'HOST_ID', 'DETECTION_KEY', 'LAST_SCAN_DATETIME']) {
      expect(flat).toHaveProperty(name);
    }
    expect(
      Object.keys(flat).filter((name) => name.startsWith('MITRE') || name === 'QID_INFO'),
    ).toEqual([]);
  });

  it('UNIQUE_VULN_ID where Qualys sends it, on a simulator page', async () => {
    const doc = await simulatorPage();
    const detections = expectSameKeyedDetections(doc, 65536);
    const parsed = detections.map((d) => JSON.parse(d) as Detection & { DETECTION_KEY: string });
    expect(parsed.length).toBeGreaterThan(5000);
    for (const d of parsed) expect(d.DETECTION_KEY).toBe(String(d.UNIQUE_VULN_ID));
  });

  it('QID|PORT|PROTOCOL|SSL|FQDN|INSTANCE without it, unique per host on the same page', async () => {
    const doc = Buffer.from(
      (await simulatorPage())
        .toString('utf8')
        .replace(/<UNIQUE_VULN_ID>\d+<\/UNIQUE_VULN_ID>/g, ''),
      'utf8',
    );
    const general = read(new ResponseReader({ HOST }), doc, doc.length);
    const keys = expectSameKeyedDetections(doc, 65536);
    const hosts = general.flatMap((e) => (e.kind === 'record' ? [e.record] : []));
    let at = 0;
    for (const host of hosts) {
      const own = keysOf(keys.slice(at, (at += (host.VULNERABILITIES as unknown[]).length)));
      expect(new Set(own).size).toBe(own.length);
    }
    expect(keysOf(keys).every((k) => /^\d+\|\d*\|(tcp|udp)?\|(true|false)\|[^|]*\|/.test(k))).toBe(
      true,
    );
  });

  it('on a real /api/2.0 capture (no UNIQUE_VULN_ID), in any chunking', () => {
    const doc = fs.readFileSync(
      path.join(__dirname, '../../test_files/real-captures/hld-j1-qg3-2020-04.xml'),
    );
    for (const chunkSize of [doc.length, 4096, 7]) {
      const keys = keysOf(expectSameKeyedDetections(doc, chunkSize));
      expect(keys).toHaveLength(29);
      expect(keys.slice(0, 3)).toEqual([
        '11|||false||',
        '38739|22|tcp|false||',
        '11827|443|tcp|false||',
      ]);
      expect(keys).toContain('38170|443|tcp|true||');
    }
  });

  it('with strings as their escaped content, and parts absent in turn', () => {
    const parts = [
      '<PORT>8443</PORT>',
      '<PROTOCOL>tcp</PROTOCOL>',
      '<SSL>1</SSL>',
      '<FQDN><![CDATA[a"b\\c.example.com]]></FQDN>',
      '<INSTANCE><![CDATA[oracle|10:1:1521]]></INSTANCE>',
    ];
    const detections = parts.map((_, skip) => {
      const kept = parts.filter((_, k) => k !== skip).join('');
      return `<DETECTION><QID>${skip + 1}</QID><TYPE>Confirmed</TYPE>${kept}</DETECTION>`;
    });
    const doc = hld(
      host(1, '').replace(/<DETECTION>[^]*<\/DETECTION>/, detections.join('\n')) +
        host(2, '<SERVICE>a &amp; b</SERVICE>'),
    );
    const keys = keysOf(expectSameKeyedDetections(doc));
    expect(keys).toEqual([
      '1||tcp|true|a"b\\c.example.com|oracle|10:1:1521',
      '2|8443||true|a"b\\c.example.com|oracle|10:1:1521',
      '3|8443|tcp||a"b\\c.example.com|oracle|10:1:1521',
      '4|8443|tcp|true||oracle|10:1:1521',
      '5|8443|tcp|true|a"b\\c.example.com|',
      '2001', // host 2, read by the general path
    ]);
  });

  it('leaves out the fields it is told to drop (column selection), never a key part', async () => {
    const dropped = ['TYPE', 'QDS', 'QDS_FACTORS', 'LAST_PROCESSED_DATETIME', 'PORT', 'QID'];
    const kept = new Set(['PORT', 'QID']);
    const withoutDropped = (json: string) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(JSON.parse(json) as object).filter(
            ([name]) => kept.has(name) || !dropped.includes(name),
          ),
        ),
      );
    const page = await simulatorPage();
    // A dropped element first in its DETECTION, and one with CDATA holding markup.
    const doc = hld(
      host(1, '')
        .replace('<DETECTION>', '<DETECTION><TYPE><![CDATA[<b>Confirmed</b>]]></TYPE>')
        .replace('<TYPE>Confirmed</TYPE>', ''),
    );
    for (const source of [page, doc]) {
      const general = keyedDetections(read(new ResponseReader({ HOST }), source, 65536));
      const encoder = new HostEncoder(HOST, true, new Set(dropped));
      const fast = new DetectionReader(HOST, undefined, encoder);
      expect(keyedDetections(read(fast, source, 65536))).toEqual(general.map(withoutDropped));
      expect(fast.hosts.encoded).toBeGreaterThan(0);
    }
  });
});
