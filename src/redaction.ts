/**
 * Secrets masked by value wherever they would be written. The CDK redacts the spec's secret
 * fields by key, which misses a password under a misspelled key, inside a URL or in a config
 * that is not an object (issue 14 §1): here every string that could be a credential is
 * registered once, and every line written to stdout (logs, traces, state, records) and stderr
 * is searched for it and masked.
 */
import { Writable } from 'node:stream';

export const MASK = '**********';
/**
 * Shorter values are not searched for: they would match everywhere (a password "abc" would mask
 * every "abc" of every record) and are guessed at once anyway.
 */
export const MIN_SECRET_LENGTH = 4;

export class Redactor {
  /** The forms of each secret in JSON text, longest first (a secret inside another is masked whole). */
  private forms: string[] = [];
  private needles: Buffer[] = [];

  /** Registers a value to mask (numbers too: a password may be all digits). */
  add(value: unknown): void {
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const secret = String(value);
    if (secret.length < MIN_SECRET_LENGTH || this.forms.includes(secret)) return;
    // As is, JSON-escaped, and escaped twice (JSON text inside a JSON string).
    const once = JSON.stringify(secret).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    const added = [...new Set([secret, once, twice])].filter((form) => !this.forms.includes(form));
    this.forms = [...this.forms, ...added].sort((a, b) => b.length - a.length);
    this.needles = this.forms.map((form) => Buffer.from(form));
  }

  get empty(): boolean {
    return this.forms.length === 0;
  }

  /** `text` with every secret (in each of its forms) masked. */
  redactText(text: string): string {
    let result = text;
    for (const form of this.forms) {
      if (result.includes(form)) result = result.split(form).join(MASK);
    }
    return result;
  }

  /** A copy of `value` with every string and key masked; other values are kept. */
  redact<T>(value: T): T {
    return mapStrings(value, (s) => this.redactText(s)) as T;
  }

  /** Whether `chunk` contains a secret: one search per needle, for the hot record path. */
  foundIn(chunk: Buffer | string): boolean {
    if (typeof chunk === 'string') return this.forms.some((form) => chunk.includes(form));
    return this.needles.some((needle) => chunk.includes(needle));
  }

  /**
   * JSON lines with secrets masked inside their strings (so that each stays valid JSON); text
   * that is not a whole JSON line (a partial write, stderr) is masked as text.
   */
  redactLines(text: string): string {
    // A secret with a line break (only in text that is not JSON) spans lines: masked first.
    let input = text;
    for (const form of this.forms) {
      if (form.includes('\n') && input.includes(form)) input = input.split(form).join(MASK);
    }
    return input
      .split('\n')
      .map((line) => {
        if (!this.foundIn(line)) return line;
        try {
          return JSON.stringify(this.redact(JSON.parse(line)));
        } catch {
          return this.redactText(line);
        }
      })
      .join('\n');
  }
}

/** Nesting beyond this is not walked (configs are refused deeper; messages are shallow). */
const MAX_DEPTH = 64;

function mapStrings(value: unknown, map: (s: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return map(value);
  if (depth > MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map, depth + 1));
  if (typeof value !== 'object' || value === null) return value;
  // Null prototype: a key "__proto__" stays a key.
  const result: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) {
    result[map(key)] = mapStrings(item, map, depth + 1);
  }
  return result;
}

/** The process's secrets: filled as the configuration is read, used by every output. */
export const secrets = new Redactor();

type WriteArgs = [chunk: unknown, ...rest: unknown[]];

/**
 * Masks the registered secrets in everything written to `stream` (stdout or stderr). A chunk
 * without a secret (nearly all: one search per needle) is written as it is.
 */
export function redactOutput(stream: Writable, redactor: Redactor = secrets): void {
  const write = stream.write.bind(stream) as (...args: WriteArgs) => boolean;
  stream.write = ((...args: WriteArgs) => {
    const [chunk, ...rest] = args;
    if (redactor.empty || !(typeof chunk === 'string' || Buffer.isBuffer(chunk))) {
      return write(chunk, ...rest);
    }
    if (!redactor.foundIn(chunk)) return write(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    return write(redactor.redactLines(text), ...rest);
  }) as Writable['write'];
}
