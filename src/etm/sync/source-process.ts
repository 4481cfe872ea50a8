/**
 * Runs the source as a separate process — `node bin/main read --config … --catalog … [--state …]`
 * (etm never imports the source's streams) — and exposes its stdout as lines. The catalog, the
 * state and any config that etm had to write (profile filters) go in a private temp directory
 * (0700, files 0600) that is removed when the source ends. stderr is kept as a short tail for
 * error messages.
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

import { SOURCE_NODE_FLAGS } from '../../node-flags';
import { lines } from '../io';

export const DEFAULT_SOURCE = path.resolve(__dirname, '../../../bin/main');

export interface SourceLaunch {
  /** The source entrypoint, run with this node. */
  readonly source: string;
  /** The user's config file, passed as is when `config` is not given. */
  readonly configPath: string;
  /** A config to write instead (the user's config with profile filters applied). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly catalog: unknown;
  readonly state?: unknown;
}

export interface SourceProcess {
  readonly lines: AsyncIterable<string>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrTail(): string;
  kill(signal?: NodeJS.Signals): void;
}

const STDERR_TAIL = 4000;

export function startSource(launch: SourceLaunch): SourceProcess {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-source-'));
  fs.chmodSync(dir, 0o700);
  // The CDK require()s these files, so they must end in .json.
  const write = (name: string, value: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(value), { mode: 0o600 });
    return file;
  };
  const args = [
    launch.source,
    'read',
    '--config',
    launch.config ? write('config.json', launch.config) : launch.configPath,
    '--catalog',
    write('catalog.json', launch.catalog),
  ];
  if (launch.state !== undefined) args.push('--state', write('state.json', launch.state));
  const child: ChildProcess = spawn(process.execPath, [...SOURCE_NODE_FLAGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    };
    child.once('error', () => done(127, null));
    child.once('close', done);
  });
  return {
    lines: lines(child.stdout as NonNullable<ChildProcess['stdout']>),
    exit,
    stderrTail: () => tail,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
