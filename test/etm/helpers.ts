/** Shared test helpers for the ETM half: temp stores, record builders, running the consumer. */
import fs from 'fs';
import os from 'os';
import path from 'path';

import { AirbyteRecord, Logger } from '../../src/etm/converter';
import { EtmDestination } from '../../src/etm/destination';
import { IdentificationRules } from '../../src/etm/identification-rules';
import { EtmStore } from '../../src/etm/store/database';
import { allAssets, allFindings, EtmRecord } from '../../src/etm/store/reader';
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

/** A store in a fresh temp dir; the dir is removed by `cleanup`. */
export function tempStore(): { store: EtmStore; file: string; cleanup: () => void } {
  const dir = tempDir();
  const file = path.join(dir, 'etm.db');
  const store = EtmStore.open(file);
  return {
    store,
    file,
    cleanup: () => {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
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
  const consumer = new SyncConsumer(destination(store, options), {
    connector: options.connector,
    commitAtEnd: options.commitAtEnd,
  });
  return consumer.consume(asLines(lines));
}

export function dump(store: EtmStore): EtmRecord[] {
  return [...allAssets(store.db), ...allFindings(store.db)];
}

export const assets = (store: EtmStore): Record<string, unknown>[] =>
  [...allAssets(store.db)].map((r) => r.record);
export const findings = (store: EtmStore): Record<string, unknown>[] =>
  [...allFindings(store.db)].map((r) => r.record);

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
  const t = tempStore();
  try {
    const result = await consume(t.store, lines, { ...options, commitAtEnd: true });
    return { assets: assets(t.store), findings: findings(t.store), result };
  } finally {
    t.cleanup();
  }
}

export const detectionsRecord = (data: Record<string, unknown>): string =>
  recordMessage('host_detections', data);
export const hostsRecord = (data: Record<string, unknown>): string => recordMessage('hosts', data);

export type { AirbyteRecord };
