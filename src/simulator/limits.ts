/**
 * Qualys API limits (doc §5): per API, a rolling window of calls and a count of running calls.
 * Concurrency is checked before rate (doc: "concurrency error takes precedence"); blocked calls do
 * not use up the window; a running call holds its slot until its body is fully written or the
 * client went away. Every fo/msp response carries the X-RateLimit-* and X-Concurrency-Limit-*
 * headers computed here.
 */

export interface LimitSettings {
  rateLimit: number;
  rateWindowSec: number;
  concurrencyLimit: number;
}

export type LimitVerdict =
  | { allowed: true }
  | { allowed: false; code: 1960; callsToFinish: number }
  | { allowed: false; code: 1965; secondsToWait: number };

export class ApiLimiter {
  private running = 0;
  /** Start times (ms) of the calls counted in the rolling window, oldest first. */
  private readonly calls: number[] = [];
  maxRunning = 0;

  constructor(
    private readonly settings: LimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  private prune(): void {
    const horizon = this.now() - this.settings.rateWindowSec * 1000;
    let drop = 0;
    while (drop < this.calls.length && this.calls[drop] <= horizon) drop++;
    if (drop > 0) this.calls.splice(0, drop);
  }

  /** Seconds until the oldest call leaves the window, i.e. until one more call is allowed. */
  private secondsToWait(): number {
    if (this.calls.length < this.settings.rateLimit) return 0;
    const oldest = this.calls[this.calls.length - this.settings.rateLimit];
    return Math.max(
      1,
      Math.ceil((oldest + this.settings.rateWindowSec * 1000 - this.now()) / 1000),
    );
  }

  check(): LimitVerdict {
    if (this.running >= this.settings.concurrencyLimit) {
      return {
        allowed: false,
        code: 1960,
        callsToFinish: this.running - this.settings.concurrencyLimit + 1,
      };
    }
    this.prune();
    if (this.calls.length >= this.settings.rateLimit) {
      return { allowed: false, code: 1965, secondsToWait: this.secondsToWait() };
    }
    return { allowed: true };
  }

  /** Starts a call: takes a slot and a place in the window. Returns the release function. */
  acquire(): () => void {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.calls.push(this.now());
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.running--;
      }
    };
  }

  /**
   * The limit headers in the order seen on the wire (doc §5). `Running` counts the running calls,
   * this one included when it holds a slot.
   */
  headers(): Record<string, string> {
    this.prune();
    return {
      'X-RateLimit-Limit': String(this.settings.rateLimit),
      'X-RateLimit-Window-Sec': String(this.settings.rateWindowSec),
      'X-Concurrency-Limit-Limit': String(this.settings.concurrencyLimit),
      'X-Concurrency-Limit-Running': String(this.running),
      'X-RateLimit-ToWait-Sec': String(this.secondsToWait()),
      'X-RateLimit-Remaining': String(Math.max(0, this.settings.rateLimit - this.calls.length)),
    };
  }
}

/** "for another H hours, M minutes and S seconds" (doc §5, 1965 text). */
export function waitText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `This API cannot be run again for another ${h} hours, ${m} minutes and ${s} seconds.`;
}

export function concurrencyText(callsToFinish: number): string {
  return `This API cannot be run again until ${callsToFinish} currently running API instance has finished.`;
}
