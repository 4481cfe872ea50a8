/**
 * A Host List Detection response reader with the fast path (detection-encoder): it finds each
 * HOST's bytes and has the HostEncoder read it; the document around the hosts, and any HOST the
 * encoder gives up on, go to the general ResponseReader. Memory: the HOST being read, at most,
 * and never more than MAX_HOST_BYTES of it: a larger HOST, and the rest of the page, go to the
 * general reader, which reads it as it streams in, within its own bounds.
 */
import { EncodedHost, HostEncoder } from './detection-encoder';
import { InvalidValueHandler } from './record-builder';
import { ListReader, OtherDocument, ResponseEvent, ResponseReader } from './response-reader';
import { ObjectShape } from './shape';

const HOST_LIST_OPEN = Buffer.from('<HOST_LIST>');
const HOST_OPEN = Buffer.from('<HOST>');
const HOST_CLOSE = Buffer.from('</HOST>');
const CDATA_OPEN = Buffer.from('<![CDATA[');
const CDATA_CLOSE = Buffer.from(']]>');
const COMMENT_OPEN = Buffer.from('<!--');
const COMMENT_CLOSE = Buffer.from('-->');
/** A HOST's XML held to be encoded; a HOST with 3,000 detections is about 6 MB. */
export const MAX_HOST_BYTES = 16 * 1024 * 1024;

export class DetectionReader implements ListReader {
  private readonly reader: ResponseReader;
  private readonly encoder: HostEncoder;
  /** document: before HOST_LIST; hosts: between HOSTs; rest: everything to the general reader. */
  private mode: 'document' | 'hosts' | 'rest' = 'document';
  private readonly pending = new ByteQueue();
  /** Bytes after pending.start known not to hold the end of the HOST there. */
  private searched = 0;
  private events: ResponseEvent[] = [];
  /** HOSTs read by the encoder, and by the general reader. */
  readonly hosts = { encoded: 0, general: 0 };

  /**
   * `encoder` may be shared by the readers of a stream (encoding is synchronous): its compiled
   * shape, learned element orders and output arena then outlive each call.
   */
  constructor(
    hostShape: ObjectShape,
    onInvalidValue?: InvalidValueHandler,
    encoder = new HostEncoder(hostShape),
  ) {
    this.reader = new ResponseReader({ HOST: hostShape }, onInvalidValue);
    this.encoder = encoder;
  }

  get otherDocument(): OtherDocument | undefined {
    return this.reader.otherDocument;
  }

  write(chunk: Buffer): ResponseEvent[] {
    this.events = [];
    if (this.mode === 'rest') {
      this.feed(chunk);
      return this.events;
    }
    this.pending.append(chunk);
    if (this.mode === 'document') this.untilHostList();
    if (this.mode === 'hosts') this.readHosts();
    return this.events;
  }

  end(): void {
    const { buffer, start, end } = this.pending;
    if (end > start) this.feed(buffer.subarray(start, end));
    this.pending.clear();
    this.reader.end();
  }

  /** Feeds the general reader up to the HOST_LIST open tag. */
  private untilHostList(): void {
    const pending = this.pending;
    for (;;) {
      const { buffer, start, end } = pending;
      const at = buffer.subarray(0, end).indexOf(HOST_LIST_OPEN, start);
      if (at < 0) {
        // Keep what could be the start of the tag.
        const keep = Math.max(start, end - HOST_LIST_OPEN.length + 1);
        if (keep > start) this.feed(buffer.subarray(start, keep));
        pending.start = keep;
        return;
      }
      const after = at + HOST_LIST_OPEN.length;
      this.feed(buffer.subarray(start, after));
      pending.start = after;
      // Unless it was text (in a CDATA section or comment), the hosts start here.
      if (this.reader.betweenHosts) {
        this.mode = 'hosts';
        return;
      }
    }
  }

