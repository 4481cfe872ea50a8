/**
 * `host_detections` (Qualys Host List Detection): one host with all its detections. Emits the
 * host's asset view, one etm_Finding per detection, and the per-QID attributes of those findings
 * once per QID as etm_Vulnerability (see converter.ts).
 */
import { VError } from 'verror';

import knowledgeJoin from '../../../resources/etm/knowledge-join.json';
import {
  AirbyteRecord,
  Converter,
  DestinationModel,
  DestinationRecord,
  StreamContext,
  VULNERABILITY,
} from '../converter';
import { detectionKey, findingKey } from '../finding-key';
import { FINDING, FINDING_TYPE, SOURCE } from '../models';
import { normaliseDatetime } from '../normalisers';
import { parseSourcePath } from '../source-path';
import { DETECTIONS } from '../transform-map';
import { assetRecord, CDC_DELETED_AT, hostRef } from './host-asset';

const knowledgeVersion = parseSourcePath(knowledgeJoin.versionPath).get;

export class HostDetections extends Converter {
  readonly source = SOURCE;
  readonly stream = 'host_detections';
  readonly destinationModels: ReadonlyArray<DestinationModel> = [
    'etm_Asset',
    FINDING,
    VULNERABILITY,
  ];

  async convert(
    record: AirbyteRecord,
    ctx: StreamContext,
  ): Promise<ReadonlyArray<DestinationRecord>> {
    // A host no longer listed: the hosts stream's deletion of the same host purges it.
    if (record.data[CDC_DELETED_AT] !== undefined && record.data[CDC_DELETED_AT] !== null)
      return [];
    const host = await hostRef(this.stream, record.data, ctx);
    const out: DestinationRecord[] = [assetRecord(host, record.data, ctx)];
    const detections = record.data[DETECTIONS] ?? [];
    if (!Array.isArray(detections)) {
      throw new VError(
        'host_detections record for host %s/%s: %s is not a list',
        host.subscription,
        host.hostId,
        DETECTIONS,
      );
    }
    const qids = new Set<string>();
    detections.forEach((detection: Record<string, unknown> | null, i) => {
      if (!detection) return;
      const qid = detection.QID;
      if (qid === undefined || qid === null || String(qid).trim() === '') {
        throw new VError(
          'host_detections record for host %s/%s: detection %d has no QID',
          host.subscription,
          host.hostId,
          i + 1,
        );
      }
      const vulnerabilityKey = String(qid).trim();
      if (!qids.has(vulnerabilityKey)) {
        qids.add(vulnerabilityKey);
        const version = normaliseDatetime(knowledgeVersion(detection));
        if (version === null || !ctx.knowledgeCurrent(vulnerabilityKey, version)) {
          out.push({
            model: VULNERABILITY,
            record: { vulnerabilityKey, version, ...ctx.map.knowledge.map(detection, ctx.reject) },
          });
        }
      }
      const finding: Record<string, unknown> = {
        findingKey: findingKey(host.assetKey, detectionKey(detection)),
        assetKey: host.assetKey,
        source: SOURCE,
        vendorProductName: SOURCE,
        findingType: FINDING_TYPE,
        subscription: host.subscription,
        qualysHostId: host.hostId,
        vulnerabilityKey,
      };
      out.push({ model: FINDING, record: ctx.map.detection.map(detection, ctx.reject, finding) });
    });
    return out;
  }
}
