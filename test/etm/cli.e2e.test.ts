/**
 * End-to-end: bin/etm run as a process. `etm sync` and `etm run` drive a stand-in source
 * (test_files/etm/fake-source.js) that replays fixtures in the source's exact message shapes;
 * the same tests against the real bin/main and the simulator come with those.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import zlib from 'zlib';

import { FIXTURES, onEachEngine, ROOT, SUB_A, SUB_B, tempDir, tempLocation } from './helpers';

const ETM = path.join(ROOT, 'bin/etm');
const FAKE_SOURCE = path.join(FIXTURES, 'fake-source.js');
const PASSWORD_A = 's3cr3t-A-pa55';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function etm(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [ETM, ...args], { input, encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const jsonLines = (text: string): { model: string; record: Record<string, unknown> }[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

/** A source config for the fake source: the fixture's subscription plus test knobs. */
function config(
  dir: string,
  name: string,
  fixture: 'a' | 'b',
  knobs: Record<string, unknown> = {},
): string {
  const base = JSON.parse(
    fs.readFileSync(path.join(FIXTURES, `sub-${fixture}.config.json`), 'utf8'),
  );
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ ...base, ...knobs }));
  return file;
}

/** `etm sync` of subscription A alone, by the fake source with `knobs`, into `db`. */
function syncA(dir: string, db: string, knobs?: Record<string, unknown>): Run {
  return etm([
    'sync',
    '--config',
    config(dir, 'a.json', 'a', knobs),
    '--db',
    db,
    '--source',
    FAKE_SOURCE,
  ]);
}

function dumpStore(db: string): unknown[] {
  const assets = etm(['query', '--db', db, '--format', 'json', 'inventory: (source: VMDR)']);
  const findings = etm([
    'query',
    '--db',
    db,
    '--format',
    'json',
    'finding.vendorProductName: VMDR',
  ]);
  expect(assets.status).toBe(0);
  expect(findings.status).toBe(0);
  return [...jsonLines(assets.stdout), ...jsonLines(findings.stdout)];
}

function statusOf(db: string): Record<string, Record<string, unknown>> {
  const r = etm(['status', '--db', db, '--format', 'json']);
  expect(r.status).toBe(0);
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return Object.fromEntries(rows.map((c) => [c.name as string, c]));
}

