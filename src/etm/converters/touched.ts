/**
 * What a batch of source records will look up in the store — the hosts they name and the QIDs
 * whose knowledge they carry — so that the store reads those rows in a few statements before the
 * records are converted one by one (EtmDestination.prepare), instead of one read per record.
 * Only a hint: a record this cannot read is converted (or rejected) as usual.
 */
import { AirbyteRecord, streamOf } from '../converter';
import { DETECTIONS } from '../transform-map';
import { CDC_DELETED_AT } from './host-asset';

export interface Touched {
  readonly hosts: Array<readonly [subscription: string, hostId: string]>;
  readonly qids: string[];
}

const idOf = (v: unknown): string | undefined =>
  (typeof v === 'number' || typeof v === 'string') && String(v).trim() !== ''
    ? String(v).trim()
    : undefined;

export function touched(records: ReadonlyArray<AirbyteRecord>): Touched {
  const hosts: Array<readonly [string, string]> = [];
  const qids = new Set<string>();
  for (const { stream, data } of records) {
    if (data[CDC_DELETED_AT] !== undefined && data[CDC_DELETED_AT] !== null) continue;
    const name = streamOf(stream);
    const subscription = data.subscription;
    const hostId = idOf(name === 'detections' ? data.HOST_ID : data.ID);
    if (name !== 'knowledge_base' && typeof subscription === 'string' && hostId !== undefined)
      hosts.push([subscription, hostId]);
    if (name === 'knowledge_base' || name === 'detections') {
      const qid = idOf(data.QID);
      if (qid !== undefined) qids.add(qid);
    } else if (name === 'host_detections' && Array.isArray(data[DETECTIONS])) {
      for (const d of data[DETECTIONS] as Array<Record<string, unknown> | null>) {
        const qid = idOf(d?.QID);
        if (qid !== undefined) qids.add(qid);
      }
    }
  }
  return { hosts, qids: [...qids] };
}
