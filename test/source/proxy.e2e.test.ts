/**
 * Issue 10 §4, corporate networks: bin/main reaches a TLS API server signed by a private CA
 * (ca_certificate) through a real CONNECT proxy (proxy_url with credentials, or HTTPS_PROXY with
 * NO_PROXY honoured). The TLS server here fronts the simulator; the proxy is node:http's
 * 'connect' event, recording every tunnel it opens.
 */
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

import { validateConfig } from '../../src/config';
import { detectionParams } from '../../src/qualys/params';
import { Simulator } from '../../src/simulator';
import {
  catalog,
  configFor,
  expectCleanRun,
  Message,
  recordsOf,
  ROOT,
  Run,
  runMain,
  simulator,
} from './harness';

const TLS_FILES = path.join(ROOT, 'test_files/tls');
const CA = fs.readFileSync(path.join(TLS_FILES, 'ca.pem'), 'utf8');
const PROXY_USER = 'proxy-user';
const PROXY_PASSWORD = 'proxy-Qw9!never-in-output';
/** No proxy or exception of the test machine applies. */
const CLEAN_ENV = {
  HTTPS_PROXY: '',
  https_proxy: '',
  HTTP_PROXY: '',
  http_proxy: '',
  ALL_PROXY: '',
  all_proxy: '',
  NO_PROXY: '',
  no_proxy: '',
};

interface Tunnel {
  target: string;
  authorization?: string;
}

/** A CONNECT proxy; with `credentials`, tunnels without them are answered 407. */
class ConnectProxy {
  readonly tunnels: Tunnel[] = [];
  /** Requests that were not CONNECT (a proxy-unaware client sends plain ones). */
  plainRequests = 0;
  private readonly server = http.createServer((_req, res) => {
    this.plainRequests++;
    res.writeHead(405).end();
  });
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly credentials?: string) {
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      this.sockets.add(client);
      const authorization = req.headers['proxy-authorization'];
      this.tunnels.push({ target: String(req.url), authorization });
      const expected =
        this.credentials && `Basic ${Buffer.from(this.credentials).toString('base64')}`;
      if (expected && authorization !== expected) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\n' +
            'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      const [host, port] = String(req.url).split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A TLS server (the fixture's certificate for 127.0.0.1) that forwards to the simulator. */
async function tlsFront(target: URL): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: fs.readFileSync(path.join(TLS_FILES, 'server.key')),
      cert: fs.readFileSync(path.join(TLS_FILES, 'server.pem')),
    },
    (socket) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let sim: Simulator;
let front: { baseUrl: string; stop: () => Promise<void> };
let proxy: ConnectProxy;
let proxyUrl: string;
let target: string;

beforeAll(async () => {
  sim = await simulator({ hosts: 15, detectionsPerHost: 2, qids: 30 });
  front = await tlsFront(new URL(sim.baseUrl));
  target = new URL(front.baseUrl).host;
});

beforeEach(async () => {
  proxy = new ConnectProxy(`${PROXY_USER}:${PROXY_PASSWORD}`);
  proxyUrl = await proxy.start();
});

afterEach(() => proxy.stop());

afterAll(async () => {
  await front.stop();
  await sim.close();
});

/** The TLS front, trusted through ca_certificate. */
function tlsConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return configFor(sim, { base_url: front.baseUrl, ca_certificate: CA, ...extra });
}

function withProxy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return tlsConfig({
    proxy_url: proxyUrl,
    proxy_username: PROXY_USER,
    proxy_password: PROXY_PASSWORD,
    ...extra,
  });
}

function statusOf(run: Run): Message['connectionStatus'] {
  return run.messages.find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus;
}

/** Neither password appears in any output. */
function expectNoSecrets(run: Run): void {
  expectCleanRun(run);
  expect(run.stdout + run.stderr).not.toContain(PROXY_PASSWORD);
}

