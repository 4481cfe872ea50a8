/**
 * Line I/O for the CLI: reading JSON lines from a stream, and writing many lines without
 * ignoring back-pressure (a dump of a million findings must not buffer in memory).
 */
import { Readable, Writable } from 'stream';

import { Logger } from './converter';

export interface Io {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export const processIo = (): Io => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

/**
 * The stream's lines, without their line ends. Splits bytes rather than strings: a source
 * writes one record per line and a host's line can be hundreds of KB, for which readline's
 * string joining and regex cost more than parsing the JSON.
 */
export async function* lines(input: Readable): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, start)) {
      let line: string;
      if (pending.length === 0) {
        line = bytes.toString('utf8', start, nl);
      } else {
        pending.push(bytes.subarray(start, nl));
        line = Buffer.concat(pending).toString('utf8');
        pending = [];
      }
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
      start = nl + 1;
    }
    if (start < bytes.length) pending.push(bytes.subarray(start));
  }
  if (pending.length > 0) {
    const line = Buffer.concat(pending).toString('utf8');
    yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}

/** Writes one line, waiting for the stream to drain when its buffer is full. */
export async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

/** Warnings go to stderr: stdout carries data (etm convert, etm query --format json). */
export function stderrLogger(io: Io): Logger {
  return {
    info: (m) => io.stderr.write(`etm: ${m}\n`),
    warn: (m) => io.stderr.write(`etm: warning: ${m}\n`),
  };
}
