/**
 * Fault injection from a JSON fault plan (option `faults`, CLI `--faults FILE`). Deterministic: a
 * rule counts the calls to its endpoints (1-based, every request counts, whatever its outcome) and
 * its selectors decide from that number alone, or from a seeded hash of it for `rate`.
 *
 * Fault plan format:
 * {
 *   "seed": 7,                                  // optional: drives `rate` (default: simulator seed)
 *   "rules": [
 *     { "type": "http_error", "status": 503, "endpoint": "hld", "first": 3 },  // first 3 HLD calls
 *     { "type": "conflict", "code": 1960, "every": 5 },                        // every 5th call
 *     { "type": "http_error", "status": 500, "rate": 0.2 },                    // 20% of calls
 *     { "type": "latency", "ms": 200 },
 *     { "type": "first_byte", "ms": 2000, "endpoint": ["hld", "host_list"] },
 *     { "type": "bandwidth", "bytesPerSec": 1000000 },
 *     { "type": "reset", "afterBytes": 50000, "calls": [2] },
 *     { "type": "truncate", "afterBytes": 50000, "after": 10 },
 *     { "type": "maintenance", "retryAfterSec": 60, "calls": [4, 5, 6] },
 *     { "type": "unordered_hosts", "swapEvery": 1, "endpoint": "hld" },
 *     { "type": "poison", "hostId": 100000123 }
 *   ]
 * }
 * Selectors (all optional, ANDed; none = every call): endpoint ("host_list" | "hld" | "kb" | "about",
 * or a list; default all four), calls (call numbers), first (n <= N), every (n % N == 0),
 * after (n > N), rate (probability per call).
 * Effects:
 *   latency      delay before the response head (the call holds its concurrency slot meanwhile)
 *   first_byte   delay between the response head and the first body byte
 *   bandwidth    cap on body bytes per second
 *   http_error   that status after the call was admitted (counts against the rate limit);
 *                500 carries a GENERIC_RETURN "Internal error" body (doc §5, code 999), others HTML
 *   conflict     a 409 with SIMPLE_RETURN 1960 or 1965 (+ secondsToWait, default 60) regardless of
 *                the real limits; does not use up the rate window
 *   reset        TCP reset after N body bytes
 *   truncate     the body ends cleanly after N bytes, leaving the XML incomplete
 *   maintenance  503 + Retry-After from the front door: before authentication, no Qualys headers
 *   unordered_hosts  HOST elements out of ID order, as a real HLD response had them (real-captures
 *                hld-demisto-qg2-2023-05.xml): every swapEvery-th host of a page (default 1: every
 *                other host) comes after the host that follows it. The page holds the same hosts
 *                and its WARNING the same id_min. Host List (details Basic/All) and HLD only.
 *   poison       every request whose output would contain that host's HOST element (Host List with
 *                details other than None, HLD) stops sending just before it until the client
 *                disconnects; no selectors
 */
import { Stream, unitFloat } from './random';

