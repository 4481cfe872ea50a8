/**
 * `etm convert`: Airbyte messages on stdin → the final, deduplicated ETM records on stdout as
 * JSON lines {model, record}. Runs the same consumer and store as a sync, on a throwaway store
 * file (identity resolution needs indexed lookups, and the input may not fit in memory); what is
 * staged when input ends is committed even without a final STATE.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';

import { EtmDestination } from '../destination';
import { IdentificationRules } from '../identification-rules';
import { Io, lines, stderrLogger, writeLine } from '../io';
import { EtmStore } from '../store/database';
import { allAssets, allFindings } from '../store/reader';
import { SyncConsumer } from '../sync/consumer';

export interface ConvertOptions {
  readonly transformMap?: string;
  readonly identificationRules?: string;
}

/** Returns the exit code: 1 when the input reported or caused a failure. */
export async function convert(options: ConvertOptions, io: Io): Promise<number> {
  const rules = options.identificationRules
    ? IdentificationRules.select(options.identificationRules)
    : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-convert-'));
  const store = await EtmStore.open(path.join(dir, 'convert.db'), { ephemeral: true });
  try {
    const logger = stderrLogger(io);
    const destination = new EtmDestination(store, {
      transformMap: options.transformMap,
      rules,
      logger,
    });
    const consumer = new SyncConsumer(destination, { commitAtEnd: true });
    const result = await consumer.consume(lines(io.stdin));
    for await (const r of allAssets(store.sql)) await writeLine(io.stdout, JSON.stringify(r));
    for await (const r of allFindings(store.sql)) await writeLine(io.stdout, JSON.stringify(r));
    for (const f of result.failures) logger.warn(`input failure: ${f}`);
    if (result.uncommitted > 0)
      logger.warn(`${result.uncommitted} records were rolled back by a failure`);
    return result.failures.length > 0 ? 1 : 0;
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
