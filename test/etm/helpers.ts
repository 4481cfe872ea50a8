/**
 * Shared test helpers for the ETM half: temp stores on either engine, record builders, running
 * the consumer. Suites that hold for both engines run inside `onEachEngine`, which makes
 * `tempStore` (and all that uses it) open a SQLite file, then a PostgreSQL schema of the server
 * the test run started (test/postgres/global-setup.js).
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import pg from 'pg';

import { AirbyteRecord, Logger } from '../../src/etm/converter';
import { EtmDestination } from '../../src/etm/destination';
import { IdentificationRules } from '../../src/etm/identification-rules';
import { EtmStore } from '../../src/etm/store/database';
import { allAssets, allFindings, collect, EtmRecord } from '../../src/etm/store/reader';
import { Engine } from '../../src/etm/store/sql';
import { ConsumeResult, SyncConsumer } from '../../src/etm/sync/consumer';

export const ROOT = path.resolve(__dirname, '../..');
export const FIXTURES = path.join(ROOT, 'test_files/etm');

export const SUB_A = 'jdoe@qualysapi.qg2.apps.qualys.com';
export const SUB_B = 'secops@qualysapi.qg3.apps.qualys.com';

export function fixtureLines(name: string): string[] {
  return fs
    .readFileSync(path.join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir, removed after the test file's last test. */
