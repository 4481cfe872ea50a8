/**
 * The knowledge-base join of host_detections: each detection gets QID_INFO and its MITRE ATT&CK
 * arrays. QIDs not seen yet in this sync are fetched in batches of kb_batch_size per POST
 * (field lessons #6) and cached for the sync. A batch is sent when it is full, when a reader
 * holds too many hosts waiting for it, when every reader has finished its range and waits for
 * it, or FLUSH_AFTER_MS after its first QID — so a host waits for at most one batch, and a
 * 300-calls-per-hour subscription does not spend its calls on tiny batches (one per range, as
 * sending at each range's end did). Readers that wait do not hold a call: the stream runs more
 * range readers than calls (HostDetections). Detections share their QID's objects: nothing is
 * copied.
 */
import { AttackMapping, attackMappingOf } from '../qualys/mitre';
import { qidInfoOf } from '../qualys/qid-info';
import { EncodedDetection } from '../qualys/xml/detection-encoder';
import { Detection, HostDetectionRecord, KnowledgeBaseRecord, QidInfo } from '../records';

/**
 * A detection as the source holds it: parsed by the general reader, or on the fast path still
 * the JSON bytes the detection encoder made of it (to which the join appends QID_INFO as bytes).
 */
export type SourceDetection = Detection | EncodedDetection;

/** A host_detections record inside the source, before it is written: either kind of detection. */
export type SourceHostDetections = Omit<HostDetectionRecord, 'VULNERABILITIES'> & {
  VULNERABILITIES: SourceDetection[];
};

interface Enrichment {
  QID_INFO: QidInfo;
  attack: AttackMapping;
  /**
   * The same as JSON that ends an EncodedDetection: `,"QID_INFO":…,"MITRE_…":[…]}`; made for the
   * first such detection (the general path, e.g. with include_results, needs none).
   */
  tail?: Buffer;
}

interface Batch {
  qids: number[];
  done: Promise<void>;
  settle: (error?: Error) => void;
}

/** A batch that is not full is sent this long after its first QID, to bound the wait. */
const FLUSH_AFTER_MS = 2000;
/** Hosts a range reader holds while their QIDs are fetched, before it flushes the batch. */
const MAX_HELD_HOSTS = 100;
const JOINED = Promise.resolve();

interface HeldHost {
  host: SourceHostDetections;
  ready: Promise<void>;
  joined: boolean;
}

export class QidInfoJoin {
  private readonly known = new Map<number, Enrichment | null>();
  /** Readers still reading their range (not waiting at its end). */
  private reading = 0;
  private readonly waiting = new Map<number, Promise<void>>();
  private open: Batch | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /**
   * @param onMissing told of QIDs the knowledge base did not return (their detections have no
   *   QID_INFO)
   */
  constructor(
    private readonly fetchBatch: (qids: number[]) => Promise<KnowledgeBaseRecord[]>,
    private readonly batchSize: number,
    private readonly onMissing: (qids: number[]) => void,
  ) {}

  /**
   * The hosts of one range reader, in their order, each once its detections are joined. Hosts
   * whose QIDs are unknown wait (reading goes on) until their batch is back; MAX_HELD_HOSTS
   * waiting, or the range's end when no other reader could still add QIDs, sends the open batch
   * at once. Hosts read before a failure are still delivered, then the failure is raised.
   */
  async *joined(hosts: AsyncIterable<SourceHostDetections>): AsyncGenerator<SourceHostDetections> {
    const held: HeldHost[] = [];
    this.reading++;
    try {
      for await (const host of hosts) {
        // Usually every QID is known: joined at once, no promise, no waiting.
        const joined = this.enrichKnown(host);
        if (joined && held.length === 0) {
          yield host;
          continue;
        }
        held.push(joined ? { host, ready: JOINED, joined } : holdFor(host, this.enrich(host)));
        if (held.length >= MAX_HELD_HOSTS) {
          this.flush();
          await held[0].ready;
        }
        while (held.length > 0 && held[0].joined) yield (held.shift() as HeldHost).host;
      }
    } finally {
      if (--this.reading === 0) this.flush();
      for (const entry of held.splice(0)) {
        await entry.ready;
        yield entry.host;
      }
    }
  }

