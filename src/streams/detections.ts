/**
 * `detections`: the Host List Detection API as one flat record per detection, for warehouses:
 * the host's ID and the host fields people filter on, then the detection's own fields, without
 * QID_INFO or ATT&CK (join knowledge_base on QID). The same request, readers and cursor as
 * host_detections, without the knowledge-base join. On the fast path a record is bytes: the host
 * fields encoded once per host, then each detection's bytes from the detection encoder (keyed
 * with its DETECTION_KEY). A purged host gets one deletion record, DETECTION_KEY `*`.
 */
import { Dictionary } from 'ts-essentials';

import { EncodedDetection, HostEncoder } from '../qualys/xml/detection-encoder';
import { DETECTION_KEY_PARTS } from '../qualys/xml/fast-shape';
import { listIds } from '../qualys/lists';
import { DetectionHost, DetectionRecord, detectionKey } from '../records';
import { JsonSink, RawJson } from '../shared-json';
import schema from '../../resources/schemas/detections.json';
import { detectionFilters, detectionHosts, HOST_SHAPE } from './host_detections';
import { hostDeletions } from './host-deletions';
import { SourceHostDetections } from './qid-join';
import { RangedStream } from './ranged-stream';
import { RangeSource } from './ranged-sync';
import { leftOut, project } from './selected-fields';

const CLOSE_BRACE = Buffer.from('}');

/** A `detections` record of an encoded detection: its host's fields, then its own. */
export class FlatDetection extends RawJson {
  /**
   * @param host the host fields as JSON, from `{` to the comma after the last
   * @param detection keyed by the encoder (it ends with DETECTION_KEY)
   */
  constructor(
    private readonly host: Buffer,
    private readonly detection: EncodedDetection,
  ) {
    super();
  }

  writeJson(sink: JsonSink): void {
    sink.bytes(this.host);
    this.detection.writeFields(sink);
    sink.bytes(CLOSE_BRACE);
  }
}

/** A record as the source holds it: bytes on the fast path, an object otherwise. */
export type SourceDetectionRecord = FlatDetection | DetectionRecord;

export class Detections extends RangedStream<SourceDetectionRecord> {
  getJsonSchema(): Dictionary<unknown> {
    return schema;
  }

  get primaryKey(): string[][] {
    return [['subscription'], ['HOST_ID'], ['DETECTION_KEY']];
  }

  override get cursorField(): string[] {
    return ['LAST_SCAN_DATETIME'];
  }

  /** DETECTION_KEY is made of them: written even when the catalog leaves them out. */
  get keptFields(): readonly string[] {
    return DETECTION_KEY_PARTS;
  }

  protected get units() {
    return { record: 'detections' };
  }

  protected override filters(): Record<string, unknown> {
    return detectionFilters(this.client.config);
  }

  protected rangeSource(fields?: ReadonlySet<string>): RangeSource<SourceDetectionRecord> {
    const { client } = this;
    const config = client.config;
    const encoder = new HostEncoder(HOST_SHAPE, true, fields && new Set(leftOut(this, fields)));
    return {
      list: (listing) =>
        listIds(client, 'host_list', {
          ...listing,
          size: listing.size ?? config.detections_page_size,
        }),
      manyRecordsPerId: true,
      read: async function* (range, since, stallsToSplit) {
        for await (const host of detectionHosts(client, encoder, range, since, stallsToSplit)) {
          yield flatten(host, fields);
        }
      },
      removed: async (previous) => {
        const { records, live } = await hostDeletions(client, previous, this.cursorField[0]);
        const deletions = records.map(
          ({ subscription, ID, _ab_cdc_deleted_at }): DetectionRecord => ({
            subscription,
            HOST_ID: ID,
            DETECTION_KEY: '*',
            _ab_cdc_deleted_at,
            LAST_SCAN_DATETIME: _ab_cdc_deleted_at,
          }),
        );
        return { records: deletions, live };
      },
    };
  }
}

/**
 * The host fields of a `detections` record (absent ones stay absent): few, as they are on every
 * detection of the host (IPV6, DNS_DATA and the rest are in hosts and host_detections).
 */
function hostFieldsOf(host: SourceHostDetections): DetectionHost {
  return {
    subscription: host.subscription,
    HOST_ID: host.ID,
    ASSET_ID: host.ASSET_ID,
    IP: host.IP,
    TRACKING_METHOD: host.TRACKING_METHOD,
    DNS: host.DNS,
    NETBIOS: host.NETBIOS,
    OS: host.OS,
    LAST_SCAN_DATETIME: host.LAST_SCAN_DATETIME,
  };
}

/**
 * A host's detections as `detections` records, in their order: one batch. Encoded ones carry
 * only the selected fields (the encoder left the others out); objects are CatalogRead's to trim.
 */
function flatten(
  host: SourceHostDetections,
  selected: ReadonlySet<string> | undefined,
): SourceDetectionRecord[] {
  const fields = hostFieldsOf(host);
  let prefix: Buffer | undefined;
  return host.VULNERABILITIES.map((detection) => {
    if (detection instanceof EncodedDetection) {
      prefix ??= Buffer.from(
        `${JSON.stringify(selected ? project(fields, selected) : fields).slice(0, -1)},`,
        'utf8',
      );
      return new FlatDetection(prefix, detection);
    }
    return { ...fields, ...detection, DETECTION_KEY: detectionKey(detection) };
  });
}
