/**
 * The call budget of one subscription, shared by every stream: how many calls may run now and
 * when the next may start, driven by the headers Qualys sends on every response (API doc §5):
 * X-Concurrency-Limit-Limit/-Running and X-RateLimit-Remaining/-ToWait-Sec. Qualys counts limits
 * per API (host list, detections, knowledge base), so the budget does too; `max_concurrency` caps
 * each. Until an API's limit is known, its calls run one at a time.
 */

export type Api = 'host_list' | 'detection' | 'knowledge_base';

export const API_PATHS: Record<Api, string> = {
  host_list: '/api/4.0/fo/asset/host/',
  detection: '/api/4.0/fo/asset/host/vm/detection/',
  knowledge_base: '/api/4.0/fo/knowledge_base/vuln/',
};

interface ApiState {
  /** X-Concurrency-Limit-Limit; undefined until the first response. */
  limit?: number;
  /** Calls of other clients of the subscription running at our last look. */
  others: number;
  inFlight: number;
  /** X-RateLimit-Remaining, less the calls started since it was read: calls left to start. */
  remaining?: number;
  /** No call starts before this time (ms since epoch): ToWait-Sec, SECONDS_TO_WAIT. */
  blockedUntil: number;
  calls: number;
  rateWaits: number;
  concurrencyConflicts: number;
}

export interface Slot {
  /** Reads the limit headers of this call's response (409s included). */
  observe(headers: Record<string, unknown>): void;
  release(): void;
}

export interface BudgetStats {
  calls: number;
  inFlight: number;
  maxInFlight: number;
  rateWaits: number;
  concurrencyConflicts: number;
  waitedMs: number;
}

type Headers = Record<string, unknown>;

