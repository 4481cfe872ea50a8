/**
 * The configured catalog etm gives the source: all three streams, incremental, append_dedup
 * (ETM keeps one record per key; the source only sends what changed), with the stream schemas of
 * the input contract (resources/schemas).
 */
import fs from 'fs';
import path from 'path';

import { STREAM_NAMES } from '../../records';

const SCHEMAS = path.resolve(__dirname, '../../../resources/schemas');

export function sourceCatalog(): unknown {
  return {
    streams: STREAM_NAMES.map((name) => ({
      stream: {
        name,
        json_schema: JSON.parse(fs.readFileSync(path.join(SCHEMAS, `${name}.json`), 'utf8')),
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: 'append_dedup',
    })),
  };
}
