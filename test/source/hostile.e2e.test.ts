/**
 * bin/main read against a hostile Qualys server (bench/hostile.js, on 127.0.0.1): each case
 * replaces one answer with what an attacker or a broken proxy could send, and the read must end
 * in bounded work with exactly the records it could read and an error or warning that says why.
 * Peak RSS and wall time of the same cases are asserted by the bench (node bench/hostile.js).
 */
import { HostDetectionRecord } from '../../src/records';
import { MAX_FIELD_CHARS } from '../../src/qualys/xml/text-cap';
import {
  HUGE_FIELD_CHARS,
  HostileServer,
  PASSWORD,
  hostileConfig,
  ids,
  startHostileServer,
} from '../../bench/hostile';
import { catalog, decodeState, lastState, Message, recordsOf, Run, runMain } from './harness';

async function readCase(
  name: string | undefined,
): Promise<{ run: Run; requests: HostileServer['requests'] }> {
  const server = await startHostileServer(name);
  try {
    const run = await runMain('read', {
      config: hostileConfig(server),
      catalog: catalog(['host_detections']),
    });
    // Every stdout line parsed (runMain throws otherwise): none was cut short.
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    return { run, requests: { ...server.requests } };
  } finally {
    await server.close();
  }
}

function hostIds(run: Run): number[] {
  return recordsOf<HostDetectionRecord>(run, 'host_detections')
    .map((h) => h.ID)
    .sort((a, b) => a - b);
}

function errorTrace(run: Run): string {
  const traces = run.messages.filter(
    (m: Message) => m.type === 'TRACE' && m.trace.type === 'ERROR',
  );
  expect(traces).toHaveLength(1);
  return traces[0].trace.error.message as string;
}

function warnings(run: Run): string[] {
  return run.messages
    .filter((m) => m.type === 'LOG' && m.log.level === 'WARN')
    .map((m) => m.log.message as string);
}

const range = (from: number, to: number) => ids.filter((id) => id >= from && id <= to);