function headerNumber(headers: Headers, name: string): number | undefined {
  const value = headers[name];
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

export class CallBudget {
  private readonly apis = new Map<Api, ApiState>();
  private readonly waiters: { api: Api; start: () => void; since: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private maxInFlight = 0;
  private waitedMs = 0;
  /** The last limit any API reported: a better first guess for the others than 1. */
  private learnedLimit: number | undefined;
  /** Told when a rate-limit wait starts, with the time calls may start again (ms since epoch). */
  private readonly rateLimitListeners = new Set<(api: Api, until: number) => void>();

  constructor(
    private readonly maxConcurrency: number,
    private readonly onWait: (message: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits until a call to `api` may start; the slot must be released when the call ends. */
  async acquire(api: Api): Promise<Slot> {
    const state = this.state(api);
    if (this.canStart(state)) {
      this.grant(state);
    } else {
      await new Promise<void>((start) => {
        this.waiters.push({ api, start, since: this.now() });
        this.schedule();
      });
    }
    // Qualys counts this call among the running ones as it starts it, with ours running then.
    const oursRunning = state.inFlight;
    let released = false;
    return {
      observe: (headers) => this.observe(api, headers, oursRunning),
      release: () => {
        if (released) return;
        released = true;
        state.inFlight--;
        this.wake();
      },
    };
  }

  /**
   * Reads the limit headers of a response to a call to `api` (409s included); `oursRunning` is
   * how many of our calls to it were running when that call started, itself included.
   */
  observe(api: Api, headers: Headers, oursRunning = this.state(api).inFlight): void {
    const state = this.state(api);
    const limit = headerNumber(headers, 'x-concurrency-limit-limit');
    if (limit !== undefined && limit > 0) {
      state.limit = limit;
      this.learnedLimit = limit;
    }
    const running = headerNumber(headers, 'x-concurrency-limit-running');
    // Running counts every call of the subscription to this API, ours included.
    if (running !== undefined) state.others = Math.max(0, running - oursRunning);
    const remaining = headerNumber(headers, 'x-ratelimit-remaining');
    if (remaining !== undefined) state.remaining = remaining;
    const toWait = headerNumber(headers, 'x-ratelimit-towait-sec');
    if (toWait !== undefined && toWait > 0) this.blockFor(api, toWait, 'X-RateLimit-ToWait-Sec');
    this.wake();
  }

  /** Calls `listener` whenever a rate-limit wait starts; returns the function that stops it. */
  onRateLimit(listener: (api: Api, until: number) => void): () => void {
    this.rateLimitListeners.add(listener);
    return () => this.rateLimitListeners.delete(listener);
  }

  /** The server asked for `seconds` before the next call to `api` (rate limit, 1965). */
  blockFor(api: Api, seconds: number, reason: string): void {
    const state = this.state(api);
    const now = this.now();
    const until = now + seconds * 1000;
    if (until > state.blockedUntil) {
      // The headers and the 1965 body of one refusal say the same: count and log it once.
      if (state.blockedUntil < now + 1000) {
        state.rateWaits++;
        this.onWait(`Rate limit of the ${api} API reached (${reason}): waiting ${seconds} s`);
      }
      state.blockedUntil = until;
      for (const listener of this.rateLimitListeners) listener(api, until);
    }
    this.schedule();
  }

  /** A call was refused for concurrency (1960): count it; the caller backs off. */
  concurrencyConflict(api: Api): void {
    this.state(api).concurrencyConflicts++;
  }

  stats(): BudgetStats {
    let calls = 0;
    let rateWaits = 0;
    let concurrencyConflicts = 0;
    for (const state of this.apis.values()) {
      calls += state.calls;
      rateWaits += state.rateWaits;
      concurrencyConflicts += state.concurrencyConflicts;
    }
    return {
      calls,
      inFlight: this.totalInFlight(),
      maxInFlight: this.maxInFlight,
      rateWaits,
      concurrencyConflicts,
      waitedMs: this.waitedMs,
    };
  }

  private state(api: Api): ApiState {
    let state = this.apis.get(api);
    if (state === undefined) {
      state = {
        others: 0,
        inFlight: 0,
        blockedUntil: 0,
        calls: 0,
        rateWaits: 0,
        concurrencyConflicts: 0,
      };
      this.apis.set(api, state);
    }
    return state;
  }

  private totalInFlight(): number {
    let total = 0;
    for (const state of this.apis.values()) total += state.inFlight;
    return total;
  }

  private canStart(state: ApiState): boolean {
    if (this.now() < state.blockedUntil) return false;
    // A spent window with no wait given lets one call probe: its 1965 says how long to wait.
    if (state.remaining !== undefined && state.remaining <= 0 && state.inFlight > 0) return false;
    const limit = state.limit ?? this.learnedLimit ?? 1;
    const allowed = Math.max(1, Math.min(this.maxConcurrency, limit - state.others));
    return state.inFlight < allowed;
  }

  /** Counts a started call; done before the waiter resumes so that wake() sees it at once. */
  private grant(state: ApiState): void {
    state.inFlight++;
    state.calls++;
    if (state.remaining !== undefined) state.remaining--;
    this.maxInFlight = Math.max(this.maxInFlight, this.totalInFlight());
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length;) {
      const waiter = this.waiters[i];
      const state = this.state(waiter.api);
      if (this.canStart(state)) {
        this.waiters.splice(i, 1);
        this.grant(state);
        this.waitedMs += this.now() - waiter.since;
        waiter.start();
      } else {
        i++;
      }
    }
    this.schedule();
  }

  /** Wakes waiters blocked by time when their wait is over. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let earliest = Infinity;
    for (const waiter of this.waiters) {
      const until = this.state(waiter.api).blockedUntil;
      if (until > this.now()) earliest = Math.min(earliest, until);
    }
    if (earliest < Infinity) {
      // Not unref'd: a sync waiting out a rate window must keep the process alive.
      this.timer = setTimeout(() => this.wake(), earliest - this.now() + 5);
    }
  }
}
