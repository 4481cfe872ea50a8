/**
 * The source's Airbyte output: the CDK's logger (without its Faros-only STATE of log lines), with
 * a fast path for RECORD messages, which are nearly all of the bytes. Records are encoded into
 * one large output buffer (no Buffer per record, whose allocation churn dominated reads), shared
 * QID_INFO values are encoded once per QID (see shared-json), and the buffer is written when
 * full, before any other message (to keep the order), after FLUSH_AFTER_MS, and at the end.
 * Backpressure from stdout is honoured.
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

interface RecordMessage {
  record: { stream: string; namespace?: string; emitted_at: number; data: unknown };
}

export class RecordOutputLogger extends AirbyteSourceLogger implements JsonSink {
  private readonly encoder = new SharedJsonEncoder();
  private buffer: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** Buffers stdout has finished writing, for reuse. */
  private readonly spare: Buffer[] = [];
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  override write(msg: AirbyteMessage): Promise<void> {
    if (msg.type !== AirbyteMessageType.RECORD) {
      const drained = this.writeBuffered();
      // AirbyteLogger's write, not AirbyteSourceLogger's: that one also keeps every log line
      // for a Faros-only STATE carrying them, which plain Airbyte output never has.
      const written = AirbyteLogger.prototype.write.call(this, msg);
      return Promise.all([drained, written]).then(() => undefined);
    }
    const { record } = msg as unknown as RecordMessage;
    // The CDK's own shape: {"record":{"stream","namespace"?,"emitted_at","data"},"type":"RECORD"}.
    const namespace =
      record.namespace === undefined ? '' : `,"namespace":${JSON.stringify(record.namespace)}`;
    this.text(
      `{"record":{"stream":${JSON.stringify(record.stream)}${namespace},"emitted_at":${record.emitted_at},"data":`,
    );
    // A record that is already JSON bytes (a `detections` record on the fast path) is copied.
    if (record.data instanceof RawJson) record.data.writeJson(this);
    else this.encoder.encodeObject(record.data as Record<string, unknown>, this);
    this.text('},"type":"RECORD"}');
    this.text('\n');
    if (this.used >= BUFFER_BYTES / 2) return this.writeBuffered();
    this.timer ??= setTimeout(() => void this.writeBuffered(), FLUSH_AFTER_MS);
    return Promise.resolve();
  }

  override async flush(): Promise<void> {
    await this.writeBuffered();
  }

  /** JsonSink: text, UTF-8 encoded in place. */
  text(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (!this.room(text.length * 3)) {
      process.stdout.write(text);
      return;
    }
    this.used += this.buffer.write(text, this.used, 'utf8');
  }

  /** JsonSink: bytes of already encoded JSON. */
  bytes(bytes: Buffer, from = 0, to = bytes.length): void {
    if (!this.room(to - from)) {
      process.stdout.write(bytes.subarray(from, to));
      return;
    }
    this.used += bytes.copy(this.buffer, this.used, from, to);
  }

  /**
   * Makes room for `length` bytes, writing out what is buffered if needed; false when they would
   * not fit even then (the caller writes them directly, after the buffer, so order is kept).
   */
  private room(length: number): boolean {
    if (this.used + length <= this.buffer.length) return true;
    void this.writeBuffered();
    return length <= this.buffer.length;
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
      // Written: reusable, unless it is already in use again (it was written at once).
      if (buffer !== this.buffer && this.spare.length < SPARE_BUFFERS) this.spare.push(buffer);
    });
    // A pipe (as Airbyte's stdout) may keep what it could not write at once: the next records
    // then go to a spare buffer until this one is written (a new buffer per write churned the
    // heap: 2,900 1 MB buffers per 900k detections drove about 280 major GCs).
    if (process.stdout.writableLength > 0) {
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
