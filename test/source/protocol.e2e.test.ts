import http from 'node:http';
import { AddressInfo } from 'node:net';

import spec from '../../resources/spec.json';
import { HostDetectionRecord } from '../../src/records';
import { Simulator } from '../../src/simulator';
import {
  catalog,
  configFor,
  decodeState,
  lastState,
  recordsOf,
  expectCleanRun,
  expectValid,
  PASSWORD,
  protocolValidator,
  runMain,
  simulator,
  STREAMS,
} from './harness';

describe('bin/main spec and discover', () => {
  it('spec is a valid Airbyte SPEC message with the password marked secret', async () => {
    const run = await runMain('spec');
    expect(run.code).toBe(0);
    expect(run.messages).toHaveLength(1);
    const [message] = run.messages;
    expectValid(protocolValidator('AirbyteMessage'), message, 'SPEC message');
    expectValid(protocolValidator('ConnectorSpecification'), message.spec, 'spec');
    const properties = message.spec.connectionSpecification.properties;
    expect(properties.password.airbyte_secret).toBe(true);
    expect(Object.keys(properties)).toEqual(
      expect.arrayContaining(Object.keys(spec.connectionSpecification.properties)),
    );
  });

  it('discover offers the four streams, full refresh and incremental, with their schemas', async () => {
    const run = await runMain('discover', {
      config: {
        base_url: 'https://qualysapi.qg2.apps.qualys.com',
        username: 'u',
        password: PASSWORD,
      },
    });
    expect(run.code).toBe(0);
    expectCleanRun(run);
    const catalog = run.messages[0].catalog;
    expectValid(protocolValidator('AirbyteCatalog'), catalog, 'catalog');
    expect(
      catalog.streams.map((s: Record<string, unknown>) => ({
        name: s.name,
        modes: s.supported_sync_modes,
        cursor: s.default_cursor_field,
        key: s.source_defined_primary_key,
        sourceDefinedCursor: s.source_defined_cursor,
        title: (s.json_schema as { title: string }).title,
      })),
    ).toEqual([
      {
        name: 'hosts',
        modes: ['full_refresh', 'incremental'],
        cursor: ['LAST_VULN_SCAN_DATETIME'],
        key: [['subscription'], ['ID']],
        sourceDefinedCursor: true,
        title: 'hosts',
      },
      {
        name: 'host_detections',
        modes: ['full_refresh', 'incremental'],
        cursor: ['LAST_SCAN_DATETIME'],
        key: [['subscription'], ['ID']],
        sourceDefinedCursor: true,
        title: 'host_detections',
      },
      {
        name: 'knowledge_base',
        modes: ['full_refresh', 'incremental'],
        cursor: ['LAST_SERVICE_MODIFICATION_DATETIME'],
        key: [['subscription'], ['QID']],
        sourceDefinedCursor: true,
        title: 'knowledge_base',
      },
      {
        name: 'detections',
        modes: ['full_refresh', 'incremental'],
        cursor: ['LAST_SCAN_DATETIME'],
        key: [['subscription'], ['HOST_ID'], ['DETECTION_KEY']],
        sourceDefinedCursor: true,
        title: 'detections',
      },
    ]);
    expect(catalog.streams.map((s: { name: string }) => s.name)).toEqual([
      ...STREAMS,
      'detections',
    ]);
  });
});

function totalCalls(sim: Simulator): number {
  return Object.values(sim.stats().calls).reduce((a, b) => a + b, 0);
}