  /**
   * Attaches QID_INFO and ATT&CK at once if every QID of the host is known (the usual case, and
   * no promise per host then); returns false, attaching nothing, otherwise.
   */
  private enrichKnown(host: SourceHostDetections): boolean {
    const detections = host.VULNERABILITIES;
    for (let i = 0; i < detections.length; i++) {
      if (!this.known.has(detections[i].QID)) return false;
    }
    for (let i = 0; i < detections.length; i++) {
      attach(detections[i], this.known.get(detections[i].QID));
    }
    return true;
  }

  /**
   * Attaches QID_INFO and ATT&CK to the host's detections once their QIDs are known; resolves at
   * once when they all are. Unknown QIDs join the open batch.
   */
  private async enrich(host: SourceHostDetections): Promise<void> {
    let waits: Set<Promise<void>> | undefined;
    for (const detection of host.VULNERABILITIES) {
      if (this.known.has(detection.QID)) continue;
      (waits ??= new Set()).add(this.request(detection.QID));
    }
    if (waits) await Promise.all(waits);
    for (const detection of host.VULNERABILITIES) attach(detection, this.known.get(detection.QID));
  }

  /** Sends the open batch now (a reader is waiting on it). */
  private flush(): void {
    const batch = this.open;
    if (!batch) return;
    this.open = undefined;
    clearTimeout(this.flushTimer);
    this.fetchBatch(batch.qids).then(
      (vulns) => {
        for (const vuln of vulns) {
          const info = qidInfoOf(vuln);
          this.known.set(vuln.QID, enrichmentOf(info));
        }
        const missing = batch.qids.filter((qid) => !this.known.has(qid));
        for (const qid of missing) this.known.set(qid, null);
        if (missing.length) this.onMissing(missing);
        this.settled(batch);
      },
      (error: Error) => this.settled(batch, error),
    );
  }

  private request(qid: number): Promise<void> {
    const waiting = this.waiting.get(qid);
    if (waiting) return waiting;
    if (this.open === undefined) {
      this.open = newBatch();
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_AFTER_MS);
    }
    const batch = this.open;
    batch.qids.push(qid);
    this.waiting.set(qid, batch.done);
    if (batch.qids.length >= this.batchSize) this.flush();
    return batch.done;
  }

  private settled(batch: Batch, error?: Error): void {
    // A failed batch is forgotten, so that later hosts ask for its QIDs again.
    for (const qid of batch.qids) this.waiting.delete(qid);
    batch.settle(error);
  }
}

function holdFor(host: SourceHostDetections, enriched: Promise<void>): HeldHost {
  const entry: HeldHost = { host, ready: enriched, joined: false };
  entry.ready = enriched.then(() => {
    entry.joined = true;
  });
  // Awaited in order later; a failure is raised there, not as an unhandled rejection.
  entry.ready.catch(() => undefined);
  return entry;
}

function newBatch(): Batch {
  let settle!: (error?: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Every waiter handles the rejection; this keeps an unawaited batch from crashing the process.
  done.catch(() => undefined);
  return { qids: [], done, settle };
}

function enrichmentOf(info: QidInfo): Enrichment {
  return { QID_INFO: info, attack: attackMappingOf(info.qid.threatIntel, info.qid.category) };
}

function tailOf({ QID_INFO, attack }: Enrichment): Buffer {
  const json = JSON.stringify({ QID_INFO, ...attack });
  return Buffer.from(`,${json.slice(1)}`, 'utf8');
}

function attach(detection: SourceDetection, enrichment: Enrichment | null | undefined): void {
  if (!enrichment) return;
  if (detection instanceof EncodedDetection) {
    detection.tail = enrichment.tail ??= tailOf(enrichment);
    return;
  }
  detection.QID_INFO = enrichment.QID_INFO;
  detection.MITRE_TACTIC_ID = enrichment.attack.MITRE_TACTIC_ID;
  detection.MITRE_TACTIC_NAME = enrichment.attack.MITRE_TACTIC_NAME;
  detection.MITRE_TECHNIQUE_ID = enrichment.attack.MITRE_TECHNIQUE_ID;
  detection.MITRE_TECHNIQUE_NAME = enrichment.attack.MITRE_TECHNIQUE_NAME;
}