  /** Reads the complete HOSTs pending; anything but a HOST hands the rest to the general reader. */
  private readHosts(): void {
    const pending = this.pending;
    for (;;) {
      const { buffer, end } = pending;
      let start = pending.start;
      while (start < end && buffer[start] <= 32) start++;
      if (start > pending.start) this.searched = 0;
      pending.start = start;
      if (end - start < HOST_OPEN.length) return;
      if (buffer.compare(HOST_OPEN, 0, HOST_OPEN.length, start, start + HOST_OPEN.length) !== 0) {
        break;
      }
      const searchFrom = start + Math.max(HOST_OPEN.length, this.searched);
      const close = buffer.subarray(0, end).indexOf(HOST_CLOSE, searchFrom);
      if (close < 0) {
        if (end - start > MAX_HOST_BYTES) break;
        this.searched = Math.max(0, end - start - HOST_CLOSE.length + 1);
        return;
      }
      const hostEnd = close + HOST_CLOSE.length;
      this.searched = 0;
      const encoded = this.encoder.encode(buffer, start, hostEnd);
      if (encoded !== undefined) {
        this.readEncoded(buffer, start, hostEnd, encoded);
      } else if (markupAt(buffer, start, close)) {
        this.feed(buffer.subarray(start, hostEnd));
      } else {
        break; // where this HOST ends is for the general reader to find
      }
      pending.start = hostEnd;
    }
    this.mode = 'rest';
    const { buffer, start, end } = pending;
    this.feed(buffer.subarray(start, end));
    pending.clear();
  }

  /**
   * A HOST whose detections the encoder read: the general reader reads the rest of it, the HOST
   * without its DETECTION_LIST, and the record gets the encoded detections.
   */
  private readEncoded(buffer: Buffer, from: number, to: number, { list }: EncodedHost): void {
    const parts =
      list === undefined
        ? [buffer.subarray(from, to)]
        : [buffer.subarray(from, list.from), buffer.subarray(list.to, to)];
    for (const part of parts) {
      for (const event of this.reader.write(part)) {
        if (event.kind === 'record') {
          if (list !== undefined) event.record.VULNERABILITIES = list.detections;
          this.hosts.encoded++;
        }
        this.events.push(event);
      }
    }
  }

  private feed(bytes: Buffer): void {
    const events = this.reader.write(bytes);
    for (let i = 0; i < events.length; i++) {
      if (events[i].kind === 'record') this.hosts.general++;
      this.events.push(events[i]);
    }
  }
}

/** Whether `buffer[at]` is outside CDATA sections and comments opened from `from`. */
function markupAt(buffer: Buffer, from: number, at: number): boolean {
  for (const [open, close] of [
    [CDATA_OPEN, CDATA_CLOSE],
    [COMMENT_OPEN, COMMENT_CLOSE],
  ]) {
    const opened = buffer.lastIndexOf(open, at);
    if (opened < from) continue;
    const closed = buffer.indexOf(close, opened + open.length);
    if (closed < 0 || closed + close.length > at) return false;
  }
  return true;
}

/** Bytes received and not yet read, in one buffer that grows as needed (no copy per host). */
class ByteQueue {
  // Grows to the largest HOST plus a chunk; small to start, as calls with small pages are many.
  buffer = Buffer.allocUnsafe(64 * 1024);
  start = 0;
  end = 0;

  append(chunk: Buffer): void {
    if (this.end + chunk.length > this.buffer.length) {
      const length = this.end - this.start;
      const target =
        length + chunk.length > this.buffer.length
          ? Buffer.allocUnsafe(Math.max(this.buffer.length * 2, length + chunk.length))
          : this.buffer;
      this.buffer.copy(target, 0, this.start, this.end);
      this.buffer = target;
      this.start = 0;
      this.end = length;
    }
    chunk.copy(this.buffer, this.end);
    this.end += chunk.length;
  }

  clear(): void {
    this.start = this.end = 0;
  }
}