const AUTHORIZATION = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`;

describe('proxy_url and ca_certificate', () => {
  it('check and read go through the proxy, with its credentials, to the private-CA server', async () => {
    const check = await runMain('check', { config: withProxy() }, undefined, CLEAN_ENV);
    expect(statusOf(check)).toEqual({ status: 'SUCCEEDED' });
    expect(check.code).toBe(0);
    expectNoSecrets(check);

    const read = await runMain(
      'read',
      { config: withProxy(), catalog: catalog(['hosts', 'host_detections']) },
      undefined,
      CLEAN_ENV,
    );
    expect(read.code).toBe(0);
    const ids = (stream: string) =>
      recordsOf<{ ID: number }>(read, stream)
        .map((r) => r.ID)
        .sort((a, b) => a - b);
    expect(ids('hosts')).toEqual(sim.dataset.hostIds());
    const detections = sim.dataset.matchDetections(detectionParams(validateConfig(withProxy())));
    expect(ids('host_detections')).toEqual(detections.map((match) => match.hostId));
    expectNoSecrets(read);
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(proxy.tunnels).toEqual(
      proxy.tunnels.map(() => ({ target, authorization: AUTHORIZATION })),
    );
    expect(proxy.plainRequests).toBe(0);
  });

  it('wrong proxy credentials fail check, naming the proxy', async () => {
    const check = await runMain(
      'check',
      { config: withProxy({ proxy_password: 'not-the-proxy-password' }) },
      undefined,
      CLEAN_ENV,
    );
    expect(statusOf(check)).toEqual({
      status: 'FAILED',
      message: `Cannot use the Qualys API at ${front.baseUrl}: the proxy refused the tunnel (HTTP 407): check proxy_username and proxy_password (or the credentials in HTTPS_PROXY)`,
    });
    expect(proxy.tunnels).toEqual([{ target, authorization: expect.any(String) }]);
  });

  it('a proxy that cannot be reached is named as such', async () => {
    const closed = new ConnectProxy();
    const url = await closed.start();
    await closed.stop();
    const check = await runMain(
      'check',
      { config: withProxy({ proxy_url: url, max_retries: 0 }) },
      undefined,
      CLEAN_ENV,
    );
    expect(statusOf(check)).toEqual({
      status: 'FAILED',
      message: `Cannot use the Qualys API at ${front.baseUrl}: connection failed: cannot reach the proxy ${url} (ECONNREFUSED)`,
    });
  });

  it('without ca_certificate the private CA is not trusted', async () => {
    const { ca_certificate: _ca, ...config } = withProxy();
    const check = await runMain('check', { config }, undefined, CLEAN_ENV);
    expect(statusOf(check)).toEqual({
      status: 'FAILED',
      message: `Cannot use the Qualys API at ${front.baseUrl}: TLS failure (UNABLE_TO_VERIFY_LEAF_SIGNATURE): unable to verify the first certificate`,
    });
  });

  it('a ca_certificate that is not PEM fails check, naming the field', async () => {
    const check = await runMain(
      'check',
      { config: tlsConfig({ ca_certificate: 'MIIB...' }) },
      undefined,
      CLEAN_ENV,
    );
    expect(statusOf(check)).toEqual({
      status: 'FAILED',
      message:
        'ca_certificate must be PEM text: -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----',
    });
  });
});

describe('HTTPS_PROXY and NO_PROXY', () => {
  const envProxy = () => {
    const url = new URL(proxyUrl);
    url.username = PROXY_USER;
    url.password = PROXY_PASSWORD;
    return url.href;
  };

  it('HTTPS_PROXY is used when proxy_url is unset, its credentials masked', async () => {
    const check = await runMain('check', { config: tlsConfig() }, undefined, {
      ...CLEAN_ENV,
      HTTPS_PROXY: envProxy(),
    });
    expect(statusOf(check)).toEqual({ status: 'SUCCEEDED' });
    expect(proxy.tunnels).toEqual(
      proxy.tunnels.map(() => ({ target, authorization: AUTHORIZATION })),
    );
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expectNoSecrets(check);
  });

  it('NO_PROXY exempts the API server', async () => {
    const check = await runMain('check', { config: tlsConfig() }, undefined, {
      ...CLEAN_ENV,
      https_proxy: envProxy(),
      no_proxy: 'example.com, 127.0.0.1',
    });
    expect(statusOf(check)).toEqual({ status: 'SUCCEEDED' });
    expect(proxy.tunnels).toEqual([]);
  });

  it('proxy_url wins over HTTPS_PROXY', async () => {
    const check = await runMain('check', { config: withProxy() }, undefined, {
      ...CLEAN_ENV,
      HTTPS_PROXY: 'http://127.0.0.1:9',
    });
    expect(statusOf(check)).toEqual({ status: 'SUCCEEDED' });
    expect(proxy.tunnels.length).toBeGreaterThan(0);
  });
});
