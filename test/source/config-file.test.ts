import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { AirbyteSourceRunner } from 'faros-airbyte-cdk';

import { ConfigError } from '../../src/config';
import { loadConfigFile, readConfigFile } from '../../src/config-file';
import { MASK, Redactor } from '../../src/redaction';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qualys-config-file-'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string | Buffer): string {
  const at = path.join(dir, name);
  fs.writeFileSync(at, text);
  return at;
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('readConfigFile', () => {
  it('parses JSON, whatever the file is named (the CDK require()s it: .js runs)', () => {
    expect(readConfigFile(file('config', '{"a": 1}'))).toEqual({ a: 1 });
    expect(readConfigFile(file('config.js', '{"a": 2}'))).toEqual({ a: 2 });
  });

  it('gives the line and column when the parser gives a position, never the text', () => {
    const at = file('bad.json', '{\n  "password": "s3cr3t-pa55",\n  "x": s3cr3t-pa55\n}');
    const message = errorOf(() => readConfigFile(at));
    expect(message).not.toContain('s3cr3t');
    expect(message).toMatch(
      new RegExp(`^The config file ${at} is not valid JSON( \\(line 3, column 8\\))?: expected`),
    );
    const comma = file('comma.json', '{"a": 1,}');
    expect(errorOf(() => readConfigFile(comma))).toBe(
      `The config file ${comma} is not valid JSON (line 1, column 9): expected a JSON object with base_url, username and password`,
    );
  });

  it('refuses a file larger than a config can be, without reading it', () => {
    const big = file('big.json', Buffer.alloc(4 * 1024 * 1024 + 1, 32));
    expect(errorOf(() => readConfigFile(big))).toBe(
      `The config file ${big} is 4194305 bytes, more than a config can be (4194304)`,
    );
  });
});

describe('loadConfigFile', () => {
  it('registers the credentials before validating, and warns about unknown keys', () => {
    const redactor = new Redactor();
    const warnings: string[] = [];
    const at = file(
      'typo.json',
      JSON.stringify({ base_url: 'https://q.example.com', username: 'u', pasword: 'typo-pa55' }),
    );
    expect(errorOf(() => loadConfigFile(at, (m) => warnings.push(m), redactor))).toBe(
      'Invalid configuration: unknown key "pasword" (did you mean password?)',
    );
    expect(redactor.redactText('typo-pa55')).toBe(MASK);
    expect(warnings).toEqual([]);
  });
});

describe('the CDK behaviour src/config-file.ts relies on', () => {
  it('check, discover and read get their config from the runner method loadConfig', () => {
    expect(
      typeof (AirbyteSourceRunner.prototype as unknown as Record<string, unknown>).loadConfig,
    ).toBe('function');
    const source = fs.readFileSync(
      require.resolve('faros-airbyte-cdk/lib/sources/source-runner.js'),
      'utf8',
    );
    expect(source.match(/await this\.loadConfig\(opts\.config\)/g)).toHaveLength(3);
  });
});
