/**
 * The flat `detections` stream into the ETM store, as Airbyte runs it: `bin/main read` against
 * the simulator, its stdout piped into `bin/destination write` (both processes), on both
 * engines. Whoever picks detections + knowledge_base (+ hosts) gets the store host_detections
 * (+ hosts) gives: the same assets and findings, whatever the order of the streams; a purged
 * host's findings close through the detections stream's deletion record. They run lib/ — `npm
 * test` builds it first.
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import path from 'path';

import { EtmStore } from '../../src/etm/store/database';
import { ScanCycleReport, Simulator, startSimulator } from '../../src/simulator';
import { readStore, requireBuilt, sourceConfig, StoreContent } from './e2e';
import {
  onEachEngine,
  recordMessage,
  ROOT,
  stateMessage,
  SUB_A,
  tempDir,
  tempLocation,
  storeConfig,
} from './helpers';

const MAIN = path.join(ROOT, 'bin/main');
const DESTINATION = path.join(ROOT, 'bin/destination');

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A configured catalog of these streams, incremental, in this order. */
function catalog(streams: ReadonlyArray<string>): unknown {
  return {
    streams: streams.map((name) => ({
      stream: {
        name,
        json_schema: JSON.parse(
          fs.readFileSync(path.join(ROOT, 'resources/schemas', `${name}.json`), 'utf8'),
        ),
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: 'append_dedup',
    })),
  };
}

interface Exit {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function exited(child: ChildProcess): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) =>
    child.once('close', (status) => resolve({ status, stdout, stderr })),
  );
}

const messagesOf = (out: string): Message[] =>
  out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

const warnings = (messages: Message[]): string[] =>
  messages
    .filter((m) => m.type === 'LOG' && m.log.level === 'WARN')
    .map((m) => m.log.message as string);

