/**
 * bin/qualys-sim: one JSON line on stdout once listening, serves until SIGTERM/SIGINT, fault plans
 * from a file, and a clean error for bad options. Runs the built CLI (npm test builds lib/ first).
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basic } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'qualys-sim');

interface Started {
  child: ChildProcess;
  line: Record<string, string>;
  stdout: () => string;
}

function start(args: string[]): Promise<Started> {
  expect(fs.existsSync(path.join(ROOT, 'lib', 'simulator', 'cli.js'))).toBe(true);
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline >= 0)
        resolve({ child, line: JSON.parse(stdout.slice(0, newline)), stdout: () => stdout });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
  });
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function get(line: Record<string, string>, p: string): Promise<Response> {
  return fetch(`${line.base_url}${p}`, {
    headers: { authorization: basic(line.username, line.password), 'x-requested-with': 'cli-test' },
  });
}

test.each(['SIGTERM', 'SIGINT'] as const)(
  'prints exactly one JSON line, serves, and stops on %s',
  async (signal) => {
    const { child, line, stdout } = await start([
      '--port',
      '0',
      '--hosts',
      '5',
      '--qids',
      '20',
      '--detections-per-host',
      '3',
      '--username',
      'u1',
      '--password',
      'p1',
    ]);
    expect(Object.keys(line)).toEqual(['base_url', 'username', 'password']);
    expect(line.base_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect([line.username, line.password]).toEqual(['u1', 'p1']);
    const about = await get(line, '/msp/about.php');
    expect(about.status).toBe(200);
    const hosts = await (
      await get(line, '/api/4.0/fo/asset/host/?action=list&details=None')
    ).text();
    expect(hosts.match(/<ID_RANGE>|<ID>/g)?.length).toBeGreaterThan(0);
    const exited = exit(child);
    child.kill(signal);
    expect(await exited).toBe(0);
    expect(stdout()).toBe(JSON.stringify(line) + '\n');
  },
);

test('--faults reads a fault plan file; --escaped-warning-url changes the URL encoding', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qualys-sim-'));
  const file = path.join(dir, 'faults.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ rules: [{ type: 'http_error', status: 502, calls: [1] }] }),
  );
  const { child, line } = await start(['--hosts', '5', '--faults', file, '--escaped-warning-url']);
  try {
    expect((await get(line, '/msp/about.php')).status).toBe(502);
    const page = await (
      await get(line, '/api/4.0/fo/asset/host/?action=list&truncation_limit=2')
    ).text();
    expect(page).toMatch(
      /<URL>http:\/\/127\.0\.0\.1:\d+\/api\/4\.0\/fo\/asset\/host\/\?action=list&amp;truncation_limit=2&amp;id_min=\d+<\/URL>/,
    );
  } finally {
    const exited = exit(child);
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--evaluation, --keep-alive-every and --crlf-text shape the responses', async () => {
  const { child, line } = await start([
    '--hosts',
    '5',
    '--qids',
    '30',
    '--evaluation',
    '--keep-alive-every',
    '2',
    '--crlf-text',
  ]);
  try {
    const kb = await (
      await get(line, '/api/4.0/fo/knowledge_base/vuln/?action=list&details=All')
    ).text();
    const evaluation =
      '<!-- This report was generated with an evaluation version of Qualys //--> \n';
    const keepAlive = '<!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT  -->\n';
    expect(kb).toContain(`${evaluation}<KNOWLEDGE_BASE_VULN_LIST_OUTPUT>`);
    expect(kb).toContain(`</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n${evaluation}`);
    expect(kb.split(keepAlive).length - 1).toBe(2 + 15 + 1);
    expect(kb).toContain('\r\n');
  } finally {
    const exited = exit(child);
    child.kill('SIGTERM');
    await exited;
  }
});

test('--help documents the realism options', async () => {
  const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  expect(await exit(child)).toBe(0);
  for (const option of ['--evaluation', '--keep-alive-every <n>', '--crlf-text', '--faults <file>'])
    expect(stdout).toContain(option);
  expect(stdout).toContain('unordered_hosts');
});

test('a bad option exits 1 with a message on stderr and nothing on stdout', async () => {
  const child = spawn(process.execPath, [BIN, '--hosts', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  expect(await exit(child)).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toContain('hosts must be an integer in [1, 2000000], got 0');
});
