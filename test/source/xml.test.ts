import fs from 'node:fs';
import path from 'node:path';

import { MAX_RECORD_WEIGHT } from '../../src/qualys/xml/record-builder';
import {
  HtmlDocumentError,
  ResponseEvent,
  ResponseReader,
} from '../../src/qualys/xml/response-reader';
import { compileRecordShape, ObjectShape } from '../../src/qualys/xml/shape';
import { capText } from '../../src/qualys/xml/text-cap';
import {
  MAX_DEPTH,
  MAX_MARKUP_CHARS,
  XmlHandler,
  XmlLimitError,
  XmlSyntaxError,
  XmlTokenizer,
} from '../../src/qualys/xml/tokenizer';
import hostsSchema from '../../resources/schemas/hosts.json';
import detectionsSchema from '../../resources/schemas/host_detections.json';
import kbSchema from '../../resources/schemas/knowledge_base.json';

const HOSTS = compileRecordShape(hostsSchema);
const DETECTIONS = compileRecordShape(detectionsSchema);
const KB = compileRecordShape(kbSchema);

function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(__dirname, '../../test_files/qualys', name));
}

/** Reads a document in chunks of `chunkSize` bytes and returns every event. */
function readAll(
  doc: Buffer,
  items: Record<string, ObjectShape>,
  chunkSize = doc.length,
): { events: ResponseEvent[]; reader: ResponseReader } {
  const reader = new ResponseReader(items);
  const events: ResponseEvent[] = [];
  for (let i = 0; i < doc.length; i += chunkSize) {
    events.push(...reader.write(doc.subarray(i, i + chunkSize)));
  }
  reader.end();
  return { events, reader };
}

function records(events: ResponseEvent[]): Record<string, unknown>[] {
  return events.flatMap((e) => (e.kind === 'record' ? [e.record] : []));
}

class Recorder implements XmlHandler {
  readonly log: string[] = [];
  open(name: string, attributes: string | undefined) {
    this.log.push(`<${name}${attributes ?? ''}>`);
  }
  wantsText() {
    return true;
  }
  text(text: string) {
    const last = this.log[this.log.length - 1];
    if (last?.startsWith('"')) this.log[this.log.length - 1] = `"${last.slice(1, -1)}${text}"`;
    else this.log.push(`"${text}"`);
  }
  close(name: string) {
    this.log.push(`</${name}>`);
  }
}

describe('XmlTokenizer', () => {
  const doc = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE R SYSTEM "x.dtd">\n' +
      '<R><!-- note --><A k="1 &amp; 2">caf\u00e9 &lt;b&gt; &#x263A;&#65;</A>' +
      '<B><![CDATA[<not a tag> & ]]]></B><C/><D></D></R>',
    'utf8',
  );
  const expected = [
    '<R>',
    '<A k="1 &amp; 2">',
    '"café <b> ☺A"',
    '</A>',
    '<B>',
    '"<not a tag> & ]"',
    '</B>',
    '<C>',
    '</C>',
    '<D>',
    '</D>',
    '</R>',
  ];

  it('emits decoded text, CDATA verbatim, and skips comments, DOCTYPE and declarations', () => {
    const recorder = new Recorder();
    const tokenizer = new XmlTokenizer(recorder);
    tokenizer.write(doc);
    tokenizer.end();
    expect(recorder.log).toEqual(expected);
    expect(tokenizer.complete).toBe(true);
  });

  it('gives the same events whatever the chunk boundaries (UTF-8, entities, CDATA)', () => {
    for (let split = 1; split < doc.length; split++) {
      const recorder = new Recorder();
      const tokenizer = new XmlTokenizer(recorder);
      tokenizer.write(doc.subarray(0, split));
      tokenizer.write(doc.subarray(split));
      tokenizer.end();
      expect(recorder.log).toEqual(expected);
    }
  });

  it('reports a document cut short, naming where', () => {
    const tokenizer = new XmlTokenizer(new Recorder());
    tokenizer.write(Buffer.from('<R><A>text</A><B>'));
    expect(() => tokenizer.end()).toThrow(
      new XmlSyntaxError('XML document ended early inside <R><B>'),
    );
  });

  it('rejects mismatched tags and unknown entities', () => {
    expect(() => new XmlTokenizer(new Recorder()).write(Buffer.from('<R><A></B></R>'))).toThrow(
      'mismatched tag: expected </A>, got </B>',
    );
    expect(() => new XmlTokenizer(new Recorder()).write(Buffer.from('<R>&nbsp;</R>'))).toThrow(
      'unknown entity &nbsp;',
    );
  });

  it('rejects an empty body', () => {
    const tokenizer = new XmlTokenizer(new Recorder());
    tokenizer.write(Buffer.alloc(0));
    expect(() => tokenizer.end()).toThrow('XML document is empty');
  });
});

