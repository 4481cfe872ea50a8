/**
 * `knowledge_base`: the KnowledgeBase API (details=All), one record per QID, incremental on
 * LAST_SERVICE_MODIFICATION_DATETIME through last_modified_after. QIDs are listed first
 * (details=None) and read in ranges of kb_batch_size, like hosts. Each record also carries the
 * QID's MITRE ATT&CK arrays, which `detections` (unlike host_detections) leaves to this stream.
 */
import { Dictionary } from 'ts-essentials';

import { listIds, rangeRecords } from '../qualys/lists';
import { attackMappingOf } from '../qualys/mitre';
import { threatIntelOf } from '../qualys/qid-info';
import { sinceParams } from '../qualys/params';
import { compileRecordShape } from '../qualys/xml/shape';
import { KnowledgeBaseRecord } from '../records';
import schema from '../../resources/schemas/knowledge_base.json';
import { RangedStream } from './ranged-stream';
import { RangeSource } from './ranged-sync';

const VULN_SHAPE = compileRecordShape(schema);

export class KnowledgeBase extends RangedStream<KnowledgeBaseRecord> {
  getJsonSchema(): Dictionary<unknown> {
    return schema;
  }

  get primaryKey(): string[][] {
    return [['subscription'], ['QID']];
  }

  override get cursorField(): string[] {
    return ['LAST_SERVICE_MODIFICATION_DATETIME'];
  }

  protected get units() {
    return { record: 'QIDs' };
  }

  protected rangeSource(): RangeSource<KnowledgeBaseRecord> {
    const { client } = this;
    const config = client.config;
    return {
      list: (listing) =>
        listIds(client, 'knowledge_base', {
          ...listing,
          size: listing.size ?? config.kb_batch_size,
        }),
      read: async function* (range, since, stallsToSplit) {
        const request = {
          api: 'knowledge_base' as const,
          params: { details: 'All', ...sinceParams('knowledge_base', since) },
          items: { VULN: VULN_SHAPE },
          idField: 'QID',
          stallsToSplit,
          what: 'Failed to list knowledge base QIDs',
        };
        for await (const vuln of rangeRecords(client, request, range)) {
          vuln.subscription = config.subscription;
          const record = vuln as unknown as KnowledgeBaseRecord;
          yield [Object.assign(record, attackMappingOf(threatIntelOf(record), record.CATEGORY))];
        }
      },
    };
  }
}