export const FAULT_ENDPOINTS = ['host_list', 'hld', 'kb', 'about'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

export interface FaultSelector {
  endpoint?: FaultEndpoint | FaultEndpoint[];
  calls?: number[];
  first?: number;
  every?: number;
  after?: number;
  rate?: number;
}

export type FaultEffect =
  | { type: 'latency'; ms: number }
  | { type: 'first_byte'; ms: number }
  | { type: 'bandwidth'; bytesPerSec: number }
  | { type: 'http_error'; status: number }
  | { type: 'conflict'; code: 1960 | 1965; secondsToWait?: number }
  | { type: 'reset'; afterBytes: number }
  | { type: 'truncate'; afterBytes: number }
  | { type: 'maintenance'; retryAfterSec?: number }
  | { type: 'unordered_hosts'; swapEvery?: number }
  | { type: 'poison'; hostId: number };

export type FaultRule = FaultSelector & FaultEffect;
export type FaultType = FaultEffect['type'];

export interface FaultPlan {
  seed?: number;
  rules: FaultRule[];
}

/** Everything the fault plan does to one call. */
export interface CallFaults {
  latencyMs: number;
  firstByteMs: number;
  bytesPerSec?: number;
  httpError?: number;
  conflict?: { code: 1960 | 1965; secondsToWait: number };
  maintenance?: { retryAfterSec: number };
  resetAfterBytes?: number;
  truncateAfterBytes?: number;
  /** unordered_hosts: every N-th host of the page swaps places with the next one. */
  swapHostsEvery?: number;
}

const EFFECT_FIELDS: Readonly<Record<FaultType, readonly string[]>> = {
  latency: ['ms'],
  first_byte: ['ms'],
  bandwidth: ['bytesPerSec'],
  http_error: ['status'],
  conflict: ['code', 'secondsToWait'],
  reset: ['afterBytes'],
  truncate: ['afterBytes'],
  maintenance: ['retryAfterSec'],
  unordered_hosts: ['swapEvery'],
  poison: ['hostId'],
};
const SELECTOR_FIELDS = ['endpoint', 'calls', 'first', 'every', 'after', 'rate'];
const REQUIRED: Readonly<Partial<Record<FaultType, string>>> = {
  latency: 'ms',
  first_byte: 'ms',
  bandwidth: 'bytesPerSec',
  http_error: 'status',
  conflict: 'code',
  reset: 'afterBytes',
  truncate: 'afterBytes',
  poison: 'hostId',
};

function isCount(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** Validates a parsed fault plan, with messages that name the rule and field at fault. */
export function parseFaultPlan(json: unknown): FaultPlan {
  const fail = (message: string): never => {
    throw new Error(`Invalid fault plan: ${message}`);
  };
  if (typeof json !== 'object' || json === null || !Array.isArray((json as FaultPlan).rules)) {
    fail('expected {"rules": [...]}');
  }
  const plan = json as FaultPlan;
  for (const key of Object.keys(plan))
    if (key !== 'seed' && key !== 'rules') fail(`unknown field "${key}"`);
  if (plan.seed !== undefined && !isCount(plan.seed)) fail('seed must be a non-negative integer');
  plan.rules.forEach((rule, i) => {
    const where = `rule ${i}`;
    if (typeof rule !== 'object' || rule === null || !(rule.type in EFFECT_FIELDS)) {
      fail(`${where}: type must be one of ${Object.keys(EFFECT_FIELDS).join(', ')}`);
    }
    const allowed = [
      'type',
      ...EFFECT_FIELDS[rule.type],
      ...(rule.type === 'poison' ? [] : SELECTOR_FIELDS),
    ];
    for (const key of Object.keys(rule))
      if (!allowed.includes(key)) fail(`${where}: unexpected field "${key}"`);
    const required = REQUIRED[rule.type];
    const r = rule as unknown as Record<string, unknown>;
    if (
      required &&
      !isCount(r[required], rule.type === 'poison' || rule.type === 'bandwidth' ? 1 : 0)
    ) {
      fail(
        `${where}: ${required} must be a ${rule.type === 'bandwidth' ? 'positive' : 'non-negative'} integer`,
      );
    }
    if (rule.type === 'http_error' && !(rule.status >= 500 && rule.status <= 599))
      fail(`${where}: status must be 5xx`);
    if (rule.type === 'conflict' && rule.code !== 1960 && rule.code !== 1965)
      fail(`${where}: code must be 1960 or 1965`);
    for (const key of ['secondsToWait', 'retryAfterSec', 'first', 'after']) {
      if (r[key] !== undefined && !isCount(r[key]))
        fail(`${where}: ${key} must be a non-negative integer`);
    }
    if (
      rule.type === 'unordered_hosts' &&
      rule.swapEvery !== undefined &&
      !isCount(rule.swapEvery, 1)
    )
      fail(`${where}: swapEvery must be a positive integer`);
    if (rule.every !== undefined && !isCount(rule.every, 1))
      fail(`${where}: every must be a positive integer`);
    if (
      rule.calls !== undefined &&
      !(Array.isArray(rule.calls) && rule.calls.every((n) => isCount(n, 1)))
    ) {
      fail(`${where}: calls must be a list of call numbers (1-based)`);
    }
    if (
      rule.rate !== undefined &&
      !(typeof rule.rate === 'number' && rule.rate >= 0 && rule.rate <= 1)
    ) {
      fail(`${where}: rate must be between 0 and 1`);
    }
    const endpoints =
      rule.endpoint === undefined
        ? []
        : Array.isArray(rule.endpoint)
          ? rule.endpoint
          : [rule.endpoint];
    for (const e of endpoints) {
      if (!FAULT_ENDPOINTS.includes(e))
        fail(`${where}: endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}`);
    }
  });
  return plan;
}

export class FaultInjector {
  private readonly counters: number[];
  private readonly seed: number;
  readonly poisonHostIds: ReadonlySet<number>;

  constructor(
    private readonly plan: FaultPlan,
    defaultSeed: number,
  ) {
    this.counters = plan.rules.map(() => 0);
    this.seed = plan.seed ?? defaultSeed;
    this.poisonHostIds = new Set(
      plan.rules.flatMap((r) => (r.type === 'poison' ? [r.hostId] : [])),
    );
  }

  private selects(rule: FaultRule, ruleIndex: number, n: number): boolean {
    if (rule.calls && !rule.calls.includes(n)) return false;
    if (rule.first !== undefined && n > rule.first) return false;
    if (rule.every !== undefined && n % rule.every !== 0) return false;
    if (rule.after !== undefined && n <= rule.after) return false;
    if (rule.rate !== undefined && unitFloat(this.seed, Stream.faults, ruleIndex, n) >= rule.rate)
      return false;
    return true;
  }

  /** Counts this call against every rule covering the endpoint and collects the selected effects. */
  forCall(endpoint: FaultEndpoint): CallFaults {
    const faults: CallFaults = { latencyMs: 0, firstByteMs: 0 };
    this.plan.rules.forEach((rule, i) => {
      if (rule.type === 'poison') return;
      const endpoints =
        rule.endpoint === undefined
          ? FAULT_ENDPOINTS
          : ([] as FaultEndpoint[]).concat(rule.endpoint);
      if (!endpoints.includes(endpoint)) return;
      const n = ++this.counters[i];
      if (!this.selects(rule, i, n)) return;
      switch (rule.type) {
        case 'latency':
          faults.latencyMs += rule.ms;
          break;
        case 'first_byte':
          faults.firstByteMs += rule.ms;
          break;
        case 'bandwidth':
          faults.bytesPerSec = Math.min(faults.bytesPerSec ?? Infinity, rule.bytesPerSec);
          break;
        case 'http_error':
          faults.httpError ??= rule.status;
          break;
        case 'conflict':
          faults.conflict ??= { code: rule.code, secondsToWait: rule.secondsToWait ?? 60 };
          break;
        case 'maintenance':
          faults.maintenance ??= { retryAfterSec: rule.retryAfterSec ?? 60 };
          break;
        case 'reset':
          faults.resetAfterBytes = Math.min(faults.resetAfterBytes ?? Infinity, rule.afterBytes);
          break;
        case 'truncate':
          faults.truncateAfterBytes = Math.min(
            faults.truncateAfterBytes ?? Infinity,
            rule.afterBytes,
          );
          break;
        case 'unordered_hosts':
          faults.swapHostsEvery ??= rule.swapEvery ?? 1;
          break;
      }
    });
    return faults;
  }
}
