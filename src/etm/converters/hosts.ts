/**
 * `hosts` (Qualys Host List): the host's asset attributes, including those only the Host List
 * has — TRURISK_SCORE, ASSET_CRITICALITY_SCORE, TAGS, LAST_VULN_SCAN_DATETIME.
 */
import {
  AirbyteRecord,
  Converter,
  DestinationModel,
  DestinationRecord,
  StreamContext,
} from '../converter';
import { ASSET, SOURCE } from '../models';
import { assetRecord, hostRef } from './host-asset';

export class Hosts extends Converter {
  readonly source = SOURCE;
  readonly stream = 'hosts';
  readonly destinationModels: ReadonlyArray<DestinationModel> = [ASSET];

  async convert(
    record: AirbyteRecord,
    ctx: StreamContext,
  ): Promise<ReadonlyArray<DestinationRecord>> {
    const host = hostRef(this.stream, record.data, ctx);
    return [assetRecord(host, record.data, ctx)];
  }
}
