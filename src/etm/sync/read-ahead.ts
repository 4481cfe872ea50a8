/**
 * Reads a source's lines ahead of the consumer, up to a number of bytes: while a batch is being
 * written, the source keeps writing into this queue instead of stalling on a full pipe, so the
 * two processes overlap. On SQLite the writes are synchronous, so the consumer yields to the
 * event loop now and then (Breather) to let the pipe be read.
 */

export function readAhead(input: AsyncIterable<string>, limitBytes: number): AsyncIterable<string> {
  const queue: string[] = [];
  let head = 0;
  let bytes = 0;
  let done = false;
  /** The consumer stopped early: the pump stops too, which closes the input (the source's pipe). */
  let cancelled = false;
  let failure: unknown;
  let wakeReader: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const wake = (): void => {
    wakeReader?.();
    wakeReader = undefined;
  };
  const pump = (async () => {
    try {
      for await (const line of input) {
        if (cancelled) break;
        queue.push(line);
        bytes += line.length;
        wake();
        if (bytes >= limitBytes) await new Promise<void>((resolve) => (wakePump = resolve));
        if (cancelled) break;
      }
    } catch (err) {
      failure = err;
    } finally {
      done = true;
      wake();
    }
  })();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield* drain();
      } finally {
        if (!done) {
          cancelled = true;
          queue.length = 0;
          wakePump?.();
        }
      }
      await pump;
      if (failure !== undefined) throw failure;
    },
  };

  async function* drain(): AsyncGenerator<string> {
    for (;;) {
      if (head < queue.length) {
        const line = queue[head];
        queue[head++] = '';
        bytes -= line.length;
        if (head > 4096 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (wakePump && bytes < limitBytes / 2) {
          wakePump();
          wakePump = undefined;
        }
        yield line;
        continue;
      }
      if (done) break;
      await new Promise<void>((resolve) => (wakeReader = resolve));
    }
  }
}

/** Lets pending I/O run when `everyMs` of synchronous work have passed since it last did. */
export class Breather {
  private last = Date.now();

  constructor(private readonly everyMs: number) {}

  async breathe(): Promise<void> {
    if (Date.now() - this.last < this.everyMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = Date.now();
  }
}