/** Runs `bin/destination write` on these input lines. */
async function write(config: string, input: string[]): Promise<Message[]> {
  const child = spawn(
    process.execPath,
    [DESTINATION, 'write', '--config', config, '--catalog', writeJson('catalog', catalog([]))],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const done = exited(child);
  child.stdin?.end(`${input.join('\n')}\n`);
  const { status, stdout, stderr } = await done;
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  return messagesOf(stdout);
}

let scratch: string;
let files = 0;
function writeJson(name: string, content: unknown): string {
  const file = path.join(scratch, `${name}-${++files}.json`);
  fs.writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
  return file;
}

/** One connection: the source's streams (in catalog order) into one store. */
interface Connection {
  readonly streams: ReadonlyArray<string>;
  readonly db: string;
  readonly remove: () => Promise<void>;
  readonly destinationConfig: string;
  /** The last STATE of each stream the destination echoed, as the platform passes it back. */
  state?: Message[];
}

/**
 * A sync as the platform runs it: `bin/main read` piped into `bin/destination write`; the
 * destination's echoed states become the connection's state.
 */
async function sync(connection: Connection, source: string): Promise<Message[]> {
  const sourceCatalog = writeJson('catalog', catalog(connection.streams));
  const args = [MAIN, 'read', '--config', source, '--catalog', sourceCatalog];
  if (connection.state) args.push('--state', writeJson('state', connection.state));
  const reader = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const writer = spawn(
    process.execPath,
    [DESTINATION, 'write', '--config', connection.destinationConfig, '--catalog', sourceCatalog],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  reader.stdout?.pipe(writer.stdin as NodeJS.WritableStream);
  let readerErr = '';
  reader.stderr?.setEncoding('utf8').on('data', (s: string) => (readerErr += s));
  const [read, written] = await Promise.all([
    new Promise<number | null>((resolve) => reader.once('close', resolve)),
    exited(writer),
  ]);
  expect({ read, readerErr, status: written.status, stderr: written.stderr }).toEqual({
    read: 0,
    readerErr: '',
    status: 0,
    stderr: '',
  });
  const messages = messagesOf(written.stdout);
  const last = new Map<string, Message>(connection.state?.map((s) => [name(s), s]) ?? []);
  for (const m of messages) if (m.type === 'STATE') last.set(name(m.state), m.state);
  connection.state = [...last.values()];
  return messages;
}

const name = (state: Message): string => state.stream.stream_descriptor.name;

/** The store's records and its etm_findings view, the way a BI tool reads it. */
async function contents(db: string): Promise<StoreContent & { view: unknown[] }> {
  const store = await EtmStore.open(db, { readonly: true });
  try {
    const view = await store.sql.all(`SELECT * FROM etm_findings ORDER BY finding_key`);
    return { ...(await readStore(db)), view };
  } finally {
    await store.close();
  }
}

const NESTED = ['hosts', 'host_detections'];
const FLAT = ['hosts', 'knowledge_base', 'detections'];
const KNOWLEDGE_LAST = ['hosts', 'detections', 'knowledge_base'];
const HOSTS_LAST = ['detections', 'knowledge_base', 'hosts'];
const FLAT_ONLY = ['detections', 'knowledge_base'];

onEachEngine('the detections stream through bin/destination', (engine) => {
  let sim: Simulator;
  let source: string;
  const connections = new Map<ReadonlyArray<string>, Connection>();
  const before = new Map<ReadonlyArray<string>, StoreContent & { view: unknown[] }>();
  const connection = (streams: ReadonlyArray<string>): Connection =>
    connections.get(streams) as Connection;

  beforeAll(async () => {
    requireBuilt();
    scratch = tempDir();
    sim = await startSimulator({ hosts: 60, detectionsPerHost: 8, qids: 150, seed: 23 });
    source = sourceConfig(scratch, 'flat', sim);
    for (const streams of [NESTED, FLAT, KNOWLEDGE_LAST, HOSTS_LAST, FLAT_ONLY]) {
      const { db, remove } = tempLocation(engine);
      const destinationConfig = writeJson('destination', { store: storeConfig(engine, db) });
      const c: Connection = { streams, db, remove, destinationConfig };
      connections.set(streams, c);
      await sync(c, source);
      before.set(streams, await contents(db));
    }
  }, 180000);

  afterAll(async () => {
    await sim.close();
    for (const c of connections.values()) await c.remove();
  });

  test('hosts + knowledge_base + detections: the store hosts + host_detections give', () => {
    const nested = before.get(NESTED) as StoreContent & { view: unknown[] };
    // Not vacuous: every host, its detections, their knowledge and ATT&CK.
    expect(nested.assets).toHaveLength(60);
    expect(nested.findings.length).toBeGreaterThan(300);
    expect(nested.findings.every((f) => typeof f.findingName === 'string')).toBe(true);
    expect(nested.findings.some((f) => (f.mitreTactics as unknown[] | null)?.length)).toBe(true);
    expect(before.get(FLAT)).toEqual(nested);
  });

  test('knowledge_base after detections, or hosts after both, in the catalog: the same store', () => {
    expect(before.get(KNOWLEDGE_LAST)).toEqual(before.get(NESTED));
    // Hosts first known from their detections' few fields are completed by the Host List; the
    // hosts without detections come last (the store lists assets in the order it made them).
    const byKey = (c: StoreContent & { view: unknown[] }) => ({
      assets: [...c.assets].sort((a, b) => String(a.assetKey).localeCompare(String(b.assetKey))),
      findings: [...c.findings].sort((a, b) =>
        String(a.findingKey).localeCompare(String(b.findingKey)),
      ),
      view: c.view,
    });
    const nested = before.get(NESTED) as StoreContent & { view: unknown[] };
    const hostsLast = before.get(HOSTS_LAST) as StoreContent & { view: unknown[] };
    expect(hostsLast).not.toEqual(nested);
    expect(byKey(hostsLast)).toEqual(byKey(nested));
  });

  test('detections + knowledge_base without hosts: the same findings, and assets of the same hosts', () => {
    const nested = before.get(NESTED) as StoreContent & { view: unknown[] };
    const flat = before.get(FLAT_ONLY) as StoreContent & { view: unknown[] };
    expect(flat.findings).toEqual(nested.findings);
    expect(flat.view).toEqual(nested.view);
    // The host fields a detections record has are the asset's; the others need hosts, as
    // TruRisk does (it weighs the asset criticality the Host List gives).
    const shown = (a: Record<string, unknown>) => ({
      assetKey: a.assetKey,
      qualysHosts: a.qualysHosts,
      ipAddress: a.ipAddress,
      netBiosName: a.netBiosName,
      operatingSystemName: a.operatingSystemName,
      lastScannedOn: a.lastScannedOn,
    });
    // A host without detections is in no detections record.
    const found = new Set(nested.findings.map((f) => f.assetKey));
    expect(found.size).toBeLessThan(nested.assets.length);
    expect(flat.assets.map(shown)).toEqual(
      nested.assets.filter((a) => found.has(a.assetKey)).map(shown),
    );
  });

  describe('after a scan cycle that purges hosts', () => {
    let report: ScanCycleReport;

    beforeAll(async () => {
      report = sim.scanCycle({ hostFraction: 0.3, purgeFraction: 0.1 });
      for (const streams of [NESTED, FLAT, FLAT_ONLY]) await sync(connection(streams), source);
    }, 180000);

    test('an incremental sync gives the same store through either stream', async () => {
      const nested = await contents(connection(NESTED).db);
      expect(nested).not.toEqual(before.get(NESTED));
      expect(await contents(connection(FLAT).db)).toEqual(nested);
      const flat = await contents(connection(FLAT_ONLY).db);
      expect(flat.findings).toEqual(nested.findings);
      expect(flat.view).toEqual(nested.view);
    });

    test("the detections deletion record closes a purged host's findings", async () => {
      const purged = new Set(report.purgedHostIds.map(String));
      expect(purged.size).toBeGreaterThan(1);
      const { assets, findings } = await contents(connection(FLAT_ONLY).db);
      const ofPurged = (content: StoreContent) =>
        content.findings.filter((f) => purged.has(f.qualysHostId as string));
      const open = ofPurged(before.get(FLAT_ONLY) as StoreContent).filter(
        (f) => f.findingStatus !== 'FIXED',
      );
      expect(open.length).toBeGreaterThan(5);
      const now = ofPurged({ assets, findings });
      expect(now).toHaveLength(ofPurged(before.get(FLAT_ONLY) as StoreContent).length);
      for (const f of now) expect(f.findingStatus).toBe('FIXED');
      const purgedAt = new Date(sim.clock.nowIso()).toISOString();
      const purgedAssets = assets.filter((a) => a.purgedAt !== undefined);
      expect(
        purgedAssets.map((a) => (a.qualysHosts as { hostId: string }[])[0].hostId).sort(),
      ).toEqual([...purged].sort());
      for (const a of purgedAssets) expect(a).toMatchObject({ truRiskScore: 0, purgedAt });
    });
  });

  test('a detections record without HOST_ID or DETECTION_KEY is reported and skipped', async () => {
    const { db, remove } = tempLocation(engine);
    try {
      const config = writeJson('destination', { store: storeConfig(engine, db) });
      const detection = {
        subscription: SUB_A,
        HOST_ID: 1001,
        DETECTION_KEY: '7712093341',
        IP: '10.0.0.5',
        UNIQUE_VULN_ID: 7712093341,
        QID: 91234,
        SEVERITY: 4,
        STATUS: 'Active',
        LAST_FOUND_DATETIME: '2025-03-13T22:18:40Z',
      };
      const { HOST_ID: _id, ...noHost } = detection;
      const { DETECTION_KEY: _key, ...noKey } = detection;
      const out = await write(config, [
        recordMessage('detections', noHost),
        recordMessage('acme__qualys__detections', noKey),
        recordMessage('detections', detection),
        stateMessage({ n: 1 }),
      ]);
      expect(warnings(out)).toEqual([
        `skipped detections record ${SUB_A}/7712093341: detections record from subscription '${SUB_A}' has no HOST_ID`,
        `skipped acme__qualys__detections record ${SUB_A}/1001: detections record for host ${SUB_A}/1001 has no DETECTION_KEY`,
      ]);
      expect(out.filter((m) => m.type === 'STATE').map((m) => m.state)).toEqual([{ n: 1 }]);
      const { assets, findings } = await readStore(db);
      expect(assets.map((a) => [a.qualysHosts, a.ipAddress])).toEqual([
        [[{ subscription: SUB_A, hostId: '1001' }], '10.0.0.5'],
      ]);
      expect(findings.map((f) => [f.qualysHostId, f.externalFindingId])).toEqual([
        ['1001', '7712093341'],
      ]);
    } finally {
      await remove();
    }
  });
});
