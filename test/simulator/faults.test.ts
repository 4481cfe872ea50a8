/**
 * Fault plans: deterministic selection by call number or seeded rate, restricted to endpoints, and
 * each effect as documented in src/simulator/faults.ts.
 */
import http from 'node:http';
import { FaultRule, Simulator, startSimulator } from '../../src/simulator';
import { SMALL, basic, call, parseXml, path, withSimulator } from './helpers';

const HLD = '/api/4.0/fo/asset/host/vm/detection/?action=list';
const HOSTS = '/api/4.0/fo/asset/host/?action=list';
const ABOUT = '/msp/about.php';

function withFaults<T>(
  rules: FaultRule[],
  body: (sim: Simulator) => Promise<T>,
  seed?: number,
): Promise<T> {
  return withSimulator({ ...SMALL, rateLimit: 1000, faults: { seed, rules } }, body);
}

async function statuses(sim: Simulator, url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call(sim, url)).status);
  return out;
}

interface RawResult {
  status: number;
  data: Buffer;
  error?: string;
  firstByteAfterHeadMs?: number;
}

/** A request that records every byte; gives up (disconnects) after `idleMs` without data. */
function raw(sim: Simulator, url: string, idleMs = 2000): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headAt = 0;
    let firstByteAfterHeadMs: number | undefined;
    const req = http.get(`${sim.baseUrl}${url}`, {
      headers: {
        authorization: basic(sim.username, sim.password),
        'x-requested-with': 'faults-test',
      },
      agent: false,
    });
    const done = (error?: string): void =>
      resolve({ status, data: Buffer.concat(chunks), error, firstByteAfterHeadMs });
    req.setTimeout(idleMs, () => {
      req.destroy();
      done('idle');
    });
    req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      headAt = Date.now();
      res.on('data', (c: Buffer) => {
        firstByteAfterHeadMs ??= Date.now() - headAt;
        chunks.push(c);
      });
      res.on('end', () => done());
      res.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      res.on('aborted', () => done('aborted'));
    });
  });
}

test('the first 3 HLD calls get 503; other endpoints are not affected', async () => {
  await withFaults(
    [{ type: 'http_error', status: 503, endpoint: 'hld', first: 3 }],
    async (sim) => {
      expect(await statuses(sim, HOSTS, 1)).toEqual([200]);
      const first = await call(sim, HLD);
      expect(first.status).toBe(503);
      expect(first.headers['content-type']).toBe('text/html');
      expect(first.headers['x-ratelimit-remaining']).toBe('999');
      expect(await statuses(sim, HLD, 4)).toEqual([503, 503, 200, 200]);
      expect(sim.stats().faults.http_error).toBe(3);
    },
  );
});

test('every 5th call (any endpoint) gets a 409 1960 storm that does not use up the rate window', async () => {
  await withFaults([{ type: 'conflict', code: 1960, every: 5 }], async (sim) => {
    const seen: number[] = [];
    for (let i = 1; i <= 10; i++) seen.push((await call(sim, i % 2 ? HLD : ABOUT)).status);
    expect(seen).toEqual([200, 200, 200, 200, 409, 200, 200, 200, 200, 409]);
    const reply = await call(sim, '/api/4.0/fo/knowledge_base/vuln/?action=list&ids=1');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-ratelimit-remaining']).toBe('999');
    const stats = sim.stats();
    expect(stats.conflicts).toEqual({ '1960': 2, '1965': 0 });
    expect(stats.statusCodesByEndpoint.hld).toEqual({ '200': 4, '409': 1 });
  });
});

