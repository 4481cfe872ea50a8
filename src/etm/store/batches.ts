/**
 * Statement shapes for batched writes. A statement's text varies with its row or key count, and
 * every text is prepared and cached (store/sql.ts): sizes are kept to powers of two, so that a
 * few shapes serve every batch instead of one per count, each prepared (and held) once.
 */
import { Sql } from './sql';

/** `text` n times, joined: the rows of a multi-row VALUES, the terms of an OR. */
export const repeated = (n: number, text: string, separator = ', '): string =>
  Array.from({ length: n }, () => text).join(separator);

/** `?, ?, …` for n values. */
export const marks = (n: number): string => repeated(n, '?');

/** The keys padded with NULL to a power of two, for `IN (…)`: NULL matches nothing there. */
export function padded<T>(keys: ReadonlyArray<T>): Array<T | null> {
  const out: Array<T | null> = [...keys];
  let size = 1;
  while (size < keys.length) size *= 2;
  while (out.length < size) out.push(null);
  return out;
}

/** Splits n rows into pieces of at most `max` (a power of two) rows, each a power of two. */
export function pieces(n: number, max: number): number[] {
  const out: number[] = [];
  let left = n;
  for (let size = max; left > 0; size = Math.max(1, size / 2)) {
    while (left >= size) {
      out.push(size);
      left -= size;
    }
  }
  return out;
}

/** Writes rows through a multi-row statement for n rows, in power-of-two pieces of at most max. */
export async function writeRows(
  sql: Sql,
  statement: (n: number) => string,
  rows: ReadonlyArray<ReadonlyArray<unknown>>,
  max: number,
): Promise<void> {
  let at = 0;
  for (const size of pieces(rows.length, max)) {
    const params: unknown[] = [];
    for (let i = at; i < at + size; i++) for (const v of rows[i]) params.push(v);
    await sql.run(statement(size), params);
    at += size;
  }
}
