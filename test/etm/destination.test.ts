/**
 * bin/destination, run as Airbyte runs it (spec, check, write with the source's messages on
 * stdin), on both engines. It runs lib/ — `npm test` builds it first.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import readline from 'readline';

import { Connectors } from '../../src/etm/store/connectors';
import { EtmStore } from '../../src/etm/store/database';
import { SCHEMA_VERSION } from '../../src/etm/store/schema';
import { headingAnchors } from '../markdown-anchors';
import { readStore, requireBuilt } from './e2e';
import {
  detection,
  detectionsRecord,
  fixtureLines,
  host,
  onEachEngine,
  ROOT,
  stateMessage,
  SUB_A,
  tempDir,
  tempLocation,
  storeConfig,
} from './helpers';

const DESTINATION = path.join(ROOT, 'bin/destination');
const A = fixtureLines('subscription-a.jsonl');
const B = fixtureLines('subscription-b.jsonl');
const EXPECTED = fixtureLines('expected/convert-a-b.jsonl').map((l) => JSON.parse(l));

interface Output {
  status: number | null;
  messages: Record<string, unknown>[];
  stderr: string;
}

function destination(args: string[], input?: string): Output {
  const r = spawnSync(process.execPath, [DESTINATION, ...args], {
    input,
    encoding: 'utf8',
    cwd: ROOT,
  });
  const messages = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
  return { status: r.status, messages, stderr: r.stderr };
}

const states = (o: Output): unknown[] =>
  o.messages.filter((m) => m.type === 'STATE').map((m) => m.state);
const inputStates = (lines: string[]): unknown[] =>
  lines
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'STATE')
    .map((m) => m.state);
const warnings = (o: Output): string[] =>
  o.messages
    .filter((m) => m.type === 'LOG' && (m.log as { level: string }).level === 'WARN')
    .map((m) => (m.log as { message: string }).message);

const dump = async (db: string): Promise<Record<string, unknown>[]> => {
  const { assets, findings } = await readStore(db);
  return [
    ...assets.map((record) => ({ model: 'etm_Asset', record })),
    ...findings.map((record) => ({ model: 'etm_Finding', record })),
  ];
};

beforeAll(requireBuilt);

describe('bin/destination spec', () => {
  test('a draft-07 spec with the store choices; the PostgreSQL password is a secret', () => {
    const out = destination(['spec']);
    expect(out.status).toBe(0);
    interface Schema {
      $schema?: string;
      const?: string;
      default?: string;
      airbyte_secret?: boolean;
      properties: Record<string, Schema>;
      oneOf: Schema[];
    }
    const { spec } = out.messages[0] as { spec: { connectionSpecification: Schema } };
    const conn = spec.connectionSpecification;
    expect(conn.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const stores = conn.properties.store.oneOf;
    expect(stores.map((s) => s.properties.type.const)).toEqual(['sqlite', 'postgres']);
    expect(stores[0].properties.path.default).toBe('/local/etm.db');
    expect(stores[1].properties.password.airbyte_secret).toBe(true);
    expect(JSON.stringify(spec)).not.toMatch(/\$ref|allOf/);
  });

  test("its documentationUrl is this project's destination section, which exists", () => {
    const { spec } = destination(['spec']).messages[0] as { spec: { documentationUrl: string } };
    const [page, anchor] = spec.documentationUrl.split('#');
    expect(page).toBe(
      'https://github.com/qualys-vmdr-dataflow/qualys-vmdr-dataflow/blob/main/docs/airbyte.md',
    );
    expect(headingAnchors(path.join(ROOT, 'docs/airbyte.md'))).toContain(anchor);
  });
});

describe('the images', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const stage = (name: string): string => {
    const at = dockerfile.search(new RegExp(`^FROM \\S+ AS ${name}$`, 'm'));
    const next = dockerfile.indexOf('\nFROM ', at + 1);
    return dockerfile.slice(at, next === -1 ? undefined : next);
  };

  test('the destination target runs bin/destination as Airbyte starts it', () => {
    const image = stage('destination');
    expect(image).toMatch(/^FROM node:20-bookworm-slim AS destination$/m);
    expect(image).toMatch(/^USER node$/m);
    expect(image).toMatch(/^LABEL io\.airbyte\.name=qualys-dataflow\/destination-qualys-etm$/m);
    const entrypoint = JSON.parse(
      (image.split('\n').find((l) => l.startsWith('ENTRYPOINT ')) as string).slice(11),
    ) as string[];
    expect(image.match(/^ENV AIRBYTE_ENTRYPOINT="(.*)"$/m)?.[1]).toBe(entrypoint.join(' '));
    expect(entrypoint).toEqual(['node', '/app/bin/destination']);
    const out = destination(['spec']);
    expect(out.messages[0].type).toBe('SPEC');
  });

  test('the source target ships no ETM code, store clients or simulator', () => {
    const tree = stage('source-tree');
    for (const gone of [
      'lib/etm',
      'lib/simulator',
      'node_modules/better-sqlite3',
      'node_modules/pg ',
    ])
      expect(tree).toContain(gone);
    expect(stage('source')).toMatch(/^RUN rm -f bin\/etm bin\/qualys-sim bin\/destination$/m);
    expect(stage('source')).toMatch(/^COPY --from=source-tree \/app\/lib \.\/lib$/m);
  });
});

onEachEngine('bin/destination', (engine) => {
  let dir: string;
  let db: string;
  let remove: () => Promise<void>;
  let config: string;
  const catalog = (): string => {
    const file = path.join(dir, 'catalog.json');
    fs.writeFileSync(file, JSON.stringify({ streams: [] }));
    return file;
  };
  const writeConfig = (extra: Record<string, unknown> = {}): string => {
    const file = path.join(dir, `config-${fs.readdirSync(dir).length}.json`);
    fs.writeFileSync(file, JSON.stringify({ store: storeConfig(engine, db), ...extra }));
    return file;
  };
  const write = (lines: string[], cfg = config): Output =>
    destination(['write', '--config', cfg, '--catalog', catalog()], `${lines.join('\n')}\n`);

  beforeEach(() => {
    dir = tempDir();
    ({ db, remove } = tempLocation(engine));
    config = writeConfig();
  });
  afterEach(async () => {
    await remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('check creates the store and succeeds; a bad config fails, naming what is wrong', async () => {
    expect(destination(['check', '--config', config]).messages).toEqual([
      { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } },
    ]);
    const store = await EtmStore.open(db, { readonly: true });
    expect(await store.getMeta('schema_version')).toBe(String(SCHEMA_VERSION));
    // The check wrote nothing that stays.
    expect(await store.getMeta('checked_at')).toBeUndefined();
    await store.close();
    const failed = (extra: Record<string, unknown>): unknown =>
      destination(['check', '--config', writeConfig(extra)]).messages[0];
    expect(failed({ identification_rules: [{ rule: 'fqdn', enabled: false }] })).toEqual({
      type: 'CONNECTION_STATUS',
      connectionStatus: {
        status: 'FAILED',
        message: expect.stringMatching(/^identification_rules: at least one identification rule/),
      },
    });
    expect(failed({ transform_map: '{"rows": [' })).toMatchObject({
      connectionStatus: {
        status: 'FAILED',
        message: expect.stringMatching(/^transform_map is not JSON/),
      },
    });
  });

  test('write: the exact ETM records of both subscriptions; every STATE echoed, in order', async () => {
    const a = write(A);
    expect(a.status).toBe(0);
    expect(states(a)).toEqual(inputStates(A));
    // The config is logged, its secret redacted.
    const password = (storeConfig(engine, db).password as string | undefined) ?? 'no password';
    expect(JSON.stringify(a.messages) + a.stderr).not.toContain(password);
    expect(JSON.stringify(a.messages)).toMatch(engine === 'postgres' ? /REDACTED/ : /sqlite/);
    const b = write(B);
    expect(b.status).toBe(0);
    expect(states(b)).toEqual(inputStates(B));
    expect(await dump(db)).toEqual(EXPECTED);
    const store = await EtmStore.open(db, { readonly: true });
    const connectors = await new Connectors(store.sql).list();
    await store.close();
    expect(connectors.map((c) => [c.name, c.status, c.last_error])).toEqual([
      [SUB_A, 'Processed', null],
      ['secops@qualysapi.qg3.apps.qualys.com', 'Processed', null],
    ]);
  });

  test('records re-delivered after a failed attempt change nothing', async () => {
    // The first attempt dies after its second STATE; the platform resumes from the last
    // echoed state, and the source sends the records after it — and some before, again.
    const cut = A.findIndex((l, i) => i > 0 && JSON.parse(l).type === 'STATE');
    write(A.slice(0, cut + 3));
    write(A.slice(1));
    write(B);
    write(B);
    expect(await dump(db)).toEqual(EXPECTED);
  });

  test('a record it cannot use is reported (stream, key, why) and skipped; the others are kept', async () => {
    const bad = JSON.stringify({
      type: 'RECORD',
      record: { stream: 'host_detections', data: { ID: 4242 }, emitted_at: 1 },
    });
    const out = write([bad, ...A]);
    expect(out.status).toBe(0);
    expect(warnings(out)).toContain(
      'skipped host_detections record 4242: host_detections record (ID 4242) has no subscription label',
    );
    expect(states(out)).toEqual(inputStates(A));
    write(B);
    expect(await dump(db)).toEqual(EXPECTED);
  });

  test("the first checkpoint's findings name their run in their status history", async () => {
    const out = write([
      detectionsRecord(host({ ID: 1, VULNERABILITIES: [detection({ QID: 1 })] })),
      stateMessage({ n: 1 }),
      detectionsRecord(host({ ID: 2, VULNERABILITIES: [detection({ QID: 2 })] })),
      stateMessage({ n: 2 }),
    ]);
    expect(out.status).toBe(0);
    const store = await EtmStore.open(db, { readonly: true });
    const history = await store.sql.all<{ host_id: string; run: number | null; connector: string }>(
      `SELECT h.host_id, fh.run, r.connector
         FROM finding_history fh JOIN findings f ON f.id = fh.finding
         JOIN asset_hosts h ON h.seq = f.host_seq LEFT JOIN runs r ON r.id = fh.run
        ORDER BY h.host_id`,
    );
    await store.close();
    expect(history.map((h) => [String(h.host_id), Number(h.run), h.connector])).toEqual([
      ['1', 1, SUB_A],
      ['2', 1, SUB_A],
    ]);
  });

  test('each STATE is echoed only once the records before it are committed', async () => {
    const child = spawn(
      process.execPath,
      [DESTINATION, 'write', '--config', config, '--catalog', catalog()],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const echoed = nextState(child);
    const first = [
      detectionsRecord(host({ ID: 1, VULNERABILITIES: [detection({ QID: 1 })] })),
      stateMessage({ n: 1 }),
    ];
    child.stdin?.write(`${first.join('\n')}\n`);
    expect(await echoed()).toEqual({ n: 1 });
    // The destination still runs, its input open: what it echoed is in the store already.
    expect((await readStore(db)).findings.map((f) => f.sourceVulnerabilityId)).toEqual(['1']);
    child.stdin?.write(
      `${[detectionsRecord(host({ ID: 2, VULNERABILITIES: [detection({ QID: 2 })] })), stateMessage({ n: 2 })].join('\n')}\n`,
    );
    expect(await echoed()).toEqual({ n: 2 });
    expect((await readStore(db)).findings).toHaveLength(2);
    child.stdin?.end();
    await new Promise((resolve) => child.once('close', resolve));
  });
});

/** Resolves, call by call, to the state of each STATE message the child prints. */
function nextState(child: ChildProcess): () => Promise<unknown> {
  const queue: unknown[] = [];
  const waiting: ((s: unknown) => void)[] = [];
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const msg = JSON.parse(line);
    if (msg.type !== 'STATE') return;
    const waiter = waiting.shift();
    if (waiter) waiter(msg.state);
    else queue.push(msg.state);
  });
  return () =>
    queue.length > 0
      ? Promise.resolve(queue.shift())
      : new Promise((resolve) => waiting.push(resolve));
}
