/**
 * `etm query [--db F] [--format table|json] [--limit N] QUERY`: assets or findings from the
 * store (see query/parser.ts for the language). json prints {model, record} lines, the same
 * records `etm convert` writes; table prints the model's tableColumns.
 */
import { VError } from 'verror';

import { Io, writeLine } from '../io';
import { ASSET } from '../models';
import { compileQuery } from '../query/compiler';
import { parseQuery } from '../query/parser';
import { selectRecords } from '../query/select';
import { EtmStore } from '../store/database';
import { collect } from '../store/reader';
import { writeRecordTable } from '../table';

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
  // A query that does not parse or names an unknown field is refused before the store is opened.
  const compiled = compileQuery(parseQuery(text), limit);
  const store = await EtmStore.open(options.db, { readonly: true });
  try {
    // Checked above with SQLite's SQL; run with the store's.
    const forStore =
      store.engine === 'sqlite' ? compiled : compileQuery(parseQuery(text), limit, store.dialect);
    const { model, records } = selectRecords(store, forStore);
    if (options.format === 'json') {
      for await (const r of records) await writeLine(io.stdout, JSON.stringify(r));
      return 0;
    }
    const n = await writeRecordTable(io.stdout, model, await collect(records));
    io.stderr.write(`${n} ${model === ASSET ? 'assets' : 'findings'}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
