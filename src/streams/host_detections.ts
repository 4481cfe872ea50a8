/**
 * `host_detections`: the Host List Detection API, one record per host with its detections as
 * VULNERABILITIES, each joined with QID_INFO and MITRE ATT&CK (see qid-join). Host IDs come from
 * the Host List (details=None), as Qualys advises for parallel detection pulls (API doc §5).
 * Like hosts, an incremental sync emits a deletion for each host no longer listed (see
 * host-deletions), with no detections: the destination drops the host's row.
 */
import { Dictionary } from 'ts-essentials';

import { QualysConfig } from '../config';
import { QualysClient } from '../qualys/client';
import { knowledgeBaseBatch, listIds, rangeRecords } from '../qualys/lists';
import { detectionParams, sinceParams } from '../qualys/params';
import { HostEncoder } from '../qualys/xml/detection-encoder';
import { DetectionReader } from '../qualys/xml/detection-reader';
import { InvalidValueHandler } from '../qualys/xml/record-builder';
import { ResponseReader } from '../qualys/xml/response-reader';
import { compileRecordShape } from '../qualys/xml/shape';
import { KnowledgeBaseRecord } from '../records';
import detectionSchema from '../../resources/schemas/host_detections.json';
import kbSchema from '../../resources/schemas/knowledge_base.json';
import { hostDeletions } from './host-deletions';
import { QidInfoJoin, SourceHostDetections } from './qid-join';
import { RangedStream } from './ranged-stream';
import { RangeSource } from './ranged-sync';

/** The HOST of a Host List Detection response, for host_detections and `detections`. */
export const HOST_SHAPE = compileRecordShape(detectionSchema);
const KB_SHAPE = compileRecordShape(kbSchema);

export class HostDetections extends RangedStream<SourceHostDetections> {
  getJsonSchema(): Dictionary<unknown> {
    return detectionSchema;
  }

  get primaryKey(): string[][] {
    return [['subscription'], ['ID']];
  }

  override get cursorField(): string[] {
    return ['LAST_SCAN_DATETIME'];
  }

  protected get units() {
    return { record: 'hosts', detail: 'detections' };
  }

  protected override filters(): Record<string, unknown> {
    return detectionFilters(this.client.config);
  }

  /** A reader whose range is read may wait for its QIDs' batch; another uses the call meanwhile. */
  protected override get readersPerCall(): number {
    return 2;
  }

  protected rangeSource(): RangeSource<SourceHostDetections> {
    const { client, logger } = this;
    const config = client.config;
    const join = new QidInfoJoin(
      async (qids) =>
        (await knowledgeBaseBatch(client, qids, KB_SHAPE)) as unknown as KnowledgeBaseRecord[],
      config.kb_batch_size,
      (qids) =>
        logger.warn(
          `QIDs missing from the knowledge base (their detections have no QID_INFO): ${qids.join(', ')}`,
        ),
    );
    // One for all calls: its output arena and learned element orders outlive each page.
    const encoder = new HostEncoder(HOST_SHAPE);
    return {
      list: (listing) =>
        listIds(client, 'host_list', {
          ...listing,
          size: listing.size ?? config.detections_page_size,
        }),
      read: (range, since, stallsToSplit) =>
        oneEach(join.joined(detectionHosts(client, encoder, range, since, stallsToSplit))),
      detailCount: (host) => host.VULNERABILITIES.length,
      removed: async (previous) => {
        const { records, live } = await hostDeletions(client, previous, this.cursorField[0]);
        return {
          records: records.map((r) => ({ ...r, VULNERABILITIES: [] }) as SourceHostDetections),
          live,
        };
      },
    };
  }
}

/**
 * The HOSTs of a range of the Host List Detection API, with their detections, not joined: what
 * host_detections joins with the knowledge base and `detections` flattens. `encoder` is the
 * stream's, one for all its calls (its output arena and learned element orders outlive each page).
 */
export function detectionHosts(
  client: QualysClient,
  encoder: HostEncoder,
  range: { from: number; to: number },
  since: string | undefined,
  stallsToSplit: number,
): AsyncGenerator<SourceHostDetections> {
  const config = client.config;
  const request = {
    api: 'detection' as const,
    params: { ...detectionParams(config), ...sinceParams('hosts', since) },
    // The fast path (detection-reader) unless RESULTS are to be capped (field lessons #15),
    // which the general reader does as they stream in.
    items: config.include_results
      ? (onInvalidValue: InvalidValueHandler) =>
          new ResponseReader({ HOST: HOST_SHAPE }, onInvalidValue, resultsCap(config))
      : (onInvalidValue: InvalidValueHandler) =>
          new DetectionReader(HOST_SHAPE, onInvalidValue, encoder),
    idField: 'ID',
    pageSize: config.detections_page_size,
    stallsToSplit,
    what: 'Failed to list host detections',
  };
  return hostsOf(rangeRecords(client, request, range), config);
}

/** The parsed HOSTs of a range as host_detections records. */
async function* hostsOf(
  raw: AsyncIterable<Record<string, unknown>>,
  config: QualysConfig,
): AsyncGenerator<SourceHostDetections> {
  for await (const record of raw) {
    const host = record as unknown as SourceHostDetections;
    host.subscription = config.subscription;
    host.VULNERABILITIES ??= [];
    yield host;
  }
}

/** Each record a batch of its own (a host already carries its detections). */
async function* oneEach<T>(records: AsyncIterable<T>): AsyncGenerator<T[]> {
  for await (const record of records) yield [record];
}

/** RESULTS keep results_max_length characters, ending with a marker saying how much was cut. */
function resultsCap(config: QualysConfig): ReadonlyMap<string, number> {
  return new Map([['RESULTS', config.results_max_length]]);
}

/** The config values that decide which detections Qualys sends (src/qualys/params.ts). */
export function detectionFilters(config: QualysConfig): Record<string, unknown> {
  return {
    // Sorted: the order a list is written in changes nothing Qualys sends.
    finding_types: [...config.finding_types].sort(),
    include_information_gathered: config.include_information_gathered,
    severities: [...config.severities].sort(),
    statuses: [...config.statuses].sort(),
    tag_filter: config.tag_filter ?? null,
    include_ignored: config.include_ignored,
    include_disabled: config.include_disabled,
    include_results: config.include_results,
  };
}