describe('etm convert', () => {
  test('Airbyte messages in → the exact final ETM records out', () => {
    const input = ['subscription-a.jsonl', 'subscription-b.jsonl']
      .map((f) => fs.readFileSync(path.join(FIXTURES, f), 'utf8'))
      .join('');
    const r = etm(['convert'], input);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const expected = fs.readFileSync(path.join(FIXTURES, 'expected/convert-a-b.jsonl'), 'utf8');
    expect(jsonLines(r.stdout)).toEqual(jsonLines(expected));
  });

  test('another map and other rules change the output', () => {
    const dir = tempDir();
    const map = path.join(dir, 'map.json');
    fs.writeFileSync(map, JSON.stringify({ rows: [{ target: 'tags', drop: true }] }));
    const input = fs.readFileSync(path.join(FIXTURES, 'subscription-b.jsonl'), 'utf8');
    const r = etm(
      ['convert', '--transform-map', map, '--identification-rules', 'ipAddress'],
      input,
    );
    expect(r.status).toBe(0);
    const assets = jsonLines(r.stdout).filter((m) => m.model === 'etm_Asset');
    expect(assets).toHaveLength(3);
    for (const a of assets) {
      expect(a.record).not.toHaveProperty('tags');
      expect(a.record.identifiedBy).toBe('ipAddress');
    }
  });

  test('a bad map or rule list is refused before reading anything', () => {
    const dir = tempDir();
    const map = path.join(dir, 'bad.json');
    fs.writeFileSync(
      map,
      JSON.stringify({ rows: [{ source: 'IP', target: 'ip', normaliser: 'text' }] }),
    );
    const bad = etm(['convert', '--transform-map', map], '');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /etm: bad\.json row 1 \('IP' → ip\): unknown target attribute 'ip' of etm_Asset/,
    );
    const none = etm(['convert', '--identification-rules', ','], '');
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/at least one identification rule must stay on/);
  });

  test('input that reports a failure exits 1 and says so', () => {
    const trace = JSON.stringify({
      type: 'TRACE',
      trace: { type: 'ERROR', error: { message: 'boom' } },
    });
    const r = etm(['convert'], `${trace}\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/input failure: boom/);
  });
});

onEachEngine('etm sync, status, query', () => {
  let dir: string;
  let db: string;
  let removeStore: () => Promise<void>;
  let sync: Run;

  afterAll(async () => {
    await removeStore();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(() => {
    dir = tempDir();
    ({ db, remove: removeStore } = tempLocation());
    const probe = path.join(dir, 'probe.json');
    sync = etm([
      'sync',
      '--config',
      config(dir, 'a.json', 'a', { probe_file: probe }),
      '--config',
      config(dir, 'b.json', 'b'),
      '--db',
      db,
      '--source',
      FAKE_SOURCE,
    ]);
  });

  test('syncs both subscriptions and prints a summary of each', () => {
    expect(sync.status).toBe(0);
    expect(sync.stdout).toMatch(new RegExp(`${SUB_A}: 5 records, 3 checkpoints`));
    expect(sync.stdout).toMatch(/store now: +2 assets \(\+2\), 7 findings \(\+7\), 5 open \(\+5\)/);
    expect(sync.stdout).toMatch(new RegExp(`${SUB_B}: 6 records, 2 checkpoints`));
    expect(sync.stdout).toMatch(/assets: +1 new, 2 hosts joined known assets/);
    expect(sync.stdout).toMatch(
      /findings by status: +ACTIVE 2, FIXED 1, NEW 3, NONE 1, REOPENED 1/,
    );
    expect(sync.stderr).toMatch(/etm: jdoe@qualysapi\.qg2\.apps\.qualys\.com: 5 records/);
  });

  test('merges: the summary counts joins per rule; etm merges lists each with its value', () => {
    expect(sync.stdout).toMatch(/joins by rule: +cloudInstanceId 1, fqdn 1\n/);
    const r = etm(['merges', '--db', db, '--format', 'json']);
    expect(r.status).toBe(0);
    const merges = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(merges.map(({ mergedAt: _at, assetKey: _key, ...m }) => m)).toEqual([
      {
        kind: 'joined',
        host: { subscription: SUB_B, hostId: '5501' },
        matched: { subscription: SUB_A, hostId: '148312001' },
        rule: 'fqdn',
        value: 'app01.corp.example.com',
      },
      {
        kind: 'joined',
        host: { subscription: SUB_B, hostId: '7702' },
        matched: { subscription: SUB_A, hostId: '148312057' },
        rule: 'cloudInstanceId',
        value: 'i-0a1b2c3d4e5f60718',
      },
    ]);
    const table = etm(['merges', '--db', db, '--rule', 'fqdn']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ASSET +KIND +HOST +MATCHED HOST +RULE +VALUE +AT$/,
    );
    expect(table.stdout).toContain(`${SUB_B}/5501`);
    expect(table.stdout).not.toContain('7702');
    expect(table.stderr).toBe('1 merge\n');
    const bad = etm(['merges', '--db', db, '--rule', 'macAddress']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--rule: unknown identification rule 'macAddress'/);
  });

  test('overlapping hosts of two subscriptions give the merged asset count', () => {
    const r = etm(['query', '--db', db, '--format', 'json', 'inventory: (source: `VMDR`)']);
    expect(jsonLines(r.stdout)).toHaveLength(3);
  });

  test('the store equals what etm convert makes of the same messages', () => {
    const expected = jsonLines(
      fs.readFileSync(path.join(FIXTURES, 'expected/convert-a-b.jsonl'), 'utf8'),
    );
    expect(dumpStore(db)).toEqual(expected);
  });

  test('status: each connector Processed, with its timestamps and last run', () => {
    const status = statusOf(db);
    expect(Object.keys(status)).toEqual([SUB_A, SUB_B]);
    for (const c of Object.values(status)) {
      expect(c).toMatchObject({
        status: 'Processed',
        last_error: null,
        base_url: expect.stringMatching(/^https:/),
      });
      for (const stamp of [
        'registered_at',
        'scheduled_at',
        'processing_at',
        'processed_at',
        'state_saved_at',
      ]) {
        expect(c[stamp]).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
      }
      expect(c.last_run).toMatchObject({ status: 'Processed' });
    }
    const table = etm(['status', '--db', db]);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^CONNECTOR +STATUS +SINCE +PROFILE +LAST RUN +RECORDS +NEXT RUN +ERROR$/,
    );
    expect(table.stdout).toMatch(new RegExp(`${SUB_B} +Processed `));
  });

  test('query: table and json, conditions, limits, clear errors', () => {
    const table = etm([
      'query',
      '--db',
      db,
      'finding.vendorProductName: VMDR and finding.findingSeverity >= 4',
    ]);
    expect(table.status).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^assetKey +assetName +ipAddress +sourceVulnerabilityId +findingName +findingSeverity/,
    );
    expect(table.stdout.trimEnd().split('\n').pop()).toBe('(4 of 4 findings)');
    expect(table.stderr).toBe('');
    const severe = etm(['query', '--db', db, '--format', 'json', 'asset.truRiskBand: SEVERE']);
    expect(severe.stdout).toBe('');
    const limited = etm([
      'query',
      '--db',
      db,
      '--format',
      'json',
      '--limit',
      '2',
      'finding.vendorProductName: VMDR',
    ]);
    expect(jsonLines(limited.stdout)).toHaveLength(2);
    const unknown = etm(['query', '--db', db, 'finding.severity >= 4']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(
      /etm: query: unknown field finding\.severity \(etm_Finding fields: /,
    );
    const noStore = etm(['query', '--db', path.join(dir, 'none.db'), 'inventory: (source: VMDR)']);
    expect(noStore.status).toBe(1);
    expect(noStore.stderr).toMatch(/cannot open ETM store .*none\.db/);
  });

  test('query: csv of chosen columns, findings named by their asset; a limited table counts all', () => {
    const q = 'finding.vendorProductName: VMDR and finding.findingSeverity >= 4';
    const assets = new Map(
      jsonLines(
        etm(['query', '--db', db, '--format', 'json', 'inventory: (source: VMDR)']).stdout,
      ).map((a) => [a.record.assetKey, a.record]),
    );
    const found = jsonLines(etm(['query', '--db', db, '--format', 'json', q]).stdout);
    expect(found).toHaveLength(4);
    const csv = etm([
      'query',
      '--db',
      db,
      '--format',
      'csv',
      '--columns',
      'assetName,ipAddress,sourceVulnerabilityId',
      q,
    ]);
    expect(csv.status).toBe(0);
    expect(csv.stdout).toBe(
      [
        'assetName,ipAddress,sourceVulnerabilityId',
        ...found.map((f) => {
          const a = assets.get(f.record.assetKey) as Record<string, unknown>;
          return [a.assetName ?? '', a.ipAddress ?? '', f.record.sourceVulnerabilityId].join(',');
        }),
        '',
      ].join('\n'),
    );
    const limited = etm(['query', '--db', db, '--limit', '2', q]);
    expect(limited.stdout.trimEnd().split('\n').pop()).toBe('(2 of 4 findings)');
  });

  test('the source is run with a private catalog of all three streams, incremental, append_dedup', () => {
    const probe = JSON.parse(fs.readFileSync(path.join(dir, 'probe.json'), 'utf8'));
    expect(probe.catalogStreams).toEqual([
      ['hosts', 'incremental', 'append_dedup'],
      ['detections', 'incremental', 'append_dedup'],
      ['knowledge_base', 'incremental', 'append_dedup'],
    ]);
    expect(probe.modes.catalog).toBe('600');
    expect(probe.state).toBeNull();
    const catalog = probe.args[probe.args.indexOf('--catalog') + 1];
    expect(fs.existsSync(catalog)).toBe(false);
    expect(fs.existsSync(path.dirname(catalog))).toBe(false);
  });

  test('a second sync passes the stored state back, host_detections part as detections, and changes nothing', () => {
    const probe = path.join(dir, 'probe2.json');
    const again = etm([
      'sync',
      '--config',
      config(dir, 'a2.json', 'a', { probe_file: probe }),
      '--db',
      db,
      '--source',
      FAKE_SOURCE,
    ]);
    expect(again.status).toBe(0);
    const seen = JSON.parse(fs.readFileSync(probe, 'utf8'));
    const last = JSON.parse(
      fs
        .readFileSync(path.join(FIXTURES, 'subscription-a.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .pop() as string,
    );
    // The fixture is an older etm's source: its legacy blob keys the detections' state
    // host_detections, which etm now hands to the detections stream it reads instead.
    const { host_detections: detections, ...rest } = JSON.parse(
      zlib.gunzipSync(Buffer.from(last.state.data.data, 'base64')).toString('utf8'),
    );
    expect(detections).toBeDefined();
    expect(seen.state).toEqual({ ...rest, detections });
    expect(seen.modes.state).toBe('600');
    expect(again.stdout).toMatch(/0 records, 0 checkpoints/);
    expect(dumpStore(db)).toHaveLength(11);
  });
});

describe('failures', () => {
  test('a source error: connector Failed, staged data rolled back, committed data kept, no password anywhere', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    // Line 5 is the first host_detections record, after the hosts checkpoint.
    const r = syncA(dir, db, { fail_after_line: 5 });
    expect(r.status).toBe(1);
    // The reason leads; the counts of what was committed follow.
    expect(r.stdout.split('\n')[0]).toBe(
      `${SUB_A}: FAILED: Qualys said no (user jdoe, password ***)`,
    );
    expect(r.stdout).toMatch(
      new RegExp(`\n${SUB_A.replace(/\./g, '\\.')}: 3 records, 1 checkpoints`),
    );
    const status = statusOf(db)[SUB_A];
    expect(status).toMatchObject({
      status: 'Failed',
      last_error: expect.stringMatching(/Qualys said no/),
    });
    expect(status.failed_at).toEqual(expect.stringMatching(/^\d{4}-/));
    expect(status.last_run).toMatchObject({ status: 'Failed' });
    const records = dumpStore(db) as { model: string }[];
    expect(records.filter((m) => m.model === 'etm_Asset')).toHaveLength(2);
    expect(records.filter((m) => m.model === 'etm_Finding')).toHaveLength(0);
    for (const text of [r.stdout, r.stderr, etm(['status', '--db', db]).stdout])
      expect(text).not.toContain(PASSWORD_A);
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('etm.db'))) {
      expect(fs.readFileSync(path.join(dir, f)).includes(PASSWORD_A)).toBe(false);
    }
  });

  test('a failure before any record prints the reason alone; status shows the whole error', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    const r = syncA(dir, db, { fail_after_line: 1 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`${SUB_A}: FAILED: Qualys said no (user jdoe, password ***)\n`);
    const table = etm(['status', '--db', db]).stdout;
    expect(table).toContain(`\n${SUB_A} (Failed): Qualys said no (user jdoe, password ***)\n`);
  });

  test('a source that exits non-zero fails the connector', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    const r = syncA(dir, db, { exit_code: 3 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED: source exited with code 3/);
    expect(statusOf(db)[SUB_A].status).toBe('Failed');
  });

  test('a source stopped by Ctrl-C mid-line: the stop is the failure, not the cut line', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    const r = syncA(dir, db, { cut_after_line: 3 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED: .*source exited with SIGINT/);
    expect(r.stdout + r.stderr).not.toMatch(/not an Airbyte message/);
    expect(statusOf(db)[SUB_A].status).toBe('Failed');
  });

  test('a source that ends on a line that is not a message fails the connector, saying so', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    const fixture = path.join(dir, 'cut.jsonl');
    const lines = fs
      .readFileSync(path.join(FIXTURES, 'subscription-a.jsonl'), 'utf8')
      .trim()
      .split('\n');
    fs.writeFileSync(fixture, `${lines.slice(0, 3).join('\n')}\n{"type":"RECO\n`);
    const r = syncA(dir, db, { fixture });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /FAILED: the source wrote a line that is not an Airbyte message: \{"type":"RECO/,
    );
  });

  test('a config without subscription, base_url or username is refused by name', () => {
    const dir = tempDir();
    const file = path.join(dir, 'anon.json');
    fs.writeFileSync(file, JSON.stringify({ password: PASSWORD_A }));
    const r = etm([
      'sync',
      '--config',
      file,
      '--db',
      path.join(dir, 'etm.db'),
      '--source',
      FAKE_SOURCE,
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /source config .*anon\.json: set "subscription", or "base_url" and "username"/,
    );
    expect(r.stderr).not.toContain(PASSWORD_A);
  });
});

describe('a sync killed between two checkpoints', () => {
  test('re-run from the stored state, gives the same store as one clean run', async () => {
    const dir = tempDir();
    const clean = path.join(dir, 'clean.db');
    expect(syncA(dir, clean).status).toBe(0);

    const killed = path.join(dir, 'killed.db');
    // Pause after line 6: the hosts checkpoint is committed, two host_detections records staged.
    const paused = config(dir, 'paused.json', 'a', { pause_after_line: 6 });
    const child: ChildProcess = spawn(
      process.execPath,
      [ETM, 'sync', '--config', paused, '--db', killed, '--source', FAKE_SOURCE],
      { cwd: ROOT, detached: true, stdio: 'ignore' },
    );
    try {
      await waitFor(() => {
        const c = fs.existsSync(killed) ? statusOf(killed)[SUB_A] : undefined;
        return !!c?.state_saved_at && dumpStore(killed).length === 2;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      // SIGKILL the whole group: etm and the source it started.
      process.kill(-(child.pid as number), 'SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    expect(statusOf(killed)[SUB_A]).toMatchObject({ status: 'Processing', interrupted: true });
    expect(etm(['status', '--db', killed]).stdout).toMatch(/Processing \(interrupted\)/);

    const rerun = syncA(dir, killed);
    expect(rerun.status).toBe(0);
    expect(dumpStore(killed)).toEqual(dumpStore(clean));
    const status = statusOf(killed)[SUB_A];
    expect(status.status).toBe('Processed');
    expect(status.last_run).toMatchObject({ status: 'Processed' });
  }, 60000);
});

onEachEngine('connector lifecycle', () => {
  const removals: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const remove of removals.splice(0)) await remove();
  });
  /** A fresh store of the suite's engine, removed after the suite. */
  const store = (): string => {
    const { db, remove } = tempLocation();
    removals.push(remove);
    return db;
  };

  /** `etm sync` of A that stops writing after `line` and waits, until the test stops it. */
  async function pausedSync(dir: string, db: string, line = 6): Promise<ChildProcess> {
    const paused = config(dir, 'paused.json', 'a', { pause_after_line: line });
    const child = spawn(
      process.execPath,
      [ETM, 'sync', '--config', paused, '--db', db, '--source', FAKE_SOURCE],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await waitFor(() => {
      // Until the sync has created the store, status refuses it.
      const r = etm(['status', '--db', db, '--format', 'json']);
      if (r.status !== 0) return false;
      const c = r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((row) => row.name === SUB_A);
      return c?.status === 'Processing' && !!c.state_saved_at;
    });
    return child;
  }

  const output = (child: ChildProcess) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => (stdout += c));
    child.stderr?.on('data', (c) => (stderr += c));
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    return { exit, text: () => ({ stdout, stderr }) };
  };

  test('Ctrl-C: Interrupted, "run again to resume", and the next sync resumes to the clean result', async () => {
    const dir = tempDir();
    const clean = store();
    expect(syncA(dir, clean).status).toBe(0);
    const db = store();
    const child = await pausedSync(dir, db);
    const out = output(child);
    child.kill('SIGINT');
    expect(await out.exit).toBe(130);
    expect(out.text().stdout.split('\n')[0]).toBe(`${SUB_A}: interrupted; run again to resume`);
    expect(out.text().stderr).toMatch(/etm: interrupted; run again to resume\n$/);
    expect(out.text().stdout + out.text().stderr).not.toMatch(/SIGTERM|SIGINT|FAILED/);
    expect(statusOf(db)[SUB_A]).toMatchObject({
      status: 'Interrupted',
      interrupted_at: expect.stringMatching(/^\d{4}-/),
      last_run: expect.objectContaining({ status: 'Interrupted' }),
    });
    expect(syncA(dir, db).status).toBe(0);
    expect(dumpStore(db)).toEqual(dumpStore(clean));
  }, 60000);

  test('one sync per connector: a second sync, a reset or a remove is refused while one runs', async () => {
    const dir = tempDir();
    const db = store();
    const child = await pausedSync(dir, db);
    const out = output(child);
    try {
      const busy = new RegExp(
        `connector ${SUB_A.replace(/\./g, '\\.')} is being synced by another etm process \\(pid ${child.pid}, since \\d{4}-[^)]+\\); wait for it to finish or stop it`,
      );
      const second = syncA(dir, db);
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(busy);
      expect(second.stdout).toBe('');
      for (const args of [
        ['reset', SUB_A],
        ['remove', SUB_A],
      ]) {
        const r = etm([...args, '--db', db]);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(busy);
      }
      expect(statusOf(db)[SUB_A]).toMatchObject({ status: 'Processing', interrupted: false });
    } finally {
      child.kill('SIGINT');
      await out.exit;
    }
  }, 60000);

  test('reset: the next sync reads everything again; --stream forgets one stream', () => {
    const dir = tempDir();
    const db = store();
    const probe = path.join(dir, 'probe.json');
    expect(syncA(dir, db).status).toBe(0);
    const one = etm(['reset', SUB_A, '--stream', 'host_detections', '--db', db]);
    expect(one.stdout).toBe(
      `${SUB_A}: host_detections state cleared; the next sync reads that stream again\n`,
    );
    expect(syncA(dir, db, { probe_file: probe }).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(probe, 'utf8')).state).toEqual({
      hosts: { cutoff: '2025-03-14T09:12:44Z' },
      knowledge_base: { lastModified: '2025-03-14T08:00:00Z' },
    });
    const all = etm(['reset', SUB_A, '--db', db]);
    expect(all.stdout).toBe(`${SUB_A}: state cleared; the next sync reads everything again\n`);
    expect(statusOf(db)[SUB_A].state_saved_at).toBeNull();
    expect(syncA(dir, db, { probe_file: probe }).stdout).toMatch(`${SUB_A}: 5 records`);
    expect(JSON.parse(fs.readFileSync(probe, 'utf8')).state).toBeNull();
    const bad = etm(['reset', SUB_A, '--stream', 'detections', '--db', db]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /--stream: connector .* has no state for stream 'detections' \(it has: hosts, host_detections, knowledge_base\)/,
    );
    const unknown = etm(['reset', 'nobody', '--db', db]);
    expect(unknown.stderr).toMatch(
      new RegExp(`no connector 'nobody' \\(connectors: ${SUB_A.replace(/\./g, '\\.')}\\)`),
    );
  });

  test("remove: a connector's data goes; the store equals one that never synced it", () => {
    const dir = tempDir();
    const both = store();
    const aOnly = store();
    expect(syncA(dir, aOnly).status).toBe(0);
    const r = etm([
      'sync',
      '--config',
      config(dir, 'a.json', 'a'),
      '--config',
      config(dir, 'b.json', 'b'),
      '--db',
      both,
      '--source',
      FAKE_SOURCE,
    ]);
    expect(r.status).toBe(0);
    const removed = etm(['remove', SUB_B, '--db', both]);
    expect(removed.status).toBe(0);
    expect(removed.stdout).toBe(
      `${SUB_B} removed: 3 hosts, 4 findings, 1 assets; 2 assets other connectors share kept\n`,
    );
    expect(dumpStore(both)).toEqual(dumpStore(aOnly));
    expect(Object.keys(statusOf(both))).toEqual([SUB_A]);
    expect(etm(['merges', '--db', both, '--format', 'json']).stdout).toBe('');
  });
});