test('a 1965 storm carries the configured wait in text, item and headers', async () => {
  await withFaults(
    [{ type: 'conflict', code: 1965, secondsToWait: 3725, endpoint: 'kb', calls: [2] }],
    async (sim) => {
      const kb = '/api/4.0/fo/knowledge_base/vuln/?action=list&ids=1';
      expect((await call(sim, kb)).status).toBe(200);
      const storm = await call(sim, kb);
      expect(storm.status).toBe(409);
      expect(storm.headers['x-ratelimit-towait-sec']).toBe('3725');
      expect(storm.headers['x-ratelimit-remaining']).toBe('0');
      const response = path(parseXml(storm.body), 'RESPONSE')!;
      expect(path(response, 'CODE')?.text).toBe('1965');
      expect(path(response, 'TEXT')?.text).toBe(
        'This API cannot be run again for another 1 hours, 2 minutes and 5 seconds.',
      );
      expect((await call(sim, kb)).headers['x-ratelimit-remaining']).toBe('998');
    },
  );
});

test('rate selection is seeded: the same plan seed repeats the pattern, another seed changes it', async () => {
  const pattern = (seed: number): Promise<number[]> =>
    withFaults(
      [{ type: 'http_error', status: 500, rate: 0.3, endpoint: 'about' }],
      (sim) => statuses(sim, ABOUT, 40),
      seed,
    );
  const [a, b, c] = await Promise.all([pattern(1), pattern(1), pattern(2)]);
  expect(b).toEqual(a);
  expect(c).not.toEqual(a);
  const failures = a.filter((s) => s === 500).length;
  expect(failures).toBeGreaterThanOrEqual(5);
  expect(failures).toBeLessThanOrEqual(20);
});

test('a 500 carries the GENERIC_RETURN internal-error document', async () => {
  await withFaults([{ type: 'http_error', status: 500 }], async (sim) => {
    const reply = await call(sim, HOSTS);
    expect(reply.status).toBe(500);
    const root = parseXml(reply.body);
    expect(root.name).toBe('GENERIC_RETURN');
    expect(path(root, 'RETURN')?.attrs).toEqual({ status: 'FAILED', number: '999' });
  });
});

test('maintenance: 503 with Retry-After from the front door, before authentication and without limit headers', async () => {
  await withFaults([{ type: 'maintenance', retryAfterSec: 120, calls: [1, 2] }], async (sim) => {
    const first = await call(sim, HOSTS, { auth: false });
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('120');
    expect(first.headers['x-ratelimit-limit']).toBeUndefined();
    expect(first.body).toContain('maintenance');
    expect(await statuses(sim, HOSTS, 2)).toEqual([503, 200]);
    expect(sim.stats().faults.maintenance).toBe(2);
  });
});

test('reset after N bytes: the client sees a connection reset having received at most N bytes', async () => {
  await withFaults(
    [{ type: 'reset', afterBytes: 5000, endpoint: 'hld', first: 1 }],
    async (sim) => {
      const reset = await raw(sim, `${HLD}&show_igs=1`);
      expect(reset.status).toBe(200);
      expect(['ECONNRESET', 'aborted']).toContain(reset.error);
      expect(reset.data.length).toBeLessThanOrEqual(5000);
      const full = await raw(sim, `${HLD}&show_igs=1`);
      expect(full.error).toBeUndefined();
      expect(full.data.length).toBeGreaterThan(5000);
      expect(sim.stats().faults.reset).toBe(1);
    },
  );
});

test('truncate after N bytes: the response ends cleanly but the XML is cut', async () => {
  await withFaults(
    [{ type: 'truncate', afterBytes: 7777, endpoint: 'hld', calls: [1] }],
    async (sim) => {
      const cut = await raw(sim, `${HLD}&show_igs=1`);
      const full = await raw(sim, `${HLD}&show_igs=1`);
      expect(cut.error).toBeUndefined();
      expect(cut.data.length).toBe(7777);
      expect(full.data.subarray(0, 7777).equals(cut.data)).toBe(true);
      expect(cut.data.toString()).not.toContain('</HOST_LIST_VM_DETECTION_OUTPUT>');
      expect(full.data.toString()).toContain('</HOST_LIST_VM_DETECTION_OUTPUT>');
    },
  );
});

