/**
 * The source's Airbyte output: the CDK's logger (without its Faros-only STATE of log lines), with
 * a fast path for RECORD messages, which are nearly all of the bytes. Records are encoded into
 * one large output buffer (no Buffer per record, whose allocation churn dominated reads), shared
 * QID_INFO values are encoded once per QID (see shared-json), and the buffer is written when
 * full, before any other message (to keep the order), after FLUSH_AFTER_MS, and at the end.
 * Backpressure from stdout is honoured. A record goes out whole or not at all: one that fails
 * half-way (a stack overflow) leaves no part of a line on stdout.
 */
import {
  AirbyteLogger,
  AirbyteMessage,
  AirbyteMessageType,
  AirbyteSourceLogger,
} from 'faros-airbyte-cdk';

import { JsonSink, RawJson, SharedJsonEncoder } from './shared-json';

const BUFFER_BYTES = 1 << 20;
/** A record written while records are sparse reaches stdout within this time. */
const FLUSH_AFTER_MS = 100;
/** Written buffers kept for reuse; backpressure keeps at most about two in flight. */
const SPARE_BUFFERS = 2;
const RECORD_END = Buffer.from('},"type":"RECORD"}\n');

interface RecordMessage {
  record: { stream: string; namespace?: string; emitted_at: number; data: unknown };
}

export class RecordOutputLogger extends AirbyteSourceLogger implements JsonSink {
  private readonly encoder = new SharedJsonEncoder();
  private buffer: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** Buffers stdout has finished writing, for reuse. */
  private readonly spare: Buffer[] = [];
  private used = 0;
  /** Where the record being encoded starts in the buffer; -1 between records. */
  private recordStart = -1;
  private timer: NodeJS.Timeout | undefined;
  private prefix:
    { stream: string; namespace?: string; emittedAt: number; bytes: Buffer } | undefined;

  override write(msg: AirbyteMessage): Promise<void> {
    if (msg.type !== AirbyteMessageType.RECORD) {
      const drained = this.writeBuffered();
      // AirbyteLogger's write, not AirbyteSourceLogger's: that one also keeps every log line
      // for a Faros-only STATE carrying them, which plain Airbyte output never has.
      const written = AirbyteLogger.prototype.write.call(this, msg);
      return Promise.all([drained, written]).then(() => undefined);
    }
    this.recordStart = this.used;
    try {
      this.encodeRecord(msg as unknown as RecordMessage);
    } catch (err) {
      // A record that cannot be encoded (a stack overflow on absurd nesting) is not written in
      // part: the next line on stdout (its TRACE error) must be a whole message.
      this.used = this.recordStart;
      throw err;
    } finally {
      this.recordStart = -1;
    }
    if (this.used >= BUFFER_BYTES / 2) return this.writeBuffered();
    this.timer ??= setTimeout(() => void this.writeBuffered(), FLUSH_AFTER_MS);
    return Promise.resolve();
  }

  private encodeRecord({ record }: RecordMessage): void {
    this.bytes(this.prefixOf(record));
    // A record that is already JSON bytes (a `detections` record on the fast path) is copied.
    if (record.data instanceof RawJson) record.data.writeJson(this);
    else this.encoder.encodeObject(record.data as Record<string, unknown>, this);
    this.bytes(RECORD_END);
  }

  /**
   * `{"record":{"stream":…,"namespace"?:…,"emitted_at":…,"data":` as bytes, the CDK's own shape,
   * kept while stream, namespace and millisecond stay the same (hundreds of records share one).
   */
  private prefixOf(record: RecordMessage['record']): Buffer {
    const last = this.prefix;
    if (
      last &&
      last.emittedAt === record.emitted_at &&
      last.stream === record.stream &&
      last.namespace === record.namespace
    ) {
      return last.bytes;
    }
    const namespace =
      record.namespace === undefined ? '' : `,"namespace":${JSON.stringify(record.namespace)}`;
    const bytes = Buffer.from(
      `{"record":{"stream":${JSON.stringify(record.stream)}${namespace},"emitted_at":${record.emitted_at},"data":`,
    );
    const { stream, namespace: ns, emitted_at: emittedAt } = record;
    this.prefix = { stream, namespace: ns, emittedAt, bytes };
    return bytes;
  }

  override async flush(): Promise<void> {
    await this.writeBuffered();
  }

  /** JsonSink: text, UTF-8 encoded in place. */
  text(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the exact length only when that is too much.
    const estimate = text.length * 3;
    this.room(
      this.used + estimate <= this.buffer.length ? estimate : Buffer.byteLength(text, 'utf8'),
    );
    this.used += this.buffer.write(text, this.used, 'utf8');
  }

  /** JsonSink: bytes of already encoded JSON. */
  bytes(bytes: Buffer, from = 0, to = bytes.length): void {
    this.room(to - from);
    this.used += bytes.copy(this.buffer, this.used, from, to);
  }

  /**
   * Makes room for `length` more bytes of the record being encoded, which always stays whole in
   * the buffer (so that a record that fails half-way is dropped whole): the records before it
   * are written out, and a record larger than the buffer gets a larger one until it is written.
   */
  private room(length: number): void {
    if (this.used + length <= this.buffer.length) return;
    if (this.recordStart > 0) {
      const partial = Buffer.from(this.buffer.subarray(this.recordStart, this.used));
      this.used = this.recordStart;
      void this.writeBuffered();
      this.used = partial.copy(this.buffer, 0);
      this.recordStart = 0;
      if (this.used + length <= this.buffer.length) return;
    }
    const larger = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.used + length));
    this.buffer.copy(larger, 0, 0, this.used);
    this.buffer = larger;
  }

  /** Writes what is buffered (synchronously issued, so order is kept); resolves on drain. */
  private writeBuffered(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return Promise.resolve();
    const buffer = this.buffer;
    const chunk = buffer.subarray(0, this.used);
    this.used = 0;
    const written = process.stdout.write(chunk, () => {
      // Written: reusable, unless it is already in use again (it was written at once) or is
      // the larger one of a large record.
      const reusable = buffer.length === BUFFER_BYTES && buffer !== this.buffer;
      if (reusable && this.spare.length < SPARE_BUFFERS) this.spare.push(buffer);
    });
    // A pipe (as Airbyte's stdout) may keep what it could not write at once: the next records
    // then go to a spare buffer until this one is written (a new buffer per write churned the
    // heap: 2,900 1 MB buffers per 900k detections drove about 280 major GCs).
    if (process.stdout.writableLength > 0 || buffer.length > BUFFER_BYTES) {
      this.buffer = this.spare.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
    }
    if (written) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        process.stdout.off('drain', done);
        process.stdout.off('close', done);
        process.stdout.off('error', done);
        resolve();
      };
      process.stdout.once('drain', done);
      process.stdout.once('close', done);
      process.stdout.once('error', done);
    });
  }
}
