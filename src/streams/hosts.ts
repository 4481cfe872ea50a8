/**
 * `hosts`: the Host List API, one record per host (details=All with TruRisk, tags, cloud data).
 * An incremental sync also lists every host ID and emits a deletion record for each host the
 * previous sync listed and Qualys no longer does (see host-deletions), so that its findings can
 * be closed downstream.
 */
import { Dictionary } from 'ts-essentials';

import { listIds, rangeRecords } from '../qualys/lists';
import { hostListParams, sinceParams } from '../qualys/params';
import { compileRecordShape } from '../qualys/xml/shape';
import { HostRecord } from '../records';
import schema from '../../resources/schemas/hosts.json';
import { RangedStream } from './ranged-stream';
import { hostDeletions } from './host-deletions';
import { RangeSource } from './ranged-sync';

const HOST_SHAPE = compileRecordShape(schema);

export class Hosts extends RangedStream<HostRecord> {
  getJsonSchema(): Dictionary<unknown> {
    return schema;
  }

  get primaryKey(): string[][] {
    return [['subscription'], ['ID']];
  }

  override get cursorField(): string[] {
    return ['LAST_VULN_SCAN_DATETIME'];
  }

  protected get units() {
    return { record: 'hosts' };
  }

  protected override filters(): Record<string, unknown> {
    return { tag_filter: this.client.config.tag_filter ?? null };
  }

  protected rangeSource(): RangeSource<HostRecord> {
    const { client } = this;
    const config = client.config;
    return {
      list: (listing) =>
        listIds(client, 'host_list', { ...listing, size: listing.size ?? config.hosts_page_size }),
      read: async function* (range, since, stallsToSplit) {
        const request = {
          api: 'host_list' as const,
          params: { ...hostListParams(config), ...sinceParams('hosts', since) },
          items: { HOST: HOST_SHAPE },
          idField: 'ID',
          pageSize: config.hosts_page_size,
          stallsToSplit,
          what: 'Failed to list hosts',
        };
        for await (const host of rangeRecords(client, request, range)) {
          host.subscription = config.subscription;
          yield [host as unknown as HostRecord];
        }
      },
      removed: async (previous) => {
        const { records, live } = await hostDeletions(client, previous, this.cursorField[0]);
        return { records: records as HostRecord[], live };
      },
    };
  }
}
