/**
 * `knowledge_base` (Qualys KnowledgeBase): emits nothing for assets or findings directly. Each KB
 * record becomes one etm_Vulnerability holding the refreshed per-QID finding attributes (title,
 * description, solution, CVSS, CVEs, exploits) that its join covers; the store keeps those once
 * per QID and every finding of the QID reads them, so a changed QID updates all its findings in
 * one row write, committed with the checkpoint that covers the KB record — no buffering until
 * onProcessingComplete. MITRE ATT&CK: the source's mapping rides on each KB record (the
 * `detections` stream leaves it there); a record without it leaves MITRE as detections set it.
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
import { detectionFromKnowledgeBase } from '../knowledge-join';
import { SOURCE } from '../models';
import { normaliseDatetime } from '../normalisers';
import { parseSourcePath } from '../source-path';

const knowledgeVersion = parseSourcePath(knowledgeJoin.versionPath).get;
const carriedPaths = knowledgeJoin.carriedByKnowledgeBase.map((p) => parseSourcePath(p).get);

export class KnowledgeBase extends Converter {
  readonly source = SOURCE;
  readonly stream = 'knowledge_base';
  readonly destinationModels: ReadonlyArray<DestinationModel> = [VULNERABILITY];

  async convert(
    record: AirbyteRecord,
    ctx: StreamContext,
  ): Promise<ReadonlyArray<DestinationRecord>> {
    const qid = record.data.QID;
    if (qid === undefined || qid === null || String(qid).trim() === '') {
      throw new VError(
        'knowledge_base record from subscription %j has no QID',
        record.data.subscription ?? null,
      );
    }
    const { refreshable, carried } = ctx.map;
    const carries = carriedPaths.some((get) => get(record.data) !== undefined);
    if (refreshable.attributes.length === 0 && !(carries && carried.attributes.length > 0))
      return [];
    const detection = detectionFromKnowledgeBase(record.data);
    const vulnerability: Record<string, unknown> = {
      vulnerabilityKey: String(qid).trim(),
      version: normaliseDatetime(knowledgeVersion(detection)),
      ...refreshable.map(detection, ctx.reject),
    };
    if (carries) carried.map(record.data, ctx.reject, vulnerability);
    return [{ model: VULNERABILITY, record: vulnerability }];
  }
}
