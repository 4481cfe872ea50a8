/**
 * Streams a response body: text is buffered into ~256 KiB chunks and written to the socket; once more
 * than 1 MiB is queued unsent, production waits for the socket to drain (backpressure), so a page of
 * any size costs at most ~1.3 MiB per connection. (Waiting on every `write() === false`, i.e. at the
 * 16 KiB high-water mark, leaves the generator idle while the kernel sends.)
 * Applies the body-level faults and limits: bandwidth cap, reset or clean cut after N bytes, and the
 * poison-host stall. Stops producing as soon as the client has gone.
 */
import type { ServerResponse } from 'node:http';
import type { FaultType } from './faults';

const CHUNK_BYTES = 256 * 1024;
const MAX_QUEUED_BYTES = 1024 * 1024;

export interface BodyOptions {
  bytesPerSec?: number;
  resetAfterBytes?: number;
  truncateAfterBytes?: number;
  onBytes: (bytes: number) => void;
  onFault: (type: FaultType) => void;
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export class ResponseBody {
  /** The chunk being filled; text is encoded straight into it (Buffer.from on a large string is slow). */
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private sent = 0;
  private readonly started = Date.now();
  private clientGone = false;
  private cut = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: BodyOptions,
  ) {
    res.on('close', () => {
      if (!res.writableFinished) this.clientGone = true;
    });
  }

  /** True once nothing more should be produced: the client left or a fault cut the body. */
  get aborted(): boolean {
    return this.clientGone || this.cut;
  }

  async write(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    if (this.used + bytes > CHUNK_BYTES) await this.flush();
    if (this.aborted) return;
    if (bytes > CHUNK_BYTES) await this.send(Buffer.from(text, 'utf8'));
    else this.used += this.chunk.write(text, this.used, 'utf8');
  }

  async flush(): Promise<void> {
    if (this.used === 0 || this.aborted) return;
    const full = this.chunk.subarray(0, this.used);
    // The socket may still hold the old chunk, so a fresh one is taken rather than reused.
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
    await this.send(full);
  }

  async end(): Promise<void> {
    await this.flush();
    if (!this.aborted) this.res.end();
  }

  /** Poison host: everything before it is delivered, then silence until the client disconnects. */
  async stall(): Promise<void> {
    await this.flush();
    this.options.onFault('poison');
    if (!this.clientGone) await new Promise((resolve) => this.res.once('close', resolve));
    this.cut = true;
  }

  private async send(chunk: Buffer): Promise<void> {
    const { resetAfterBytes, truncateAfterBytes } = this.options;
    const limit = Math.min(resetAfterBytes ?? Infinity, truncateAfterBytes ?? Infinity);
    if (this.sent + chunk.length < limit) {
      await this.writeRaw(chunk);
      return;
    }
    await this.writeRaw(chunk.subarray(0, limit - this.sent));
    this.cut = true;
    if (limit === resetAfterBytes) {
      this.options.onFault('reset');
      // Give the bytes already written time to leave the socket before the RST discards its queue.
      await sleep(20);
      this.res.socket?.resetAndDestroy();
    } else {
      this.options.onFault('truncate');
      this.res.end();
    }
  }

  private async writeRaw(chunk: Buffer): Promise<void> {
    const rate = this.options.bytesPerSec;
    const slice = rate ? Math.max(1, Math.floor(rate / 20)) : chunk.length;
    for (let offset = 0; offset < chunk.length && !this.clientGone; offset += slice) {
      const part = chunk.subarray(offset, offset + slice);
      this.options.onBytes(part.length);
      this.sent += part.length;
      this.res.write(part);
      if (this.res.writableLength > MAX_QUEUED_BYTES) await this.drained();
      if (rate) await sleep(this.started + (this.sent / rate) * 1000 - Date.now());
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
