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
});
