/**
 * Issue 14 §1 and §2, through bin/main as Airbyte runs it: the password appears nowhere in stdout
 * or stderr whatever the config file holds, and a config file that cannot be used gives one
 * Airbyte message (CONNECTION_STATUS FAILED in check, TRACE config_error in discover and read),
 * no stack and a failing exit code.
 */
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { Simulator } from '../../src/simulator';
import {
  catalog,
  configFor,
  expectCleanRun,
  Message,
  PASSWORD,
  recordsOf,
  Run,
  runMain,
  simulator,
} from './harness';

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await simulator({ hosts: 12, detectionsPerHost: 2, qids: 30 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qualys-secrets-'));
});

afterAll(async () => {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A config file with exactly this text. */
function configFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** The run wrote exactly `expected` on stdout, nothing on stderr, and exited 1. */
function expectOnly(run: Run, expected: Message): void {
  expect(run.messages).toEqual([expected]);
  expect(run.stdout.split('\n')).toHaveLength(2);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(1);
  expectCleanRun(run);
}

function failedCheck(message: string): Message {
  return { type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message } };
}

function configTrace(message: string): Message {
  return {
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: expect.any(Number),
      error: { message, failure_type: 'config_error' },
    },
  };
}

/** check, discover and read each report `message` as their one Airbyte message. */
async function expectRefused(files: { config?: unknown; configFile?: string }, message: string) {
  expectOnly(await runMain('check', files), failedCheck(message));
  expectOnly(await runMain('discover', files), configTrace(message));
  expectOnly(await runMain('read', { ...files, catalog: catalog() }), configTrace(message));
}

const EXPECTED = 'expected a JSON object with base_url, username and password';

