/**
 * The record output under backpressure: a pipe that is read slowly (as Airbyte's may be) must get
 * every record whole and in order while the logger reuses its output buffers.
 */
import { spawn } from 'node:child_process';

import { ROOT } from './harness';

/** A child process writing `count` records of about 20 KB through RecordOutputLogger. */
const WRITER = `
  const { AirbyteRecord } = require('faros-airbyte-cdk');
  const { RecordOutputLogger } = require('./lib/record-output');
  const logger = new RecordOutputLogger();
  (async () => {
    for (let n = 0; n < Number(process.argv[1]); n++) {
      const text = String(n).padStart(8, '0').repeat(2500);
      const written = logger.write(AirbyteRecord.make('s', { n, text }));
      // As the CDK does, wait for a drain now and then, not after every record.
      if (n % 7 === 0) await written;
    }
    await logger.flush();
  })();
`;

describe('RecordOutputLogger', () => {
  it('writes every record whole and in order to a pipe that is read slowly', async () => {
    const count = 3000; // about 60 MB: many 1 MB buffers, each written while others fill
    const child = spawn(process.execPath, ['-e', WRITER, String(count)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() as string;
      lines.push(...parts);
      // A slow reader: the pipe fills and the writer's buffers wait to be written.
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(rest).toBe('');
    const records = lines.filter((line) => line.startsWith('{"record"'));
    expect(records).toHaveLength(count);
    records.forEach((line, n) => {
      const { record } = JSON.parse(line);
      expect(record.data.n).toBe(n);
      expect(record.data.text).toBe(String(n).padStart(8, '0').repeat(2500));
    });
  }, 60_000);

  it('never leaves part of a record that cannot be encoded on stdout (issue 14 §2)', async () => {
    // Record 1 stays buffered (400 KB); record 2 moves it out of the buffer (its 700 KB text does
    // not fit behind it), then overflows the stack: only record 1 and the log lines may appear.
    // Record 4, larger than the buffer, still comes out whole, before record 5.
    const script = `
      const { AirbyteLog, AirbyteLogLevel, AirbyteRecord } = require('faros-airbyte-cdk');
      const { RecordOutputLogger } = require('./lib/record-output');
      const logger = new RecordOutputLogger();
      let deep = {};
      for (let i = 0; i < 100000; i++) deep = { a: deep };
      (async () => {
        await logger.write(AirbyteRecord.make('s', { n: 1, text: 'x'.repeat(400000) }));
        const records = [
          { n: 2, text: 'y'.repeat(700000), deep },
          { n: 3, deep },
          { n: 4, text: 'z'.repeat(3000000) },
          { n: 5 },
        ];
        for (const data of records) {
          try {
            await logger.write(AirbyteRecord.make('s', data));
          } catch (err) {
            await logger.write(AirbyteLog.make(AirbyteLogLevel.ERROR, err.constructor.name));
          }
        }
        await logger.flush();
      })();
    `;
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.pop()).toBe('');
    const messages = lines.map((line) => JSON.parse(line));
    expect(messages.map((m) => m.record?.data.n ?? m.log.message)).toEqual([
      1,
      'RangeError',
      'RangeError',
      4,
      5,
    ]);
    expect(messages[3].record.data.text).toBe('z'.repeat(3000000));
  });
});