describe('arguments', () => {
  test('etm serve on a PostgreSQL server that does not answer names the store, not its password', () => {
    const r = etm(['serve', '--db', 'postgres://etm:pw@127.0.0.1:1/etm?schema=x', '--port', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /cannot open ETM store postgres:\/\/etm:\*\*\*@127\.0\.0\.1:1\/etm\?schema=x: .*ECONNREFUSED/,
    );
    expect(r.stderr).not.toMatch(/pw/);
  });

  test('etm sync without --config is an error, not an empty store', () => {
    const dir = tempDir();
    const r = etm(['sync', '--db', path.join(dir, 'etm.db')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--config is required/);
    expect(fs.existsSync(path.join(dir, 'etm.db'))).toBe(false);
  });
});

describe('etm run --profile', () => {
  function profile(dir: string, doc: Record<string, unknown>): string {
    const file = path.join(dir, 'profile.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ name: 'Prod VMDR', description: 'test', status: 'Active', ...doc }),
    );
    return file;
  }

  test('a single occurrence in the past runs once, with the profile filters laid over the config', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    const probe = path.join(dir, 'probe.json');
    config(dir, 'a.json', 'a', { probe_file: probe });
    const file = profile(dir, {
      subscriptions: [
        {
          config: 'a.json',
          filters: { severities: [4, 5], tag_filter: 'eval-214027-test, exec-220563' },
        },
      ],
      identificationRules: ['fqdn', 'qualysHostId'],
      schedule: { at: '2020-01-01T00:00:00Z' },
    });
    const r = etm(['run', '--profile', file, '--db', db, '--source', FAKE_SOURCE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/profile Prod VMDR: schedule complete/);
    const seen = JSON.parse(fs.readFileSync(probe, 'utf8'));
    expect(seen.config).toMatchObject({
      severities: [4, 5],
      tag_filter: 'eval-214027-test, exec-220563',
      username: 'jdoe',
    });
    expect(seen.modes.config).toBe('600');
    expect(statusOf(db)[SUB_A]).toMatchObject({
      // The schedule has no more runs: the connector shows its last result.
      status: 'Processed',
      profile: 'Prod VMDR',
      next_run_at: null,
      scheduled_at: expect.stringMatching(/^\d{4}-/),
      last_run: { status: 'Processed' },
    });
    // Already ran: a second invocation does nothing.
    const again = etm(['run', '--profile', file, '--db', db, '--source', FAKE_SOURCE]);
    expect(again.stdout).toMatch(/schedule complete/);
    expect(again.stderr).not.toMatch(/next run/);
  });

  test('a recurring schedule runs until its end', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    config(dir, 'a.json', 'a');
    const start = new Date(Date.now() + 500);
    const file = profile(dir, {
      subscriptions: [{ config: 'a.json' }],
      schedule: {
        start: start.toISOString(),
        end: new Date(start.getTime() + 2500).toISOString(),
        every: '1s',
      },
    });
    const r = etm(['run', '--profile', file, '--db', db, '--source', FAKE_SOURCE]);
    expect(r.status).toBe(0);
    const runs = (r.stderr.match(/next run at/g) ?? []).length;
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(r.stdout.match(/5 records|0 records/g)?.length).toBe(runs);
  }, 30000);

  test('an Inactive profile registers its connectors and schedules nothing', () => {
    const dir = tempDir();
    const db = path.join(dir, 'etm.db');
    config(dir, 'a.json', 'a');
    config(dir, 'b.json', 'b');
    const file = profile(dir, {
      status: 'Inactive',
      subscriptions: [{ config: 'a.json' }, { config: 'b.json' }],
      schedule: { at: '2020-01-01T00:00:00Z' },
    });
    const r = etm(['run', '--profile', file, '--db', db, '--source', FAKE_SOURCE]);
    expect(r.stdout).toBe(
      'profile Prod VMDR is Inactive: 2 connectors registered, nothing scheduled\n',
    );
    const status = statusOf(db);
    expect(Object.values(status).map((c) => c.status)).toEqual(['Registered', 'Registered']);
  });

  test.each([
    ['stopped', 'SIGINT'],
    ['killed', 'SIGKILL'],
  ] as const)(
    'a scheduler %s while waiting leaves no Scheduled run that nothing will start',
    async (_how, signal) => {
      const dir = tempDir();
      const db = path.join(dir, 'etm.db');
      config(dir, 'a.json', 'a');
      const start = new Date(Date.now() + 3600_000).toISOString();
      const end = new Date(Date.now() + 7200_000).toISOString();
      const file = profile(dir, {
        subscriptions: [{ config: 'a.json' }],
        schedule: { start, end, every: '1h' },
      });
      const child = spawn(
        process.execPath,
        [ETM, 'run', '--profile', file, '--db', db, '--source', FAKE_SOURCE],
        { cwd: ROOT, stdio: 'ignore' },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await waitFor(() => fs.existsSync(db) && statusOf(db)[SUB_A]?.status === 'Scheduled');
      expect(statusOf(db)[SUB_A]).toMatchObject({ next_run_at: start, scheduler_running: true });
      child.kill(signal);
      await exited;
      const c = statusOf(db)[SUB_A];
      const table = etm(['status', '--db', db]).stdout;
      if (signal === 'SIGINT') {
        expect(c).toMatchObject({
          status: 'Registered',
          next_run_at: null,
          scheduler_running: null,
        });
        expect(table).not.toMatch(/Scheduled/);
      } else {
        // Killed: nothing could clean up; status says the schedule is dead.
        expect(c).toMatchObject({ status: 'Scheduled', scheduler_running: false });
        expect(table).toMatch(/Scheduled \(no scheduler running\)/);
      }
    },
    30000,
  );
});

async function waitFor(condition: () => boolean, timeoutMs = 20000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