describe('a config file that cannot be used is one Airbyte message (issue 14 §2)', () => {
  it('missing', async () => {
    const file = path.join(dir, 'nowhere.json');
    await expectRefused({ configFile: file }, `Cannot read the config file ${file}: no such file`);
  });

  it('empty', async () => {
    const file = configFile('empty.json', ' \n');
    await expectRefused({ configFile: file }, `The config file ${file} is empty: ${EXPECTED}`);
  });

  it('not JSON, with the position when the parser gives one', async () => {
    const file = configFile('yaml.json', 'base_url: https://qualysapi.qualys.com\n');
    await expectRefused(
      { configFile: file },
      `The config file ${file} is not valid JSON: ${EXPECTED}`,
    );
    const comma = configFile('comma.json', '{\n  "username": "u"\n  "password": "p"\n}');
    await expectRefused(
      { configFile: comma },
      `The config file ${comma} is not valid JSON (line 3, column 3): ${EXPECTED}`,
    );
  });

  it.each([
    ['null', 'null'],
    ['a string', '"https://qualysapi.qualys.com"'],
    ['an array', '[1, 2]'],
    ['a number', '42'],
  ])('%s', async (kind, text) => {
    const file = configFile(`${kind}.json`, text);
    await expectRefused(
      { configFile: file },
      `Invalid configuration: expected a JSON object, not ${kind}`,
    );
  });

  it('nested 100,000 levels deep: no stack overflow, no half line', async () => {
    const deep = `{"base_url": "x", "username": "u", "password": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    const file = configFile('deep.json', deep);
    await expectRefused({ configFile: file }, 'Invalid configuration: nested deeper than 8 levels');
  });

  it('a directory', async () => {
    await expectRefused(
      { configFile: dir },
      `Cannot read the config file ${dir}: it is a directory`,
    );
  });
});

describe('out-of-range values fail check, naming the field (issue 14 §4)', () => {
  it.each([
    [
      'a start_date in the future',
      { start_date: '2999-12-31' },
      'start_date 2999-12-31T00:00:00Z is in the future: nothing would be read',
    ],
    [
      'a timeout beyond what a timer holds',
      { timeout: 3_000_000 },
      'Invalid configuration: timeout must be <= 86400',
    ],
  ])('%s', async (_label, extra, message) => {
    const before = Object.values(sim.stats().calls).reduce((a, b) => a + b, 0);
    await expectRefused({ config: configFor(sim, extra) }, message);
    expect(Object.values(sim.stats().calls).reduce((a, b) => a + b, 0)).toBe(before);
  });
});

describe('the password appears nowhere in stdout or stderr (issue 14 §1)', () => {
  it('under a misspelled key: refused with "did you mean"', async () => {
    const { password: _password, ...config } = configFor(sim);
    await expectRefused(
      { config: { ...config, pasword: PASSWORD } },
      'Invalid configuration: unknown key "pasword" (did you mean password?)',
    );
  });

  it('under a __proto__ key: ignored with a warning, and the sync runs', async () => {
    const config = JSON.stringify(configFor(sim)).replace(
      /^\{/,
      `{"__proto__": {"password": ${JSON.stringify(PASSWORD)}, "note": ${JSON.stringify(PASSWORD)}},`,
    );
    const file = configFile('proto.json', config);
    const check = await runMain('check', { configFile: file });
    expect(check.messages).toEqual([
      {
        type: 'LOG',
        log: {
          level: 'WARN',
          message: 'Configuration key "__proto__" is not in the spec: ignored',
        },
      },
      { type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } },
    ]);
    expect(check.code).toBe(0);
    expectCleanRun(check);
    const read = await runMain('read', { configFile: file, catalog: catalog(['hosts']) });
    expect(read.code).toBe(0);
    expect(read.messages[0]).toEqual(check.messages[0]);
    expect(recordsOf(read, 'hosts')).toHaveLength(12);
    expectCleanRun(read);
  });

  it('inside base_url: refused with a message, as written and percent-encoded', async () => {
    const url = new URL(sim.baseUrl);
    for (const userinfo of [
      `${sim.username}:${PASSWORD}`,
      `jdoe:${encodeURIComponent(PASSWORD)}`,
    ]) {
      await expectRefused(
        { config: configFor(sim, { base_url: `http://${userinfo}@${url.host}` }) },
        'base_url must not contain credentials; use username and password',
      );
    }
    await expectRefused(
      { config: configFor(sim, { base_url: `${sim.username}:${PASSWORD}@${url.host}` }) },
      'Invalid configuration: base_url has no scheme: write https://qualysapi.qg2.apps.qualys.com',
    );
  });

  it('in a config that is a JSON array', async () => {
    await expectRefused(
      { config: [sim.baseUrl, sim.username, PASSWORD] },
      'Invalid configuration: expected a JSON object, not an array',
    );
  });

  it('unquoted in a broken JSON file', async () => {
    const text = `{"base_url": "${sim.baseUrl}", "username": "${sim.username}", "password": ${PASSWORD}}`;
    const file = configFile('unquoted.json', text);
    await expectRefused(
      { configFile: file },
      `The config file ${file} is not valid JSON: ${EXPECTED}`,
    );
  });

  it('anywhere else in the output: masked by value in logs and records', async () => {
    const config = configFor(sim, { subscription: `team ${PASSWORD}` });
    const read = await runMain('read', { config, catalog: catalog(['hosts']) });
    expect(read.code).toBe(0);
    const hosts = recordsOf<{ subscription: string }>(read, 'hosts');
    expect(hosts).toHaveLength(12);
    expect(new Set(hosts.map((host) => host.subscription))).toEqual(new Set(['team **********']));
    expectCleanRun(read);
  });

  it('echoed back by a hostile server: masked in the check message and the read trace', async () => {
    // Answers every call with the password it was sent, in a SIMPLE_RETURN and a header.
    const server = http.createServer((req, res) => {
      const basic = String(req.headers.authorization ?? '').replace(/^Basic /, '');
      const echoed = Buffer.from(basic, 'base64').toString('utf8');
      res.writeHead(400, { 'Content-Type': 'text/xml', 'X-Echo': echoed });
      res.end(
        '<?xml version="1.0" encoding="UTF-8" ?><SIMPLE_RETURN><RESPONSE>' +
          '<DATETIME>2025-01-01T00:00:00Z</DATETIME><CODE>1905</CODE>' +
          `<TEXT>parameter has invalid value: ${echoed}</TEXT></RESPONSE></SIMPLE_RETURN>`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const config = configFor(sim, { base_url: base });
      const echo =
        `Cannot use the Qualys API at ${base}: HTTP 400 (code 1905): ` +
        `parameter has invalid value: ${sim.username}:**********`;
      const check = await runMain('check', { config });
      expect(check.messages.find((m) => m.type === 'CONNECTION_STATUS')).toEqual(failedCheck(echo));
      expectCleanRun(check);
      const read = await runMain('read', { config, catalog: catalog(['hosts']) });
      expect(read.code).toBe(1);
      const traces = read.messages.filter((m) => m.type === 'TRACE');
      expect(traces.map((m) => m.trace.error.message)).toEqual([echo]);
      expectCleanRun(read);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