export function tempDir(prefix = 'etm-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export const ENGINES: ReadonlyArray<Engine> = ['sqlite', 'postgres'];
let engine: Engine = 'sqlite';

/** Runs `suite` once per engine; inside it, temp stores are of that engine. */
export function onEachEngine(name: string, suite: (engine: Engine) => void): void {
  describe.each(ENGINES)(`${name} (%s)`, (e) => {
    beforeAll(() => {
      engine = e;
    });
    afterAll(() => {
      engine = 'sqlite';
    });
    suite(e);
  });
}

/** The test run's server (test/postgres/global-setup.js starts one unless given). */
export function postgresUrl(): string {
  const url = process.env.ETM_TEST_POSTGRES_URL;
  if (!url)
    throw new Error(
      'no PostgreSQL for the tests: run them with jest (its globalSetup starts one) or set ETM_TEST_POSTGRES_URL',
    );
  return url;
}

let schemas = 0;

/**
 * Where a fresh, empty store of `kind` lives (a --db value), and how to remove it: a file in a
 * temp dir, or a schema of its own on the test server.
 */
export function tempLocation(kind: Engine = engine): { db: string; remove: () => Promise<void> } {
  if (kind === 'sqlite') {
    const dir = tempDir();
    return {
      db: path.join(dir, 'etm.db'),
      remove: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const url = new URL(postgresUrl());
  const schema = `t${process.pid}_${Date.now().toString(36)}_${++schemas}`;
  url.searchParams.set('schema', schema);
  return { db: url.toString(), remove: () => dropSchema(schema) };
}

/** The destination config naming the store at `db` (a --db value of tempLocation). */
export function storeConfig(engine: Engine, db: string): Record<string, unknown> {
  if (engine === 'sqlite') return { type: 'sqlite', path: db };
  const url = new URL(db);
  return {
    type: 'postgres',
    host: url.hostname,
    port: Number(url.port),
    database: url.pathname.slice(1),
    schema: url.searchParams.get('schema'),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ssl_mode: 'disable',
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** A fresh store of the current engine; `cleanup` closes and removes it. */
export async function tempStore(): Promise<{
  store: EtmStore;
  file: string;
  cleanup: () => Promise<void>;
}> {
  const { db, remove } = tempLocation();
  const store = await EtmStore.open(db);
  return {
    store,
    file: db,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
}

export interface LogCapture extends Logger {
  readonly warnings: string[];
}

export function captureLogger(): LogCapture {
  const warnings: string[] = [];
  return { warnings, info: () => undefined, warn: (m) => warnings.push(m) };
}

export function destination(
  store: EtmStore,
  options: { transformMap?: string; rules?: string; logger?: Logger } = {},
): EtmDestination {
  return new EtmDestination(store, {
    transformMap: options.transformMap,
    rules: options.rules ? IdentificationRules.select(options.rules) : undefined,
    logger: options.logger ?? captureLogger(),
  });
}

/** As `destination`, its rules told the networks the store's connectors declared (as etm sync). */
export function openDestination(
  store: EtmStore,
  options: { transformMap?: string; rules?: string; logger?: Logger } = {},
): Promise<EtmDestination> {
  return EtmDestination.open(store, {
    transformMap: options.transformMap,
    rules: options.rules ? IdentificationRules.select(options.rules) : undefined,
    logger: options.logger ?? captureLogger(),
  });
}

export async function* asLines(lines: Iterable<string>): AsyncIterable<string> {
  for (const l of lines) yield l;
}

/** Runs messages through a fresh destination and consumer, as `etm sync` does. */
export async function consume(
  store: EtmStore,
  lines: Iterable<string>,
  options: {
    connector?: string;
    commitAtEnd?: boolean;
    transformMap?: string;
    rules?: string;
  } = {},
): Promise<ConsumeResult> {
  const consumer = new SyncConsumer(await openDestination(store, options), {
    connector: options.connector,
    commitAtEnd: options.commitAtEnd,
  });
  return consumer.consume(asLines(lines));
}

export async function dump(store: EtmStore): Promise<EtmRecord[]> {
  return [...(await collect(allAssets(store.sql))), ...(await collect(allFindings(store.sql)))];
}

export const assets = async (store: EtmStore): Promise<Record<string, unknown>[]> =>
  (await collect(allAssets(store.sql))).map((r) => r.record);
export const findings = async (store: EtmStore): Promise<Record<string, unknown>[]> =>
  (await collect(allFindings(store.sql))).map((r) => r.record);

export function recordMessage(stream: string, data: Record<string, unknown>): string {
  return JSON.stringify({ type: 'RECORD', record: { stream, data, emitted_at: 1741950000000 } });
}

export function stateMessage(state: unknown): string {
  return JSON.stringify({ type: 'STATE', state });
}

/** A Host List Detection host with no detections (src/records.ts shape). */
export function host(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { subscription: SUB_A, ID: 1001, VULNERABILITIES: [], ...overrides };
}

/** A detection with its QID_INFO join (src/records.ts shape). */
export function detection(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const qid = (overrides.QID as number | undefined) ?? 91234;
  return {
    UNIQUE_VULN_ID: 7712093341,
    QID: qid,
    TYPE: 'Confirmed',
    SEVERITY: 4,
    SSL: false,
    STATUS: 'Active',
    FIRST_FOUND_DATETIME: '2025-01-15T21:03:12Z',
    LAST_FOUND_DATETIME: '2025-03-13T22:18:40Z',
    QDS: { severity: 'HIGH', value: 75 },
    IS_IGNORED: false,
    QID_INFO: {
      qid: {
        qid,
        title: `QID ${qid}`,
        cveId: [],
        threatIntel: [],
        lastServiceModified: '2025-02-27T10:14:02Z',
      },
      corExploit: [],
    },
    ...overrides,
  };
}

/** Converts messages with a fresh throwaway store and returns the final records. */
export async function convertAll(
  lines: Iterable<string>,
  options: { transformMap?: string; rules?: string } = {},
): Promise<{
  assets: Record<string, unknown>[];
  findings: Record<string, unknown>[];
  result: ConsumeResult;
}> {
  const t = await tempStore();
  try {
    const result = await consume(t.store, lines, { ...options, commitAtEnd: true });
    return { assets: await assets(t.store), findings: await findings(t.store), result };
  } finally {
    await t.cleanup();
  }
}

export const detectionsRecord = (data: Record<string, unknown>): string =>
  recordMessage('host_detections', data);
export const hostsRecord = (data: Record<string, unknown>): string => recordMessage('hosts', data);

export type { AirbyteRecord };