describe('ResponseReader on Qualys documents', () => {
  it('reads the Host List sample into exact host records', () => {
    const { events } = readAll(fixture('host_list_v4_sample.xml'), { HOST: HOSTS });
    expect(events[0]).toEqual({ kind: 'datetime', value: '2025-03-14T09:12:44Z' });
    const hosts = records(events);
    expect(hosts.map((h) => h.ID)).toEqual([148312001, 148312057]);
    expect(hosts[1]).toEqual({
      ID: 148312057,
      ASSET_ID: 30211904,
      IP: '172.31.14.22',
      TRURISK_SCORE: 874,
      ASSET_CRITICALITY_SCORE: 5,
      TRACKING_METHOD: 'AGENT',
      DNS: 'ip-172-31-14-22.eu-west-1.compute.internal',
      DNS_DATA: {
        HOSTNAME: 'ip-172-31-14-22',
        DOMAIN: 'eu-west-1.compute.internal',
        FQDN: 'ip-172-31-14-22.eu-west-1.compute.internal',
      },
      CLOUD_PROVIDER: 'AWS',
      CLOUD_SERVICE: 'EC2',
      CLOUD_RESOURCE_ID: 'i-0a1b2c3d4e5f60718',
      EC2_INSTANCE_ID: 'i-0a1b2c3d4e5f60718',
      OS: 'Amazon Linux 2',
      QG_HOSTID: '6f1c0b2e-3d4a-4e5f-9a8b-7c6d5e4f3a2b',
      TAGS: [{ TAG_ID: 91822311, NAME: 'Production' }],
      METADATA: {
        EC2: [
          {
            NAME: 'latest/dynamic/instance-identity/document/region',
            LAST_STATUS: 'Success',
            VALUE: 'eu-west-1',
            LAST_SUCCESS_DATE: '2025-03-14T03:02:11Z',
          },
          {
            NAME: 'latest/dynamic/instance-identity/document/accountId',
            LAST_STATUS: 'Success',
            VALUE: '123456789012',
            LAST_SUCCESS_DATE: '2025-03-14T03:02:11Z',
          },
        ],
      },
      CLOUD_PROVIDER_TAGS: [
        { NAME: 'Environment', VALUE: 'prod', LAST_SUCCESS_DATE: '2025-03-14T03:02:11Z' },
      ],
      LAST_VULN_SCAN_DATETIME: '2025-03-14T06:55:30Z',
      LAST_VM_SCANNED_DATE: '2025-03-14T06:50:02Z',
      LAST_VM_SCANNED_DURATION: 310,
      LAST_VM_AUTH_SCANNED_DATE: '2025-03-14T06:50:02Z',
      LAST_VM_AUTH_SCANNED_DURATION: 310,
    });
    expect(events[events.length - 1]).toEqual({
      kind: 'warning',
      code: 1980,
      text: '2 record limit exceeded. Use URL to get next batch of results.',
      url:
        'https://qualysapi.qg2.apps.qualys.com/api/4.0/fo/asset/host/?action=list&details=All' +
        '&show_asset_id=1&show_tags=1&show_trurisk=1&host_metadata=all&show_cloud_tags=1' +
        '&truncation_limit=2&id_min=148312058',
    });
  });

  it('reads the Host List Detection sample: detections as VULNERABILITIES, typed', () => {
    const { events } = readAll(fixture('hld_v4_sample.xml'), { HOST: DETECTIONS });
    const [first, second] = records(events);
    expect((first.VULNERABILITIES as unknown[]).length).toBe(3);
    expect(second).toEqual({
      ID: 148312057,
      ASSET_ID: 30211904,
      IP: '172.31.14.22',
      TRACKING_METHOD: 'AGENT',
      OS: 'Amazon Linux 2',
      DNS: 'ip-172-31-14-22.eu-west-1.compute.internal',
      DNS_DATA: {
        HOSTNAME: 'ip-172-31-14-22',
        DOMAIN: 'eu-west-1.compute.internal',
        FQDN: 'ip-172-31-14-22.eu-west-1.compute.internal',
      },
      CLOUD_PROVIDER: 'AWS',
      CLOUD_SERVICE: 'EC2',
      CLOUD_RESOURCE_ID: 'i-0a1b2c3d4e5f60718',
      EC2_INSTANCE_ID: 'i-0a1b2c3d4e5f60718',
      QG_HOSTID: '6f1c0b2e-3d4a-4e5f-9a8b-7c6d5e4f3a2b',
      LAST_SCAN_DATETIME: '2025-03-14T06:55:30Z',
      LAST_VM_SCANNED_DATE: '2025-03-14T06:50:02Z',
      LAST_VM_SCANNED_DURATION: 310,
      LAST_VM_AUTH_SCANNED_DATE: '2025-03-14T06:50:02Z',
      LAST_VM_AUTH_SCANNED_DURATION: 310,
      VULNERABILITIES: [
        {
          UNIQUE_VULN_ID: 8123400017,
          QID: 352001,
          TYPE: 'Confirmed',
          SEVERITY: 4,
          SSL: false,
          RESULTS:
            'Package\tInstalled Version\tRequired Version\n' +
            'openssl-libs\t1:1.0.2k-24.amzn2.0.7\t1:1.0.2k-24.amzn2.0.9',
          STATUS: 'Re-Opened',
          FIRST_FOUND_DATETIME: '2024-11-02T04:12:45Z',
          LAST_FOUND_DATETIME: '2025-03-14T06:50:02Z',
          QDS: { severity: 'HIGH', value: 72 },
          TIMES_FOUND: 37,
          LAST_TEST_DATETIME: '2025-03-14T06:50:02Z',
          LAST_UPDATE_DATETIME: '2025-03-14T06:55:30Z',
          LAST_FIXED_DATETIME: '2025-02-20T05:01:17Z',
          FIRST_REOPENED_DATETIME: '2025-03-14T06:50:02Z',
          LAST_REOPENED_DATETIME: '2025-03-14T06:50:02Z',
          TIMES_REOPENED: 1,
          IS_IGNORED: false,
          IS_DISABLED: false,
          LAST_PROCESSED_DATETIME: '2025-03-14T06:55:30Z',
        },
        {
          UNIQUE_VULN_ID: 8123400021,
          QID: 352117,
          TYPE: 'Confirmed',
          SEVERITY: 3,
          SSL: false,
          STATUS: 'Fixed',
          FIRST_FOUND_DATETIME: '2024-12-09T04:15:03Z',
          LAST_FOUND_DATETIME: '2025-03-07T06:47:55Z',
          QDS: { severity: 'LOW', value: 27 },
          TIMES_FOUND: 12,
          LAST_TEST_DATETIME: '2025-03-14T06:50:02Z',
          LAST_UPDATE_DATETIME: '2025-03-14T06:55:30Z',
          LAST_FIXED_DATETIME: '2025-03-14T06:50:02Z',
          IS_IGNORED: false,
          IS_DISABLED: false,
          LAST_PROCESSED_DATETIME: '2025-03-14T06:55:30Z',
        },
      ],
    });
    const qdsFactors = (first.VULNERABILITIES as Record<string, unknown>[])[0].QDS_FACTORS;
    expect(qdsFactors).toEqual([
      { name: 'RTI', value: 'active_attacks,remote_code_execution' },
      { name: 'exploit_maturity', value: 'weaponized' },
      { name: 'CISA_vuln', value: 'YES' },
      { name: 'CVSS', value: '8.8' },
      { name: 'CVSS_version', value: 'v3.x' },
      { name: 'epss', value: '0.94123' },
      { name: 'CVSS_vector', value: 'AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H' },
    ]);
  });

  it('reads the same records whatever the chunk size', () => {
    const doc = fixture('hld_v4_sample.xml');
    const whole = records(readAll(doc, { HOST: DETECTIONS }).events);
    for (const size of [1, 7, 64, 1000]) {
      expect(records(readAll(doc, { HOST: DETECTIONS }, size).events)).toEqual(whole);
    }
  });

  it('decodes an &amp;-escaped WARNING URL like a CDATA one, skips comments, keeps unknown elements', () => {
    const cdata = readAll(fixture('hld_v4_sample.xml'), { HOST: DETECTIONS }).events;
    const escaped = readAll(fixture('hld_v4_escaped_url.xml'), { HOST: DETECTIONS }).events;
    expect(escaped[escaped.length - 1]).toEqual(cdata[cdata.length - 1]);
    expect(records(escaped)[0].NEW_FIELD).toBe('x & y');
  });

  it('reads the KB sample into the knowledge_base record shape', () => {
    const [vuln] = records(readAll(fixture('kb_v4_sample.xml'), { VULN: KB }).events);
    expect(vuln).toMatchObject({
      QID: 91234,
      VULN_TYPE: 'Vulnerability',
      SEVERITY_LEVEL: 5,
      PATCHABLE: true,
      CVE_LIST: [
        {
          ID: 'CVE-2025-00001',
          URL: 'http://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2025-00001',
        },
        {
          ID: 'CVE-2025-00002',
          URL: 'http://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2025-00002',
        },
      ],
      CORRELATION: {
        EXPLOITS: [
          {
            SRC_NAME: 'The Exploit-DB',
            EXPLT_LIST: [
              {
                REF: 'CVE-2025-00001',
                DESC: 'Example privilege escalation PoC - The Exploit-DB Ref : 99999',
                LINK: 'http://www.exploit-db.com/exploits/99999',
              },
            ],
          },
          {
            SRC_NAME: 'Metasploit',
            EXPLT_LIST: [
              {
                REF: 'CVE-2025-00001',
                DESC: 'Example module - Metasploit Ref : /modules/exploit/windows/local/example',
              },
            ],
          },
        ],
      },
      CVSS: {
        BASE: 9.3,
        TEMPORAL: 7.7,
        ACCESS: { VECTOR: 3, COMPLEXITY: 2 },
        IMPACT: { CONFIDENTIALITY: 3, INTEGRITY: 3, AVAILABILITY: 3 },
      },
      CVSS_V3: { BASE: 8.8, TEMPORAL: 8.2, CVSS3_VERSION: '3.1' },
      THREAT_INTELLIGENCE: [
        { id: '2', value: 'Exploit_Public' },
        { id: '15', value: 'Remote_Code_Execution' },
        { id: '18', value: 'Cisa_Known_Exploited_Vulns' },
      ],
      DISCOVERY: {
        REMOTE: false,
        AUTH_TYPE_LIST: ['Windows'],
        ADDITIONAL_INFO: 'Patch Available, Exploit Available',
      },
    });
  });

  it('reads an ID_SET as single IDs and ranges', () => {
    const { events } = readAll(fixture('host_list_id_set.xml'), {});
    expect(events).toEqual([
      { kind: 'datetime', value: '2025-03-14T09:12:44Z' },
      { kind: 'id', from: 148312001, to: 148312001 },
      { kind: 'id', from: 148312057, to: 148312060 },
      { kind: 'id', from: 148312100, to: 148312100 },
    ]);
  });

  it('collects a SIMPLE_RETURN, even without an XML declaration', () => {
    const { events, reader } = readAll(fixture('simple_return_1965.xml'), { HOST: DETECTIONS });
    expect(events).toEqual([]);
    expect(reader.otherDocument).toEqual({
      root: 'SIMPLE_RETURN',
      content: {
        RESPONSE: {
          DATETIME: '2022-02-01T10:00:00Z',
          CODE: '1965',
          TEXT: 'This API cannot be run again for another 23 hours, 57 minutes and 54 seconds.',
          ITEM_LIST: { ITEM: { KEY: 'SECONDS_TO_WAIT', VALUE: '68928' } },
        },
      },
    });
    expect(readAll(fixture('simple_return_1905.xml'), {}).reader.otherDocument?.root).toBe(
      'SIMPLE_RETURN',
    );
  });

  it('omits values that do not fit their type and reports them', () => {
    const invalid: string[] = [];
    const reader = new ResponseReader({ HOST: DETECTIONS }, (element, value, type) =>
      invalid.push(`${element}=${value}:${type}`),
    );
    const events = reader.write(
      Buffer.from(
        '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><HOST_LIST><HOST><ID>12</ID><DETECTION_LIST>' +
          '<DETECTION><QID>5</QID><PORT>n/a</PORT><SSL>maybe</SSL><FQDN></FQDN></DETECTION>' +
          '</DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>',
      ),
    );
    reader.end();
    expect(records(events)).toEqual([{ ID: 12, VULNERABILITIES: [{ QID: 5, FQDN: '' }] }]);
    expect(invalid).toEqual(['PORT=n/a:integer', 'SSL=maybe:boolean']);
  });
});

