/**
 * `etm query [--db F] [--format table|json] [--limit N] QUERY`: assets or findings from the
 * store (see query/parser.ts for the language). json prints {model, record} lines, the same
 * records `etm convert` writes; table prints the model's tableColumns.
 */
import { VError } from 'verror';

import { Io, writeLine } from '../io';
import { ASSET, MODELS } from '../models';
import { compileQuery } from '../query/compiler';
import { parseQuery } from '../query/parser';
import { EtmStore } from '../store/database';
import { EtmRecord, FindingAssembler, FindingRow } from '../store/reader';
import { cell, writeTable } from '../table';

export interface QueryOptions {
  readonly db: string;
  readonly format: string;
  readonly limit?: string;
}

export async function query(text: string, options: QueryOptions, io: Io): Promise<number> {
  if (options.format !== 'table' && options.format !== 'json') {
    throw new VError('--format must be table or json, not %j', options.format);
  }
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new VError('--limit must be a whole number, not %j', options.limit);
  }
  const compiled = compileQuery(parseQuery(text), limit);
  const store = EtmStore.open(options.db, { readonly: true });
  try {
    const rows = store.db.prepare(compiled.sql).iterate(...compiled.params);
    const assembler = new FindingAssembler(store.db);
    const records = (function* (): Generator<EtmRecord> {
      for (const row of rows) {
        yield compiled.model === ASSET
          ? { model: ASSET, record: JSON.parse((row as { record: string }).record) }
          : assembler.record(row as FindingRow);
      }
    })();
    if (options.format === 'json') {
      for (const r of records) await writeLine(io.stdout, JSON.stringify(r));
      return 0;
    }
    const columns = MODELS[compiled.model].tableColumns;
    const n = await writeTable(
      io.stdout,
      columns,
      (function* () {
        for (const r of records) yield columns.map((c) => cell(r.record[c]));
      })(),
    );
    io.stderr.write(`${n} ${compiled.model === ASSET ? 'assets' : 'findings'}\n`);
    return 0;
  } finally {
    store.close();
  }
}
