/**
 * `detections` (the source's flat Host List Detection stream): one detection with its host's
 * HOST_ID and a few host fields, without QID_INFO. Emits one etm_Finding, under the finding key
 * host_detections gives the same detection (finding-key.ts reads the same fields, here at the
 * top level). The per-QID attributes come from knowledge_base records (knowledge-base.ts): the
 * store keeps them once per QID and joins them into every finding of the QID when it is read,
 * so a QID's KB record may arrive before or after its detections. Those of the QID alone
 * (sourceVulnerabilityId) come with every detection.
 *
 * The host: a record has only some of its host's fields, so it must not re-identify a host the
 * store holds (that would drop the identifiers hosts or host_detections gave it, and could move
 * the host between assets); its finding goes to that host's asset as it stands. A host the store
 * does not hold yet, or holds purged, is resolved from the fields the record has, which are its
 * first view of its asset.
 *
 * A deletion record (`_ab_cdc_deleted_at`, DETECTION_KEY `*`) stands for all the detections of a
 * host Qualys no longer lists: the same etm_Asset__Deletion as the hosts stream's deletion of the
 * host, so applying both is applying one.
 */
import { VError } from 'verror';

import { DetectionHost } from '../../records';
import {
  AirbyteRecord,
  ASSET_DELETION,
  Converter,
  DestinationModel,
  DestinationRecord,
  StreamContext,
  VULNERABILITY,
} from '../converter';
import { detectionKey, findingKey } from '../finding-key';
import { ASSET, FINDING, FINDING_TYPE, SOURCE } from '../models';
import { assetRecord, CDC_DELETED_AT, hostDeletion, hostKey, hostRef } from './host-asset';

/** The key of a deletion record: every detection of the host. */
const ALL_DETECTIONS = '*';

/** A record's host fields besides HOST_ID, which is the host's ID. */
const HOST_FIELDS: ReadonlyArray<Exclude<keyof DetectionHost, 'HOST_ID'>> = [
  'subscription',
  'ASSET_ID',
  'IP',
  'TRACKING_METHOD',
  'DNS',
  'NETBIOS',
  'OS',
  'LAST_SCAN_DATETIME',
];

export class Detections extends Converter {
  readonly source = SOURCE;
  readonly stream = 'detections';
  readonly destinationModels: ReadonlyArray<DestinationModel> = [
    ASSET,
    ASSET_DELETION,
    FINDING,
    VULNERABILITY,
  ];

  async convert(
    record: AirbyteRecord,
    ctx: StreamContext,
  ): Promise<ReadonlyArray<DestinationRecord>> {
    const { data } = record;
    const where = this.key(data);
    const deletedAt = data[CDC_DELETED_AT];
    if (deletedAt !== undefined && deletedAt !== null) {
      if (where.detectionKey !== ALL_DETECTIONS) {
        throw new VError(
          'detections deletion record for host %s/%s has DETECTION_KEY %j: a deletion is of a whole host (%j)',
          where.subscription,
          where.hostId,
          where.detectionKey,
          ALL_DETECTIONS,
        );
      }
      return [hostDeletion(this.stream, where, deletedAt)];
    }
    const { subscription, hostId } = where;
    const qid = data.QID;
    if (qid === undefined || qid === null || String(qid).trim() === '') {
      throw new VError(
        'detections record for host %s/%s (DETECTION_KEY %j) has no QID',
        subscription,
        hostId,
        where.detectionKey,
      );
    }
    const vulnerabilityKey = String(qid).trim();
    const out: DestinationRecord[] = [];
    let assetKey = await ctx.assets.knownAsset(subscription, hostId);
    if (assetKey === undefined) {
      const host = hostOf(data);
      const ref = await hostRef(this.stream, host, ctx);
      out.push(assetRecord(ref, host, ctx));
      assetKey = ref.assetKey;
    }
    const finding: Record<string, unknown> = {
      findingKey: findingKey(assetKey, detectionKey(data)),
      assetKey,
      source: SOURCE,
      vendorProductName: SOURCE,
      findingType: FINDING_TYPE,
      subscription,
      qualysHostId: hostId,
      vulnerabilityKey,
    };
    out.push({ model: FINDING, record: ctx.map.detection.map(data, ctx.reject, finding) });
    if (ctx.map.ofQid.attributes.length > 0) {
      // No version: the QID's other knowledge, from knowledge_base, stays as it is; the store
      // writes nothing when the QID already has these values.
      out.push({
        model: VULNERABILITY,
        record: { vulnerabilityKey, version: null, ...ctx.map.ofQid.map(data, ctx.reject) },
      });
    }
    return out;
  }

  /** The record's primary key (src/records.ts DetectionRecord): subscription, HOST_ID, DETECTION_KEY. */
  private key(data: Record<string, unknown>): {
    subscription: string;
    hostId: string;
    detectionKey: string;
  } {
    const { subscription, hostId } = hostKey(this.stream, data, 'HOST_ID');
    const { DETECTION_KEY } = data;
    if (typeof DETECTION_KEY !== 'string' || DETECTION_KEY.trim() === '') {
      throw new VError(
        'detections record for host %s/%s has no DETECTION_KEY',
        subscription,
        hostId,
      );
    }
    return { subscription, hostId, detectionKey: DETECTION_KEY };
  }
}

/** The record's host as a host record has it: HOST_ID is the host's `ID`. */
function hostOf(data: Record<string, unknown>): Record<string, unknown> {
  const host: Record<string, unknown> = { ID: data.HOST_ID };
  for (const field of HOST_FIELDS) if (data[field] !== undefined) host[field] = data[field];
  return host;
}
