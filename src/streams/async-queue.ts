/**
 * A bounded FIFO between concurrent producers (range readers) and one consumer (the CDK's read
 * loop). A full queue makes producers wait, so a slow consumer slows the HTTP reads instead of
 * piling records up in memory.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly waitingProducers: (() => void)[] = [];
  private waitingConsumer: ((item: T) => void) | undefined;

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    const consumer = this.waitingConsumer;
    if (consumer) {
      this.waitingConsumer = undefined;
      consumer(item);
      return;
    }
    while (this.items.length >= this.capacity) {
      await new Promise<void>((resume) => this.waitingProducers.push(resume));
    }
    this.items.push(item);
  }

  async shift(): Promise<T> {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.waitingProducers.shift()?.();
      return item;
    }
    return new Promise<T>((take) => {
      this.waitingConsumer = take;
    });
  }
}
