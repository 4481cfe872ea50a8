/**
 * Line I/O for the CLI: reading JSON lines from a stream, and writing many lines without
 * ignoring back-pressure (a dump of a million findings must not buffer in memory).
 */
import readline from 'readline';
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

export function lines(input: Readable): AsyncIterable<string> {
  return readline.createInterface({ input, crlfDelay: Infinity });
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
