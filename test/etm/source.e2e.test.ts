/**
 * End-to-end against the real source and simulator: two simulated subscriptions sharing part of
 * their hosts, `etm sync` running `bin/main read` for each, then a second (incremental) sync.
 * Skipped when the source or simulator is not built.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import readline from 'readline';

import { ROOT, tempDir } from './helpers';

const ETM = path.join(ROOT, 'bin/etm');
const SIM = path.join(ROOT, 'bin/qualys-sim');

try {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
} catch {
  // others' in-progress code may not type-check; tsc still emits
}
const built = ['lib/index.js', 'lib/simulator/cli.js', 'lib/etm/cli.js'].every((f) =>
  fs.existsSync(path.join(ROOT, f)),
);
const maybe = built ? describe : describe.skip;

interface Simulator {
  readonly process: ChildProcess;
  readonly config: { base_url: string; username: string; password: string };
}

async function simulator(args: string[]): Promise<Simulator> {
  const child = spawn(process.execPath, [SIM, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({
      input: child.stdout as NonNullable<ChildProcess['stdout']>,
    });
    rl.once('line', resolve);
    child.once('exit', () => reject(new Error('simulator exited before listening')));
  });
  return { process: child, config: JSON.parse(first) };
}

function etm(args: string[]) {
  return spawnSync(process.execPath, [ETM, ...args], { encoding: 'utf8', cwd: ROOT });
}

maybe('etm sync against bin/main and the simulator', () => {
  const dir = tempDir();
  const db = path.join(dir, 'etm.db');
  const sims: Simulator[] = [];
  const configs: string[] = [];

  beforeAll(async () => {
    const common = ['--hosts', '120', '--detections-per-host', '10', '--qids', '300'];
    sims.push(await simulator([...common, '--seed', '1']));
    sims.push(
      await simulator([
        ...common,
        '--seed',
        '2',
        '--overlap-seed',
        '1',
        '--overlap-fraction',
        '0.25',
        '--username',
        'second_user',
      ]),
    );
    sims.forEach((s, i) => {
      const file = path.join(dir, `sub-${i + 1}.json`);
      fs.writeFileSync(file, JSON.stringify({ ...s.config, include_information_gathered: true }), {
        mode: 0o600,
      });
      configs.push(file);
    });
  }, 60000);

  afterAll(() => {
    for (const s of sims) s.process.kill();
  });

  test('both subscriptions sync; shared hosts become shared assets', () => {
    const r = etm(['sync', '--config', configs[0], '--config', configs[1], '--db', db]);
    expect(r.stderr).not.toContain(sims[0].config.password);
    expect(r.stdout).not.toContain(sims[0].config.password);
    expect(r.status).toBe(0);
    const joined = [...r.stdout.matchAll(/(\d+) hosts joined known assets/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(joined).toBeGreaterThan(0);

    const status = etm(['status', '--db', db, '--format', 'json']);
    const connectors = status.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(connectors.map((c) => c.status)).toEqual(['Processed', 'Processed']);
    for (const c of connectors) expect(c.state_saved_at).toBeTruthy();

    const assets = etm(['query', '--db', db, '--format', 'json', 'inventory: (source: VMDR)'])
      .stdout.trim()
      .split('\n');
    expect(assets).toHaveLength(240 - joined);
    const merged = assets
      .map((l) => JSON.parse(l).record)
      .filter((a) => a.qualysHosts.length === 2);
    expect(merged).toHaveLength(joined);
    for (const a of merged) expect(a.subscriptions).toHaveLength(2);

    const findings = etm([
      'query',
      '--db',
      db,
      '--format',
      'json',
      'finding.vendorProductName: VMDR',
    ])
      .stdout.trim()
      .split('\n');
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings.slice(0, 50).map((l) => JSON.parse(l).record)) {
      expect(f.findingName).toEqual(expect.any(String));
      expect(['NEW', 'ACTIVE', 'REOPENED', 'FIXED', null]).toContain(f.findingStatus);
    }
  }, 120000);

  test('a second sync resumes from the stored state', () => {
    const r = etm(['sync', '--config', configs[0], '--db', db]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/assets: +0 new/);
  }, 120000);
});
