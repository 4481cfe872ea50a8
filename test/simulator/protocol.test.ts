/**
 * Authentication, required headers, limit headers, GET/POST equivalence, the gateway token and the
 * SIMPLE_RETURN errors (API doc §1, §5).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulator, startSimulator } from '../../src/simulator';
import { SMALL, basic, call, parseXml, path, withSimulator } from './helpers';

const HOSTS = '/api/4.0/fo/asset/host/?action=list';
const LIMIT_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-window-sec',
  'x-concurrency-limit-limit',
  'x-concurrency-limit-running',
  'x-ratelimit-towait-sec',
  'x-ratelimit-remaining',
];

function simpleReturn(body: string): { code?: string; text?: string; datetime?: string } {
  const root = parseXml(body);
  expect(root.name).toBe('SIMPLE_RETURN');
  return {
    code: path(root, 'RESPONSE', 'CODE')?.text,
    text: path(root, 'RESPONSE', 'TEXT')?.text,
    datetime: path(root, 'RESPONSE', 'DATETIME')?.text,
  };
}

describe('authentication and headers', () => {
  let sim: Simulator;
  beforeAll(async () => (sim = await startSimulator({ ...SMALL, rateLimit: 50 })));
  afterAll(() => sim.close());

  test.each([
    ['no credentials', false as const],
    ['a wrong password', basic('qualys_sim', 'wrong')],
    ['a wrong user', basic('someone', 'qualys_sim_password')],
    ['a malformed header', 'Basic !!!'],
  ])(
    '%s: 401 with CODE 2000 "Bad Login/Password", no limit headers, as recorded',
    async (_name, auth) => {
      const reply = await call(sim, HOSTS, { auth });
      expect(reply.status).toBe(401);
      expect(reply.headers['content-type']).toBe('text/xml;charset=UTF-8');
      expect(simpleReturn(reply.body)).toEqual({
        code: '2000',
        text: 'Bad Login/Password',
        datetime: '2025-06-02T12:00:00Z',
      });
      // Byte for byte the recorded answer (real-captures simple-return-2000-j1-qg3-2020-09.xml),
      // but for the host and the time.
      const capture = 'simple-return-2000-j1-qg3-2020-09.xml';
      const recorded = readFileSync(
        join(__dirname, '../../test_files/real-captures', capture),
        'utf8',
      )
        .replace('https://qualysapi.qg3.apps.qualys.com', sim.baseUrl)
        .replace('2020-09-23T21:41:06Z', '2025-06-02T12:00:00Z');
      expect(reply.body).toBe(recorded);
      for (const header of LIMIT_HEADERS) expect(reply.headers[header]).toBeUndefined();
    },
  );

  test('a missing X-Requested-With header is a 400 SIMPLE_RETURN', async () => {
    const reply = await call(sim, HOSTS, { requestedWith: false });
    expect(reply.status).toBe(400);
    expect(simpleReturn(reply.body).text).toMatch(/X-Requested-With/);
  });

  test('successful calls carry the limit headers with the configured values and content types', async () => {
    const hosts = await call(sim, HOSTS);
    expect(hosts.status).toBe(200);
    expect(hosts.headers['content-type']).toBe('application/xml');
    expect(hosts.headers['transfer-encoding']).toBe('chunked');
    expect(hosts.headers['x-ratelimit-limit']).toBe('50');
    expect(hosts.headers['x-ratelimit-window-sec']).toBe('3600');
    expect(hosts.headers['x-concurrency-limit-limit']).toBe('2');
    expect(hosts.headers['x-concurrency-limit-running']).toBe('1');
    expect(hosts.headers['x-ratelimit-towait-sec']).toBe('0');
    const kb = await call(sim, '/api/2.0/fo/knowledge_base/vuln/?action=list&ids=1');
    expect(kb.headers['content-type']).toBe('text/xml;charset=UTF-8');
    const about = await call(sim, '/msp/about.php');
    expect(about.status).toBe(200);
    expect(path(parseXml(about.body), 'WEB-VERSION')?.text).toMatch(/^\d+\.\d+/);
    for (const header of LIMIT_HEADERS) expect(about.headers[header]).toBeDefined();
  });

  test('every API version path answers the same document, but 2.0 has no UNIQUE_VULN_ID or QDS', async () => {
    const ids = sim.dataset.hostIds();
    const range = `ids=${ids[0]}-${ids[5]}&show_igs=1&show_qds=1&show_qds_factors=1`;
    const bodies = await Promise.all(
      [2, 3, 4, 5].map(
        async (v) =>
          (await call(sim, `/api/${v}.0/fo/asset/host/vm/detection/?action=list&${range}`)).body,
      ),
    );
    const [v2, ...current] = bodies.map((b) => b.replace(/\/api\/\d\.0\//g, '/api/N/'));
    expect(new Set(current).size).toBe(1);
    expect(current[0]).toContain(`<ID>${ids[0]}</ID>`);
    expect(current[0]).toMatch(/<UNIQUE_VULN_ID>\d+<\/UNIQUE_VULN_ID>/);
    expect(current[0]).toMatch(/<QDS severity="[A-Z]+">\d+<\/QDS>/);
    expect(current[0]).toMatch(/<QDS_FACTORS>/);
    // As in the real 2.0 captures (real-captures hld-*.xml), which have neither.
    expect(v2).toBe(
      current[0]
        .replace(/ *<UNIQUE_VULN_ID>.*\n/g, '')
        .replace(/ *<QDS severity.*\n/g, '')
        .replace(/ *<QDS_FACTORS>\n(?:.*\n)*? *<\/QDS_FACTORS>\n/g, ''),
    );
  });

  test('POST with a form body answers exactly what GET with a query answers', async () => {
    const params = 'action=list&details=All&show_tags=1&truncation_limit=5';
    const get = await call(sim, `/api/4.0/fo/asset/host/?${params}`);
    const post = await call(sim, '/api/4.0/fo/asset/host/', { method: 'POST', form: params });
    expect(post.status).toBe(200);
    expect(post.body).toBe(get.body);
    const mixed = await call(sim, '/api/4.0/fo/asset/host/?action=list', {
      method: 'POST',
      form: 'details=All&show_tags=1&truncation_limit=5',
    });
    expect(mixed.body).toBe(get.body);
  });

  test('unknown paths are 404', async () => {
    expect((await call(sim, '/api/4.0/fo/scan/?action=list')).status).toBe(404);
    expect((await call(sim, '/api/6.0/fo/asset/host/?action=list')).status).toBe(404);
  });
});

describe('gateway token (POST /auth)', () => {
  let sim: Simulator;
  beforeAll(async () => (sim = await startSimulator(SMALL)));
  afterAll(() => sim.close());

  test('valid credentials: 201 and a raw JWT valid 4 hours', async () => {
    const before = Math.floor(Date.now() / 1000);
    const form = `username=${sim.username}&password=${sim.password}&token=true`;
    const reply = await call(sim, '/auth', {
      method: 'POST',
      form,
      auth: false,
      requestedWith: false,
    });
    expect(reply.status).toBe(201);
    const parts = reply.body.split('.');
    expect(parts).toHaveLength(3);
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as {
      sub: string;
      iat: number;
      exp: number;
    };
    expect(payload.sub).toBe(sim.username);
    expect(payload.exp - payload.iat).toBe(14400);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
  });

  test('wrong credentials: 401', async () => {
    const reply = await call(sim, '/auth', {
      method: 'POST',
      form: 'username=x&password=y&token=true',
      auth: false,
    });
    expect(reply.status).toBe(401);
  });
});

describe('SIMPLE_RETURN errors', () => {
  let sim: Simulator;
  beforeAll(async () => (sim = await startSimulator({ ...SMALL, rateLimit: 1000 })));
  afterAll(() => sim.close());

  test.each([
    [
      '/api/4.0/fo/asset/host/?action=list&bogus=1&other=2',
      '1901',
      'Unrecognized parameter(s): bogus, other',
    ],
    [
      '/api/4.0/fo/knowledge_base/vuln/?action=list&truncation_limit=10',
      '1901',
      'Unrecognized parameter(s): truncation_limit',
    ],
    [
      '/api/4.0/fo/asset/host/vm/detection/?action=list&show_trurisk=1',
      '1901',
      'Unrecognized parameter(s): show_trurisk',
    ],
    ['/api/4.0/fo/asset/host/?details=All', '1903', 'Missing required parameter(s): action'],
    [
      '/api/4.0/fo/asset/host/vm/detection/?action=list&ids=abc123',
      '1905',
      'parameter ids has invalid value: abc123 (neither a positive integer nor a range: abc123)',
    ],
    ['/api/4.0/fo/asset/host/?action=delete', '1905', 'parameter action has invalid value: delete'],
    [
      '/api/4.0/fo/asset/host/?action=list&details=Full',
      '1905',
      'parameter details has invalid value: Full',
    ],
    [
      '/api/4.0/fo/asset/host/vm/detection/?action=list&status=Open',
      '1905',
      'parameter status has invalid value: Open',
    ],
    [
      '/api/4.0/fo/asset/host/vm/detection/?action=list&show_igs=2',
      '1905',
      'parameter show_igs has invalid value: 2',
    ],
    [
      '/api/4.0/fo/asset/host/vm/detection/?action=list&severities=2-7',
      '1905',
      'parameter severities has invalid value: 2-7 (severities are 1-5)',
    ],
    [
      '/api/4.0/fo/asset/host/?action=list&truncation_limit=-1',
      '1905',
      'parameter truncation_limit has invalid value: -1 (not a non-negative integer)',
    ],
    [
      '/api/4.0/fo/asset/host/?action=list&vm_processed_after=2024-13-01',
      '1905',
      'parameter vm_processed_after has invalid value: 2024-13-01 (expected YYYY-MM-DD[THH:MM:SSZ])',
    ],
    [
      '/api/4.0/fo/asset/host/vm/detection/?action=list&output_format=CSV',
      '1905',
      'parameter output_format has invalid value: CSV (the simulator serves XML only)',
    ],
    [
      '/api/4.0/fo/asset/host/?action=list&ids=5&ids=6',
      '1905',
      'parameter ids has invalid value: 6 (given more than once)',
    ],
    [
      '/api/4.0/fo/asset/host/?action=list&use_tags=1&tag_set_include=Production',
      '1905',
      'parameter tag_set_include has invalid value: Production (tag IDs expected)',
    ],
  ])('%s -> 400 %s', async (url, code, text) => {
    const reply = await call(sim, url);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('text/xml;charset=UTF-8');
    expect(reply.body.startsWith('<!DOCTYPE SIMPLE_RETURN SYSTEM "http://127.0.0.1:')).toBe(true);
    expect(simpleReturn(reply.body)).toEqual({ code, text, datetime: '2025-06-02T12:00:00Z' });
  });

  test.each([
    'echo_request=1',
    'output_format=XML',
    'suppress_duplicated_data_from_csv=1',
    'arf_kernel_filter=2',
    'active_kernels_only=1',
    'filter_superseded_qids=1',
    'vuln_detection_source=1',
    'max_days_since_last_vm_scan=30',
    'detection_last_tested_since_days=10',
    'qds_min=40',
  ])('real HLD parameter %s is accepted', async (param) => {
    expect(
      (await call(sim, `/api/5.0/fo/asset/host/vm/detection/?action=list&${param}`)).status,
    ).toBe(200);
  });

  test.each([
    'show_ars=1',
    'trurisk_min=100',
    'os_hostname=1',
    'no_compliance_scan_since=2024-01-01',
    'ag_titles=Servers',
  ])('real Host List parameter %s is accepted', async (param) => {
    expect((await call(sim, `/api/3.0/fo/asset/host/?action=list&${param}`)).status).toBe(200);
  });

  test('account expired: HTTP 200 with SIMPLE_RETURN 2001', async () => {
    await withSimulator({ ...SMALL, accountExpired: true }, async (expired) => {
      for (const url of [HOSTS, '/msp/about.php', '/api/2.0/fo/knowledge_base/vuln/?action=list']) {
        const reply = await call(expired, url);
        expect(reply.status).toBe(200);
        expect(simpleReturn(reply.body)).toEqual({
          code: '2001',
          text: 'This account has expired.',
          datetime: '2025-06-02T12:00:00Z',
        });
      }
    });
  });
});