test('latency delays the head; first_byte delays the body after the head', async () => {
  await withFaults(
    [
      { type: 'latency', ms: 300, endpoint: 'about', calls: [1] },
      { type: 'first_byte', ms: 400, endpoint: 'host_list' },
    ],
    async (sim) => {
      const started = Date.now();
      expect((await call(sim, ABOUT)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await call(sim, ABOUT);
      const slow = await raw(sim, HOSTS);
      expect(slow.firstByteAfterHeadMs).toBeGreaterThanOrEqual(390);
      expect(sim.stats().faults).toMatchObject({ latency: 1, first_byte: 1 });
    },
  );
});

test('bandwidth caps the body rate', async () => {
  await withFaults(
    [{ type: 'bandwidth', bytesPerSec: 100_000, endpoint: 'host_list' }],
    async (sim) => {
      const started = Date.now();
      const reply = await raw(
        sim,
        `${HOSTS}&details=All&show_tags=1&host_metadata=all&show_cloud_tags=1`,
      );
      const elapsed = Date.now() - started;
      expect(reply.data.length).toBeGreaterThan(30_000);
      expect(elapsed).toBeGreaterThanOrEqual((reply.data.length / 100_000) * 1000 - 120);
      expect(sim.stats().faults.bandwidth).toBe(1);
    },
  );
});

describe('poison host', () => {
  let sim: Simulator;
  let poison: number;
  let before: number;
  beforeAll(async () => {
    const probe = await startSimulator(SMALL);
    const withDetections = probe.dataset.matchDetections({}).map((h) => h.hostId);
    await probe.close();
    [before, poison] = withDetections.slice(4, 6);
    sim = await startSimulator({
      ...SMALL,
      concurrencyLimit: 1,
      faults: { rules: [{ type: 'poison', hostId: poison }] },
    });
  });
  afterAll(() => sim.close());

  test.each([
    ['HLD', HLD],
    ['Host List details=Basic', HOSTS],
  ])('%s stalls right before the poison host until the client gives up', async (_name, url) => {
    const stalled = await raw(sim, url, 400);
    expect(stalled.error).toBe('idle');
    const text = stalled.data.toString();
    expect(text).toContain(`<ID>${before}</ID>`);
    expect(text).not.toContain(`<ID>${poison}</ID>`);
    expect(text.endsWith('      </HOST>\n')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await call(sim, `${url}&ids=${before}`);
    expect(next.status).toBe(200);
    expect(next.headers['x-concurrency-limit-running']).toBe('1');
  });

  test('ID_SET listings and requests without the host are not affected', async () => {
    const ids = await raw(sim, `${HOSTS}&details=None`, 5000);
    expect(ids.error).toBeUndefined();
    expect(ids.data.toString()).toContain('</HOST_LIST_OUTPUT>');
    const other = await raw(sim, `${HLD}&id_max=${poison - 1}`, 5000);
    expect(other.error).toBeUndefined();
    expect(sim.stats().faults.poison).toBe(2);
  });
});

test.each([
  [{ rules: [{ type: 'nope' }] }, /rule 0: type must be one of latency, first_byte/],
  [{ rules: [{ type: 'poison', hostId: 5, first: 1 }] }, /rule 0: unexpected field "first"/],
  [{ rules: [{ type: 'http_error', status: 404 }] }, /rule 0: status must be 5xx/],
  [{ rules: [{ type: 'reset' }] }, /rule 0: afterBytes must be a non-negative integer/],
  [
    { rules: [{ type: 'latency', ms: 5, endpoint: 'scan' }] },
    /rule 0: endpoint must be one of host_list, hld, kb, about/,
  ],
  [{ rules: [{ type: 'latency', ms: 5, rate: 2 }] }, /rule 0: rate must be between 0 and 1/],
  [
    { rules: [{ type: 'unordered_hosts', swapEvery: 0 }] },
    /rule 0: swapEvery must be a positive integer/,
  ],
  [{ faults: [] }, /expected \{"rules": \[...\]\}/],
])('an invalid fault plan is rejected: %j', async (plan, message) => {
  await expect(startSimulator({ ...SMALL, faults: plan as never })).rejects.toThrow(message);
});
