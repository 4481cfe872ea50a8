/**
 * End-to-end harness: runs bin/main as a process (as Airbyte runs the image's entrypoint) against
 * the simulator on 127.0.0.1, and validates what it writes against the Airbyte protocol and the
 * stream schemas.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';

import { Simulator, SimulatorOptions, startSimulator } from '../../src/simulator';

export const ROOT = path.resolve(__dirname, '../..');
export const MAIN = path.join(ROOT, 'bin/main');
/** A password no log line, error, state or record may ever contain. */
export const PASSWORD = 'pw-Zx81!never-in-output';

export type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Run {
  messages: Message[];
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ password: PASSWORD, ...options });
}

export function configFor(sim: Simulator, extra: Record<string, unknown> = {}) {
  return {
    base_url: sim.baseUrl,
    username: sim.username,
    password: sim.password,
    subscription: 'sim',
    hosts_page_size: 10,
    detections_page_size: 10,
    kb_batch_size: 50,
    timeout: 20,
    ...extra,
  };
}

export const STREAMS = ['hosts', 'host_detections', 'knowledge_base'] as const;

export function catalog(
  streams: readonly string[] = STREAMS,
  syncMode: 'incremental' | 'full_refresh' = 'incremental',
) {
  return {
    streams: streams.map((name) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: syncMode,
      destination_sync_mode: syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
    })),
  };
}

function tempFile(dir: string, name: string, content: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
  return file;
}

/** The environment the Airbyte platform gives a source on every sync. */
export const PLATFORM_ENV = { WORKER_JOB_ID: '1', WORKER_ATTEMPT_ID: '0' };

/**
 * Runs `bin/main <command>` with the given JSON files (or `configFile`, a path given as is);
 * `stopWhen` (called per message) may ask for SIGKILL, to test resumption; `env` is added to the
 * environment.
 */
export async function runMain(
  command: 'spec' | 'check' | 'discover' | 'read',
  files: { config?: unknown; configFile?: string; catalog?: unknown; state?: unknown } = {},
  stopWhen?: (message: Message, all: Message[]) => boolean,
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qualys-e2e-'));
  const args = [MAIN, command];
  if (files.config !== undefined) args.push('--config', tempFile(dir, 'config.json', files.config));
  if (files.configFile !== undefined) args.push('--config', files.configFile);
  if (files.catalog !== undefined)
    args.push('--catalog', tempFile(dir, 'catalog.json', files.catalog));
  if (files.state !== undefined) args.push('--state', tempFile(dir, 'state.json', files.state));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
  });
  const messages: Message[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const message = JSON.parse(line) as Message;
      messages.push(message);
      if (stopWhen?.(message, messages)) child.kill('SIGKILL');
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  return { messages, stdout, stderr, code, signal };
}

export function recordsOf<T = Message>(run: Run | Message[], stream: string): T[] {
  const messages = Array.isArray(run) ? run : run.messages;
  return messages
    .filter((m) => m.type === 'RECORD' && m.record.stream === stream)
    .map((m) => m.record.data as T);
}

/**
 * The state to resume from, as the Airbyte platform passes it back: the last STATE message of
 * each stream, as an array.
 */
export function lastState(run: Run): Message[] {
  const last = new Map<string, Message>();
  for (const m of run.messages) {
    if (m.type === 'STATE') last.set(m.state.stream.stream_descriptor.name, m.state);
  }
  return [...last.values()];
}

let protocol: Ajv | undefined;

/** Validator for one definition of the Airbyte protocol (test_files/airbyte-protocol). */
export function protocolValidator(definition: string): ValidateFunction {
  if (!protocol) {
    const file = path.join(ROOT, 'test_files/airbyte-protocol/airbyte_protocol.yaml');
    const schema = yaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    protocol = new Ajv({ strict: false, allErrors: true });
    addFormats(protocol);
    protocol.addSchema(schema, 'airbyte');
  }
  const validate = protocol.getSchema(`airbyte#/definitions/${definition}`);
  if (!validate) throw new Error(`no definition ${definition}`);
  return validate;
}

const schemas = new Ajv({ strict: false, allErrors: true });
addFormats(schemas);
const recordValidators = new Map<string, ValidateFunction>();

/** Validator for a stream's record schema (resources/schemas). */
export function recordValidator(stream: string): ValidateFunction {
  let validate = recordValidators.get(stream);
  if (!validate) {
    const schema = JSON.parse(
      fs.readFileSync(path.join(ROOT, `resources/schemas/${stream}.json`), 'utf8'),
    );
    validate = schemas.compile(schema);
    recordValidators.set(stream, validate);
  }
  return validate;
}

/** Throws with ajv's errors when `value` does not validate. */
export function expectValid(validate: ValidateFunction, value: unknown, what: string): void {
  if (!validate(value)) {
    throw new Error(`${what} is invalid: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  }
}

/**
 * The stream states in a STATE message's state, or in a list of them (as lastState gives), by
 * stream name.
 */
export function decodeState(state: unknown): Record<string, unknown> {
  const states = (Array.isArray(state) ? state : [state]) as Message[];
  return Object.fromEntries(
    states.map((s) => [s.stream.stream_descriptor.name, s.stream.stream_state]),
  );
}

/** Messages are valid Airbyte messages, and no output, state included, contains the password. */
export function expectCleanRun(run: Run): void {
  const validate = protocolValidator('AirbyteMessage');
  for (const message of run.messages) {
    expectValid(validate, message, `${message.type} message`);
    if (message.type === 'STATE') {
      expect(JSON.stringify(decodeState(message.state))).not.toContain(PASSWORD);
    }
  }
  expect(run.stdout).not.toContain(PASSWORD);
  expect(run.stderr).not.toContain(PASSWORD);
}