describe('bin/main read against a hostile server', () => {
  it('reads everything from the server when it is honest (the baseline of the cases)', async () => {
    const { run, requests } = await readCase(undefined);
    expect(run.code).toBe(0);
    expect(hostIds(run)).toEqual(ids);
    // host_list: the access check, the detections' ID listing and the listing of every host ID
    // (the deletions of purged hosts).
    expect(requests).toEqual({ host_list: 3, detection: 3, knowledge_base: 1 });
  });

  it('stops a range whose next page brings back the same page, without asking again', async () => {
    const { run, requests } = await readCase('same-page-loop');
    expect(run.code).toBe(1);
    // Whichever range failed first is named.
    expect(errorTrace(run)).toMatch(
      /Failed to list host detections for ids 1[0-2][16]-1[1-3]0: the server sent a truncated page with no new record \(next id_min 106\); asking again would loop/,
    );
    // Range 101-110 reads page one, then asks for id_min 106 once; the other ranges once each.
    expect(hostIds(run)).toEqual(range(101, 110));
    expect(requests.detection).toBe(4);
  });

  it('stops a range whose id_min creeps forward while the page stays the same', async () => {
    const { run, requests } = await readCase('creeping-id-min');
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(/the server sent a truncated page with no new record/);
    expect(hostIds(run)).toEqual(range(101, 110));
    expect(requests.detection).toBe(4);
  });

  it('stops a range that takes more than twice the pages its listed IDs need', async () => {
    const { run, requests } = await readCase('one-new-per-page');
    expect(run.code).toBe(1);
    // 10 IDs per range at 10 per page: at most 2 × 1 + 2 = 4 calls per range.
    expect(errorTrace(run)).toMatch(
      /Failed to list host detections for ids 1[0-2][0-9]-1[1-3]0: 4 truncated pages for 10 listed IDs at 10 per page, and the server asks for more; stopping/,
    );
    expect(requests.detection).toBe(12);
    expect(hostIds(run)).toEqual([...range(101, 104), ...range(111, 114), ...range(121, 124)]);
  });

  it('refuses a listing that would make more ranges than MAX_RANGES', async () => {
    const { run, requests } = await readCase('many-ranges');
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(
      'Failed to list host IDs: the IDs listed (up to 1-10000000) make more than 500000 ranges ' +
        'of 10: raise the page size',
    );
    expect(requests.detection).toBe(0);
  });

  it('keeps only the QIDs asked for from a knowledge base that sends more', async () => {
    const { run } = await readCase('kb-flood');
    expect(run.code).toBe(0);
    expect(hostIds(run)).toEqual(ids);
    const unasked = warnings(run).filter((w) => /which was not asked for/.test(w));
    expect(unasked[0]).toBe(
      'Failed to fetch 3 QIDs from the knowledge base: Qualys sent QID 500000, which was not ' +
        'asked for: not kept (1 such entries in this batch so far)',
    );
    expect(unasked).toHaveLength(3);
    for (const host of recordsOf<HostDetectionRecord>(run, 'host_detections')) {
      expect(host.VULNERABILITIES[0].QID_INFO).toMatchObject({
        qid: { qid: host.VULNERABILITIES[0].QID },
      });
    }
  });

  it('refuses 10,000-deep nesting with a clear error, no stack overflow', async () => {
    const { run } = await readCase('deep-nesting');
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(
      'Failed to list host detections for ids 101-110: refusing the response: elements nested ' +
        'deeper than 32 levels (<X>)',
    );
    expect(run.stderr).not.toMatch(/Maximum call stack/);
    expect(hostIds(run)).toEqual([101, 102, ...range(111, 130)]);
  });

  it('refuses an absurd ID_RANGE without expanding it', async () => {
    const { run, requests } = await readCase('absurd-id-range');
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(
      'Failed to list host IDs: the ID_SET claims more than 50000000 IDs (up to ' +
        '1-9007199254740000), more than any subscription holds; refusing to read it',
    );
    expect(requests.detection).toBe(0);
  });

  it('refuses an ID_SET out of order rather than misplace IDs', async () => {
    const { run } = await readCase('descending-id-set');
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(
      'Failed to list host IDs: the ID_SET is not in ascending order (101-119 after 130)',
    );
  });

  it('refuses a gzip bomb once it inflates 200-fold, and an unknown Content-Encoding', async () => {
    const bomb = await readCase('gzip-bomb');
    expect(bomb.run.code).toBe(1);
    expect(errorTrace(bomb.run)).toMatch(
      /Failed to list host detections for ids \d+-\d+: the gzip body inflates more than 200-fold \(16\.\d MiB from 0\.\d MiB\): refusing a decompression bomb/,
    );
    const unknown = await readCase('unknown-encoding');
    expect(unknown.run.code).toBe(1);
    expect(errorTrace(unknown.run)).toMatch(/unsupported Content-Encoding zstd-ish/);
  });

  it('keeps a prefix and an exact marker of a 50 MB field, and reads every host', async () => {
    const { run } = await readCase('huge-field');
    expect(run.code).toBe(0);
    expect(hostIds(run)).toEqual(ids);
    const host = recordsOf<HostDetectionRecord>(run, 'host_detections').find((h) => h.ID === 104);
    const results = host?.VULNERABILITIES[0].RESULTS ?? '';
    expect(results).toHaveLength(MAX_FIELD_CHARS);
    const [, kept, dropped] = /^(x+)\n\[… (\d+) more characters truncated\]$/.exec(results) ?? [];
    expect(kept.length + Number(dropped)).toBe(HUGE_FIELD_CHARS);
  });

  it('refuses a tag that never ends, and a HOST of a million elements', async () => {
    const tag = await readCase('endless-tag');
    expect(tag.run.code).toBe(1);
    expect(errorTrace(tag.run)).toMatch(
      'refusing the response: a tag or declaration longer than 65536 characters',
    );
    const flood = await readCase('element-flood');
    expect(flood.run.code).toBe(1);
    expect(errorTrace(flood.run)).toMatch(
      'refusing the response: a <HOST> larger than 48 Mi (64 per element plus its text)',
    );
    expect(hostIds(flood.run)).toEqual([...range(101, 104), ...range(111, 130)]);
  });

  it('keeps __proto__, constructor and toString elements as plain fields', async () => {
    const { run } = await readCase('prototype-names');
    expect(run.code).toBe(0);
    expect(hostIds(run)).toEqual(ids);
    const hosts = recordsOf<Record<string, unknown>>(run, 'host_detections');
    const names = ['__proto__', 'constructor', 'toString'];
    for (const record of hosts) {
      const detection = (record.VULNERABILITIES as Record<string, unknown>[])[0];
      for (const object of [record, detection]) {
        for (const name of names) {
          const own = Object.getOwnPropertyDescriptor(object, name)?.value;
          expect(own).toEqual(record.ID === 106 ? { polluted: 'yes' } : undefined);
        }
      }
      expect(record.polluted).toBeUndefined();
    }
  });

  it.each([
    ['garbage-datetime', 'yesterday-ish'],
    ['future-datetime', '2999-01-01T00:00:00Z'],
  ])(
    'ignores a RESPONSE/DATETIME that is no server time (%s), with a warning',
    async (name, value) => {
      const { run } = await readCase(name);
      expect(run.code).toBe(0);
      expect(hostIds(run)).toEqual(ids);
      expect(warnings(run)).toContain(
        `Failed to list host IDs: Qualys sent RESPONSE/DATETIME "${value}", not a plausible ` +
          'server time: ignored; the cursor stays where it was, and the next sync reads again ' +
          'from there',
      );
      // No cursor: the stream keeps none (here: the previous one) when the server's time is no time.
      expect(decodeState(lastState(run)).host_detections).not.toHaveProperty('cursor');
    },
  );

  it('ends a call whose server drips its bytes, each inside the timeout (slow-drip)', async () => {
    const started = Date.now();
    const { run, requests } = await readCase('slow-drip');
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(
      /Failed to list host detections for ids 1[0-2]1-1[1-3]0: Qualys sent the response too slowly \(more than 1 s waiting for its bytes after the first\)/,
    );
    expect(hostIds(run)).toEqual([]);
    // max_retries 0: one call per range, each ended after about a second of dripping.
    expect(requests.detection).toBe(3);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it.each(['html-as-xml', 'html-as-html'])('recognises an HTML login page (%s)', async (name) => {
    const { run, requests } = await readCase(name);
    expect(run.code).toBe(1);
    expect(errorTrace(run)).toMatch(
      /Failed to list host detections for ids 1[0-2]1-1[1-3]0: the server answered HTML, not Qualys XML: is base_url the API server or a proxy login page\?/,
    );
    // Not retried: a login page does not go away.
    expect(requests.detection).toBe(3);
  });

  it('reports hosts outside the range asked for, and hosts without an ID, and reads the rest', async () => {
    const { run } = await readCase('hosts-outside-range');
    expect(run.code).toBe(0);
    expect(hostIds(run)).toEqual(ids);
    const strays = warnings(run).filter((w) => /outside the range asked for/.test(w));
    expect(strays).toContain(
      'Failed to list host detections for ids 101-110: Qualys sent ID 9999, outside the range ' +
        'asked for: not emitted (1 such records in this range so far)',
    );
    expect(strays).toContain(
      'Failed to list host detections for ids 101-110: Qualys sent a record without ID, outside ' +
        'the range asked for: not emitted (2 such records in this range so far)',
    );
  });
});
