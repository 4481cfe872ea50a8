/**
 * Helpers of the end-to-end tests that run bin/etm (and through it bin/main) against simulators
 * started in the test process: bin/etm runs without blocking this process's event loop, which
 * serves the simulators. They run lib/ — `npm test` builds it first.
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import path from 'path';

import type { Simulator } from '../../src/simulator';
import { ConnectorRow, Connectors } from '../../src/etm/store/connectors';
import { EtmStore } from '../../src/etm/store/database';
import { allAssets, allFindings, collect } from '../../src/etm/store/reader';
import { storeTotals } from '../../src/etm/sync/summary';
import { ROOT } from './helpers';

export const ETM = path.join(ROOT, 'bin/etm');

/** Fails with what to do rather than testing missing code. */
export function requireBuilt(): void {
  const missing = ['lib/index.js', 'lib/etm/cli.js'].filter(
    (f) => !fs.existsSync(path.join(ROOT, f)),
  );
  if (missing.length > 0)
    throw new Error(`${missing.join(', ')} missing: run \`npm run build\` (npm test does)`);
}

export interface Run {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartOptions {
  /** Make it a process group, so that a kill reaches the source too. */
  readonly detached?: boolean;
  /** Its temp directory: what a killed etm cannot remove lands there. */
  readonly tmpdir?: string;
}

export function startEtm(args: string[], options: StartOptions = {}): ChildProcess {
  return spawn(process.execPath, [ETM, ...args], {
    cwd: ROOT,
    detached: options.detached ?? false,
    env: options.tmpdir ? { ...process.env, TMPDIR: options.tmpdir } : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) =>
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
}

export const runEtm = (args: string[]): Promise<Run> => finished(startEtm(args));

/** A source config for a simulator (0600, like a user's). */
export function sourceConfig(
  dir: string,
  label: string,
  sim: Simulator,
  extra: Record<string, unknown> = {},
): string {
  const file = path.join(dir, `${label}.json`);
  const config = {
    base_url: sim.baseUrl,
    username: sim.username,
    password: sim.password,
    subscription: label,
    ...extra,
  };
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

export interface StoreContent {
  readonly assets: Record<string, unknown>[];
  readonly findings: Record<string, unknown>[];
}

/** The store's final records, read while another process may be writing (WAL). */
export async function readStore(file: string): Promise<StoreContent> {
  const store = await EtmStore.open(file, { readonly: true });
  try {
    return {
      assets: (await collect(allAssets(store.sql))).map((r) => r.record),
      findings: (await collect(allFindings(store.sql))).map((r) => r.record),
    };
  } finally {
    await store.close();
  }
}

/** The store's connectors; none while the store does not exist yet. */
export async function connectors(file: string): Promise<ConnectorRow[]> {
  if (!fs.existsSync(file)) return [];
  let store: EtmStore | undefined;
  try {
    store = await EtmStore.open(file, { readonly: true });
    return await new Connectors(store.sql).list();
  } catch {
    // The schema is being created.
    return [];
  } finally {
    await store?.close();
  }
}

/** Committed findings, counted cheaply enough to poll; 0 while the store does not exist. */
export async function committedFindings(file: string): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  let store: EtmStore | undefined;
  try {
    store = await EtmStore.open(file, { readonly: true });
    return (await storeTotals(store)).findings;
  } catch {
    return 0;
  } finally {
    await store?.close();
  }
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `12,345` → 12345, for numbers printed with thousands separators. */
export const count = (text: string): number => Number(text.replace(/,/g, ''));
