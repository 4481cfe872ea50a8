/**
 * `hosts` (Qualys Host List): the host's asset attributes, including those only the Host List
 * has — TRURISK_SCORE, ASSET_CRITICALITY_SCORE, TAGS, LAST_VULN_SCAN_DATETIME.
 *
 * A record with `_ab_cdc_deleted_at` (Airbyte's CDC convention) says the host is no longer listed:
 * purged from Qualys or outside the tag filter. It carries only `ID` and `subscription`, so it
 * must not be resolved like a host (that would create an asset for it); it becomes an
 * etm_Asset__Deletion instead.
 */
import {
  AirbyteRecord,
  ASSET_DELETION,
  Converter,
  DestinationModel,
  DestinationRecord,
  StreamContext,
} from '../converter';
import { ASSET, SOURCE } from '../models';
import { assetRecord, CDC_DELETED_AT, hostDeletion, hostKey, hostRef } from './host-asset';

export class Hosts extends Converter {
  readonly source = SOURCE;
  readonly stream = 'hosts';
  readonly destinationModels: ReadonlyArray<DestinationModel> = [ASSET, ASSET_DELETION];

  async convert(
    record: AirbyteRecord,
    ctx: StreamContext,
  ): Promise<ReadonlyArray<DestinationRecord>> {
    const deletedAt = record.data[CDC_DELETED_AT];
    if (deletedAt !== undefined && deletedAt !== null)
      return [hostDeletion(this.stream, hostKey(this.stream, record.data), deletedAt)];
    const host = await hostRef(this.stream, record.data, ctx);
    return [assetRecord(host, record.data, ctx)];
  }
}
