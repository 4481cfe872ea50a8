/**
 * `etm query [--db F] [--format table|json|csv] [--sort FIELD[:desc]] [--columns a,b] [--limit N]
 * QUERY`: assets or findings from the store (see query/parser.ts for the language), read through
 * the read model. json prints {model, record} lines, the same records `etm convert` writes; csv
 * and table print the columns asked for (by default the model's table columns, findings with
 * their asset's name and IP address), and the table ends with "(N of M findings)".
 */
import { VError } from 'verror';

import { formatCount } from '../sync/summary';
import { Io, writeLine } from '../io';
import { ASSET } from '../models';
import { writeCsv } from '../query/output';
import { chosenColumns, listedValue, listModel, ReadModel } from '../query/read-model';
import { EtmStore } from '../store/database';
import { cell, writeTable } from '../table';

export interface QueryOptions {
  readonly db: string;
  readonly format: string;
  readonly limit?: string;
  readonly sort?: string;
  readonly columns?: string;
}

const FORMATS = ['table', 'json', 'csv'];
/** Wide enough for whole finding names; wider cells are cut with "…". */
const TABLE_CELL_WIDTH = 100;

export async function query(text: string, options: QueryOptions, io: Io): Promise<number> {
  if (!FORMATS.includes(options.format)) {
    throw new VError('--format must be table, json or csv, not %j', options.format);
  }
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new VError('--limit must be a whole number, not %j', options.limit);
  }
  const request = { query: text, sort: options.sort, limit };
  // A query, sort or column list that does not hold is refused before the store is opened.
  const model = listModel(request);
  const columns = chosenColumns(model, options.columns);
  const store = await EtmStore.open(options.db, { readonly: true });
  try {
    const reader = new ReadModel(store);
    const rows = reader.records(request);
    if (options.format === 'json') {
      for await (const r of rows)
        await writeLine(io.stdout, JSON.stringify({ model, record: r.record }));
      return 0;
    }
    if (options.format === 'csv') {
      await writeCsv(io.stdout, columns, rows);
      return 0;
    }
    const shown = await writeTable(
      io.stdout,
      columns,
      (async function* () {
        for await (const r of rows) yield columns.map((c) => cell(listedValue(r, c)));
      })(),
      TABLE_CELL_WIDTH,
    );
    const total = limit === undefined ? shown : await reader.count(request);
    const noun = model === ASSET ? 'assets' : 'findings';
    await writeLine(io.stdout, `(${formatCount(shown)} of ${formatCount(total)} ${noun})`);
    return 0;
  } finally {
    await store.close();
  }
}