describe('XmlTokenizer and ResponseReader within bounds', () => {
  /** Counts text calls, and how many came before the element's close tag arrived. */
  class TextCounter implements XmlHandler {
    chars = 0;
    calls = 0;
    open() {}
    wantsText() {
      return true;
    }
    text(text: string) {
      this.chars += text.length;
      this.calls++;
    }
    close() {}
  }

  it('normalises CR LF and a lone CR to LF, wherever the chunks split them', () => {
    const doc = Buffer.from('<R a="1">x\r\ny\rz\r\r\n<![CDATA[c\r\nd\r]]>\r\n</R>');
    for (let split = 1; split < doc.length; split++) {
      const recorder = new Recorder();
      const tokenizer = new XmlTokenizer(recorder);
      tokenizer.write(doc.subarray(0, split));
      tokenizer.write(doc.subarray(split));
      tokenizer.end();
      expect(recorder.log).toEqual(['<R a="1">', '"x\ny\nz\n\nc\nd\n\n"', '</R>']);
    }
  });

  it('passes on long text and CDATA as they stream in, and skips long comments', () => {
    for (const [open, close] of [
      ['<![CDATA[', ']]>'],
      ['', ''],
      ['<!--', '-->'],
    ]) {
      const counter = new TextCounter();
      const tokenizer = new XmlTokenizer(counter);
      tokenizer.write(Buffer.from(`<R>${open}`));
      const chunk = Buffer.from('t'.repeat(65536));
      for (let i = 0; i < 160; i++) tokenizer.write(chunk);
      const beforeEnd = counter.chars;
      tokenizer.write(Buffer.from(`${close}</R>`));
      tokenizer.end();
      if (open === '<!--') expect(counter.chars).toBe(0);
      else {
        expect(counter.chars).toBe(160 * 65536);
        expect(beforeEnd).toBeGreaterThan(159 * 65536);
      }
    }
  });

  it('refuses elements nested deeper than MAX_DEPTH, and endless tags', () => {
    const deep = '<A>'.repeat(MAX_DEPTH);
    expect(() => new XmlTokenizer(new Recorder()).write(Buffer.from(deep))).not.toThrow();
    expect(() => new XmlTokenizer(new Recorder()).write(Buffer.from(deep + '<B>'))).toThrow(
      new XmlLimitError(`elements nested deeper than ${MAX_DEPTH} levels (<B>)`),
    );
    const tokenizer = new XmlTokenizer(new Recorder());
    tokenizer.write(Buffer.from('<R><A x="'));
    expect(() => tokenizer.write(Buffer.alloc(MAX_MARKUP_CHARS, 'x'))).toThrow(XmlLimitError);
  });

  it('keeps a character reference that is no XML character as written', () => {
    const recorder = new Recorder();
    const tokenizer = new XmlTokenizer(recorder);
    tokenizer.write(Buffer.from('<R>&#0;&#xD800;&#x110000;&#x41;</R>'));
    expect(recorder.log[1]).toBe('"&#0;&#xD800;&#x110000;A"');
  });

  it('cuts text to a prefix and a marker that counts exactly what was dropped', () => {
    for (const length of [65, 100, 1000, 123456]) {
      const text = 'x'.repeat(length);
      const capped = capText(text, length, 64);
      expect(capped.length).toBeLessThanOrEqual(64);
      const [, kept, dropped] = /^(x*)\n\[… (\d+) more characters truncated\]$/.exec(capped) ?? [];
      expect(kept.length + Number(dropped)).toBe(length);
    }
    expect(capText('abc', 3, 64)).toBe('abc');
    // A surrogate pair is never cut in half.
    const emoji = '😀'.repeat(100);
    expect(capText(emoji, emoji.length, 64)).toMatch(/^(😀)+\n\[… \d+ more/);
  });

  it('caps RESULTS at their own length as they stream in', () => {
    const results = 'r'.repeat(10_000);
    const doc = Buffer.from(
      '<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><HOST_LIST><HOST><ID>1</ID><DETECTION_LIST>' +
        `<DETECTION><QID>5</QID><RESULTS>${results}</RESULTS></DETECTION>` +
        '</DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>',
    );
    const reader = new ResponseReader({ HOST: DETECTIONS }, undefined, new Map([['RESULTS', 100]]));
    const [event] = reader.write(doc);
    const host = (event as unknown as { record: { VULNERABILITIES: { RESULTS: string }[] } })
      .record;
    const capped = host.VULNERABILITIES[0].RESULTS;
    expect(capped).toBe(`${'r'.repeat(65)}\n[… 9935 more characters truncated]`);
    expect(capped).toHaveLength(100);
  });

  it('rejects a record holding more than MAX_RECORD_WEIGHT', () => {
    const reader = new ResponseReader({ HOST: DETECTIONS });
    reader.write(Buffer.from('<HOST_LIST_OUTPUT><RESPONSE><HOST_LIST><HOST><ID>1</ID>'));
    const elements = Buffer.from('<X>1</X>'.repeat(64 * 1024));
    expect(() => {
      for (let i = 0; i < MAX_RECORD_WEIGHT / 64 / (64 * 1024); i++) reader.write(elements);
    }).toThrow(new XmlLimitError('a <HOST> larger than 48 Mi (64 per element plus its text)'));
  });

  it('recognises an HTML page, and reads ID_SET entries strictly', () => {
    for (const page of ['<!DOCTYPE html>\n<html lang="en"><head>', '<HTML><BODY>', '<body>']) {
      expect(() => new ResponseReader({}).write(Buffer.from(page))).toThrow(HtmlDocumentError);
    }
    const { events } = readAll(
      Buffer.from(
        '<HOST_LIST_OUTPUT><RESPONSE><ID_SET><ID_RANGE>1-9007199254740000</ID_RANGE>' +
          '<ID>0x10</ID><ID>1e3</ID><ID_RANGE>5-6-7</ID_RANGE><ID>42</ID></ID_SET></RESPONSE>' +
          '</HOST_LIST_OUTPUT>',
      ),
      {},
    );
    expect(events).toEqual([
      { kind: 'id', from: 1, to: 9007199254740000 },
      { kind: 'id', from: NaN, to: NaN },
      { kind: 'id', from: NaN, to: NaN },
      { kind: 'id', from: 5, to: NaN },
      { kind: 'id', from: 42, to: 42 },
    ]);
  });
});
