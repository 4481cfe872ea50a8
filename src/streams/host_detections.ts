/**
 * `host_detections`: the Host List Detection API, one record per host with its detections as
 * VULNERABILITIES, each joined with QID_INFO and MITRE ATT&CK (see qid-join). Host IDs come from
 * the Host List (details=None), as Qualys advises for parallel detection pulls (API doc §5).
 */
import { Dictionary } from 'ts-essentials';

import { knowledgeBaseBatch, listHostIdRanges, rangeRecords } from '../qualys/lists';
import { detectionParams, sinceParams } from '../qualys/params';
import { compileRecordShape } from '../qualys/xml/shape';
import { HostDetectionRecord, KnowledgeBaseRecord } from '../records';
import detectionSchema from '../../resources/schemas/host_detections.json';
import kbSchema from '../../resources/schemas/knowledge_base.json';
import { QidInfoJoin } from './qid-join';
import { RangedStream } from './ranged-stream';
import { RangeSource } from './ranged-sync';

const HOST_SHAPE = compileRecordShape(detectionSchema);
const KB_SHAPE = compileRecordShape(kbSchema);

export class HostDetections extends RangedStream<HostDetectionRecord> {
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

  protected get workers(): number {
    return this.client.config.max_concurrency;
  }

  protected rangeSource(): RangeSource<HostDetectionRecord> {
    const { client, logger } = this;
    const config = client.config;
    const join = new QidInfoJoin(
      async (qids) =>
        (await knowledgeBaseBatch(client, qids, KB_SHAPE)) as unknown as KnowledgeBaseRecord[],
      config.kb_batch_size,
    );
    let reportedMissing = 0;
    return {
      list: (listing) =>
        listHostIdRanges(client, { ...listing, size: listing.size ?? config.detections_page_size }),
      read: async function* (range, since, stallsToSplit) {
        const request = {
          api: 'detection' as const,
          params: { ...detectionParams(config), ...sinceParams('hosts', since) },
          items: { HOST: HOST_SHAPE },
          idField: 'ID',
          pageSize: config.detections_page_size,
          stallsToSplit,
          what: 'Failed to list host detections',
        };
        // Hosts wait here, in order, for their QIDs' batch; reading goes on meanwhile.
        const held: HeldHost[] = [];
        const reportMissing = () => {
          if (join.missing.size > reportedMissing) {
            reportedMissing = join.missing.size;
            logger.warn(
              `QIDs missing from the knowledge base (their detections have no QID_INFO): ` +
                [...join.missing].slice(0, 20).join(', '),
            );
          }
        };
        try {
          for await (const raw of rangeRecords(client, request, range)) {
            const host = raw as unknown as HostDetectionRecord;
            host.subscription = config.subscription;
            host.VULNERABILITIES ??= [];
            if (config.include_results) capResults(host, config.results_max_length);
            // Usually every QID is known: joined at once, no promise, no waiting.
            const joined = join.enrichKnown(host);
            if (joined && held.length === 0) {
              yield host;
              continue;
            }
            held.push(joined ? { host, ready: JOINED, joined } : holdFor(host, join.enrich(host)));
            if (held.length >= MAX_HELD_HOSTS) {
              join.flush();
              await held[0].ready;
            }
            while (held.length > 0 && held[0].joined) yield (held.shift() as HeldHost).host;
            reportMissing();
          }
        } finally {
          // Also when the range fails or stalls: hosts read so far count as delivered.
          join.flush();
          for (const entry of held.splice(0)) {
            await entry.ready;
            yield entry.host;
          }
          reportMissing();
        }
      },
      detailCount: (host) => host.VULNERABILITIES.length,
    };
  }
}

/** Hosts a range reader holds while their QIDs are fetched, before it flushes the batch. */
const MAX_HELD_HOSTS = 100;

const JOINED = Promise.resolve();

interface HeldHost {
  host: HostDetectionRecord;
  ready: Promise<void>;
  joined: boolean;
}

function holdFor(host: HostDetectionRecord, enriched: Promise<void>): HeldHost {
  const entry: HeldHost = { host, ready: enriched, joined: false };
  entry.ready = enriched.then(() => {
    entry.joined = true;
  });
  // Awaited in order later; a failure is raised there, not as an unhandled rejection.
  entry.ready.catch(() => undefined);
  return entry;
}

/** RESULTS can be huge (field lessons #15): keep `max` characters and say how much was cut. */
function capResults(host: HostDetectionRecord, max: number): void {
  for (const detection of host.VULNERABILITIES) {
    const results = detection.RESULTS;
    if (results !== undefined && results.length > max) {
      const marker = `\n[… ${results.length - max} more characters truncated]`;
      detection.RESULTS = results.slice(0, Math.max(0, max - marker.length)) + marker;
    }
  }
}
