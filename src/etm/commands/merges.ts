/**
 * `etm merges [--db F] [--rule R] [--asset KEY] [--format table|json]`: every time hosts became
 * one asset — the host that joined, the asset's host it matched, and the identification rule and
 * value that decided it — for a person to review the merges the rules made.
 */
import { VError } from 'verror';

import { KNOWN_RULES } from '../identification-rules';
import { Io, writeLine } from '../io';
import { EtmStore } from '../store/database';
import { writeTable } from '../table';

export interface MergesOptions {
  readonly db: string;
  readonly rule?: string;
  readonly asset?: string;
  readonly format: string;
}

interface MergeRow {
  asset_key: string;
  kind: string;
  subscription: string;
  host_id: string;
  matched_subscription: string;
  matched_host_id: string;
  rule: string;
  value: string;
  merged_at: string;
}

const COLUMNS = ['ASSET', 'KIND', 'HOST', 'MATCHED HOST', 'RULE', 'VALUE', 'AT'];

export async function merges(options: MergesOptions, io: Io): Promise<number> {
  if (options.format !== 'table' && options.format !== 'json')
    throw new VError('--format must be table or json, not %j', options.format);
  if (options.rule !== undefined && !KNOWN_RULES.some((r) => r.name === options.rule)) {
    throw new VError(
      '--rule: unknown identification rule %j (known: %s)',
      options.rule,
      KNOWN_RULES.map((r) => r.name).join(', '),
    );
  }
  const store = await EtmStore.open(options.db, { readonly: true });
  try {
    const rule = options.rule ?? null;
    const asset = options.asset ?? null;
    const rows = await store.sql.all<MergeRow>(
      `SELECT asset_key, kind, subscription, host_id, matched_subscription, matched_host_id,
              rule, value, merged_at
         FROM asset_merges
        WHERE (CAST(? AS TEXT) IS NULL OR rule = ?) AND (CAST(? AS TEXT) IS NULL OR asset_key = ?)
        ORDER BY id`,
      [rule, rule, asset, asset],
    );
    if (options.format === 'json') {
      for (const r of rows) {
        await writeLine(
          io.stdout,
          JSON.stringify({
            assetKey: r.asset_key,
            kind: r.kind,
            host: { subscription: r.subscription, hostId: r.host_id },
            matched: { subscription: r.matched_subscription, hostId: r.matched_host_id },
            rule: r.rule,
            value: r.value,
            mergedAt: r.merged_at,
          }),
        );
      }
      return 0;
    }
    const table = (function* () {
      for (const r of rows) {
        yield [
          r.asset_key,
          r.kind,
          `${r.subscription}/${r.host_id}`,
          `${r.matched_subscription}/${r.matched_host_id}`,
          r.rule,
          r.value,
          r.merged_at,
        ];
      }
    })();
    const n = await writeTable(io.stdout, COLUMNS, table);
    await writeLine(io.stderr, `${n} merge${n === 1 ? '' : 's'}`);
    return 0;
  } finally {
    await store.close();
  }
}
