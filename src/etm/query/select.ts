/**
 * Runs a query against the store: the records it selects, streamed in store order — assets as
 * materialised, findings assembled from their current report (store/reader.ts).
 */
import { ASSET, EtmModel } from '../models';
import { EtmStore } from '../store/database';
import { EtmRecord, FindingAssembler, FindingRow } from '../store/reader';
import { CompiledQuery } from './compiler';

export interface Selection {
  readonly model: EtmModel;
  readonly records: AsyncIterable<EtmRecord>;
}

export function selectRecords(store: EtmStore, compiled: CompiledQuery): Selection {
  const rows = store.sql.iterate<unknown>(compiled.sql, compiled.params);
  const assembler = new FindingAssembler(store.sql);
  const records = (async function* (): AsyncGenerator<EtmRecord> {
    for await (const row of rows) {
      yield compiled.model === ASSET
        ? { model: ASSET, record: JSON.parse((row as { record: string }).record) }
        : await assembler.record(row as FindingRow);
    }
  })();
  return { model: compiled.model, records };
}
