/**
 * Listed records as text: CSV (RFC 4180, every row of a result, streamed) and cells shared by the
 * CLI table and the console. Lists become `a,b` (objects `id:name`), a missing value or an empty
 * list is empty in CSV and `-` in a table.
 */
import { Writable } from 'stream';

import { writeLine } from '../io';
import { cell } from '../table';
import { ListedRecord, listedValue } from './read-model';

export function csvCell(v: unknown): string {
  const empty = v === null || v === undefined || (Array.isArray(v) && v.length === 0);
  const text = empty ? '' : cell(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (values: ReadonlyArray<unknown>): string => values.map(csvCell).join(',');

/** Header and rows; returns how many rows. */
export async function writeCsv(
  out: Writable,
  columns: ReadonlyArray<string>,
  rows: AsyncIterable<ListedRecord>,
): Promise<number> {
  await writeLine(out, csvLine(columns));
  let n = 0;
  for await (const row of rows) {
    await writeLine(out, csvLine(columns.map((c) => listedValue(row, c))));
    n++;
  }
  return n;
}
