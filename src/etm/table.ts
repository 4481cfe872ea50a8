/**
 * Plain-text tables for the terminal. Column widths come from the first rows seen, so a large
 * result streams instead of being held to measure it; longer cells are cut with "…".
 */
import { Writable } from 'stream';

import { writeLine } from './io';
import { EtmModel, MODELS } from './models';
import { EtmRecord } from './store/reader';

const MAX_WIDTH = 48;
const MEASURE_ROWS = 200;

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) {
    return (
      v
        .map((x) => (x && typeof x === 'object' ? Object.values(x).join(':') : String(x)))
        .join(',') || '-'
    );
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export async function writeTable(
  out: Writable,
  columns: ReadonlyArray<string>,
  rows: Iterable<ReadonlyArray<string>> | AsyncIterable<ReadonlyArray<string>>,
  maxWidth = MAX_WIDTH,
): Promise<number> {
  const head: ReadonlyArray<string>[] = [];
  const it =
    Symbol.asyncIterator in rows
      ? rows[Symbol.asyncIterator]()
      : (rows as Iterable<ReadonlyArray<string>>)[Symbol.iterator]();
  let r = await it.next();
  while (!r.done && head.length < MEASURE_ROWS) {
    head.push(r.value);
    r = await it.next();
  }
  const widths = columns.map((c, i) =>
    Math.min(maxWidth, Math.max(c.length, ...head.map((row) => row[i].length))),
  );
  const line = (row: ReadonlyArray<string>): string =>
    row
      .map((v, i) => (v.length > widths[i] ? `${v.slice(0, widths[i] - 1)}…` : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  await writeLine(out, line(columns));
  let n = 0;
  for (const row of head) {
    await writeLine(out, line(row));
    n++;
  }
  while (!r.done) {
    await writeLine(out, line(r.value));
    n++;
    r = await it.next();
  }
  return n;
}

/**
 * Records of one model as a table of its tableColumns (resources/etm/models.json), at most
 * `maxRows` of them; returns how many records there were in all.
 */
export async function writeRecordTable(
  out: Writable,
  model: EtmModel,
  records: Iterable<EtmRecord>,
  maxRows = Infinity,
): Promise<number> {
  const columns = MODELS[model].tableColumns;
  let n = 0;
  await writeTable(
    out,
    columns,
    (function* () {
      for (const r of records) if (n++ < maxRows) yield columns.map((c) => cell(r.record[c]));
    })(),
  );
  return n;
}