describe('bin/main check', () => {
  let sim: Simulator;
  beforeAll(async () => (sim = await simulator({ hosts: 20, detectionsPerHost: 3, qids: 50 })));
  afterAll(() => sim.close());

  async function check(config: Record<string, unknown>) {
    const run = await runMain('check', { config });
    expect(run.code).toBe(0);
    expectCleanRun(run);
    const status = run.messages.find((m) => m.type === 'CONNECTION_STATUS');
    return status?.connectionStatus as { status: string; message?: string };
  }

  it('succeeds with good credentials, in one call', async () => {
    const before = totalCalls(sim);
    expect(await check(configFor(sim))).toEqual({ status: 'SUCCEEDED' });
    expect(totalCalls(sim) - before).toBe(1);
  });

  it('reports bad credentials', async () => {
    expect(await check({ ...configFor(sim), password: `${PASSWORD}-wrong` })).toEqual({
      status: 'FAILED',
      message:
        `Cannot use the Qualys API at ${sim.baseUrl}: Qualys rejected the credentials ` +
        `(HTTP 401: Bad Login/Password). Check username and password, that the user has API ` +
        `access, and that base_url is the API server of the user's platform`,
    });
  });

  it('reports an expired account (SIMPLE_RETURN 2001 on HTTP 200)', async () => {
    const expired = await simulator({ hosts: 5, accountExpired: true });
    try {
      expect(await check(configFor(expired))).toEqual({
        status: 'FAILED',
        message: `Cannot use the Qualys API at ${expired.baseUrl}: HTTP 200 (code 2001): This account has expired.`,
      });
    } finally {
      await expired.close();
    }
  });

  it('reports an unreachable host', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    expect(await check({ ...configFor(sim), base_url: `http://127.0.0.1:${port}` })).toEqual({
      status: 'FAILED',
      message: `Cannot use the Qualys API at http://127.0.0.1:${port}: cannot reach the Qualys API server (ECONNREFUSED)`,
    });
  });

  it('reports a server that is not a Qualys API server', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body>Not here</body></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await check({ ...configFor(sim), base_url: `http://127.0.0.1:${port}` })).toEqual({
        status: 'FAILED',
        message: `Cannot use the Qualys API at http://127.0.0.1:${port}: not found (HTTP 404): is base_url a Qualys API server?`,
      });
    } finally {
      server.close();
    }
  });

  it('reports a user without API access (HTTP 403)', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('API access is not enabled for this user');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await check({ ...configFor(sim), base_url: `http://127.0.0.1:${port}` })).toEqual({
        status: 'FAILED',
        message:
          `Cannot use the Qualys API at http://127.0.0.1:${port}: access denied (HTTP 403: API ` +
          `access is not enabled for this user): the user needs API access and VM permissions`,
      });
    } finally {
      server.close();
    }
  });

  it('reports a TLS failure', async () => {
    const tlsUrl = sim.baseUrl.replace('http:', 'https:');
    const status = await check({ ...configFor(sim), base_url: tlsUrl });
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(
      new RegExp(
        `^Cannot use the Qualys API at ${tlsUrl}: TLS failure \\((EPROTO|ERR_SSL_[A-Z_]+)\\): `,
      ),
    );
  });

  it('reports a timeout', async () => {
    const slow = await simulator({ hosts: 5, firstByteMs: 3000 });
    try {
      expect(await check({ ...configFor(slow), timeout: 1 })).toEqual({
        status: 'FAILED',
        message: `Cannot use the Qualys API at ${slow.baseUrl}: no data from Qualys for 1 s`,
      });
    } finally {
      await slow.close();
    }
  });

  it('reports an invalid configuration, naming the field, without calling Qualys', async () => {
    const before = totalCalls(sim);
    const run = await runMain('check', {
      config: { ...configFor(sim), base_url: 'http://qualysapi.qualys.com', statuses: ['Closed'] },
    });
    // A config that cannot be used fails the process too (issue 14 §2).
    expect(run.code).toBe(1);
    expectCleanRun(run);
    expect(run.messages).toEqual([
      {
        type: 'CONNECTION_STATUS',
        connectionStatus: {
          status: 'FAILED',
          message:
            'Invalid configuration: statuses[0] must be one of New, Active, Re-Opened, Fixed',
        },
      },
    ]);
    expect(totalCalls(sim)).toBe(before);
  });
});

describe('bin/main read failures', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await simulator({
      hosts: 30,
      detectionsPerHost: 3,
      qids: 40,
      faults: { rules: [{ type: 'http_error', status: 500, endpoint: 'hld', after: 1 }] },
    });
  });
  afterAll(() => sim.close());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function traces(run: { messages: Record<string, any>[] }) {
    return run.messages
      .filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR')
      .map((m) => [m.trace.error.failure_type, m.trace.error.message]);
  }

  it('reports bad credentials as a config_error TRACE and exits non-zero', async () => {
    const run = await runMain('read', {
      config: { ...configFor(sim), password: `${PASSWORD}-wrong` },
      catalog: catalog(),
    });
    expect(run.code).toBe(1);
    expectCleanRun(run);
    expect(traces(run)).toEqual([
      [
        'config_error',
        `Cannot use the Qualys API at ${sim.baseUrl}: Qualys rejected the credentials (HTTP 401: ` +
          `Bad Login/Password). Check username and password, that the user has API access, and ` +
          `that base_url is the API server of the user's platform`,
      ],
    ]);
    expect(run.messages.filter((m) => m.type === 'RECORD')).toEqual([]);
  });

  it('reports an invalid configuration as a config_error TRACE naming the field', async () => {
    const run = await runMain('read', {
      config: { ...configFor(sim), severities: [9] },
      catalog: catalog(),
    });
    expect(run.code).toBe(1);
    expect(traces(run)).toEqual([
      ['config_error', 'Invalid configuration: severities[0] must be <= 5'],
    ]);
  });

  it('reports ranges that fail for good as a system_error, keeping the others and their state', async () => {
    const run = await runMain('read', {
      config: configFor(sim, { max_retries: 1, max_concurrency: 1 }),
      catalog: catalog(['host_detections']),
    });
    expect(run.code).toBe(1);
    expectCleanRun(run);
    const [[failureType, message]] = traces(run);
    expect(failureType).toBe('system_error');
    expect(message).toMatch(
      /^host_detections: 2 ID ranges could not be read \(\d+-\d+, \d+-\d+\); the next sync resumes them: /,
    );
    const hosts = recordsOf<HostDetectionRecord>(run, 'host_detections');
    expect(hosts.length).toBeGreaterThan(0);
    const state = decodeState(lastState(run)).host_detections as { pending: { done: unknown[] } };
    expect(state.pending.done).toHaveLength(1);
  });
});
