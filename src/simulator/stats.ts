/**
 * What the simulator has seen, for tests and benchmarks: calls and status codes per endpoint, 409s by
 * SIMPLE_RETURN code, body bytes served, the most concurrent requests per API (all in-flight
 * requests, including those about to be refused, i.e. what the client attempted) and the most calls
 * holding a concurrency slot at once, fault effects applied, and the process's memory.
 */
import type { FaultEndpoint, FaultType } from './faults';

export type Endpoint = FaultEndpoint | 'auth' | 'admin' | 'unknown';
export type ApiName = FaultEndpoint;

export interface SimulatorStats {
  calls: Record<Endpoint, number>;
  statusCodes: Record<string, number>;
  statusCodesByEndpoint: Record<Endpoint, Record<string, number>>;
  conflicts: { '1960': number; '1965': number };
  bytesServed: number;
  bytesByEndpoint: Record<Endpoint, number>;
  /** Most requests in flight at once per API (arrival to end of response). */
  maxConcurrent: Record<ApiName, number>;
  /** Most calls holding a concurrency slot at once per API (never above the limit). */
  maxRunning: Record<ApiName, number>;
  faults: Record<FaultType, number>;
  /** The serving process: current RSS and peak RSS (bytes). */
  memory: { rssBytes: number; maxRssBytes: number };
}

const ENDPOINTS: readonly Endpoint[] = [
  'host_list',
  'hld',
  'kb',
  'about',
  'auth',
  'admin',
  'unknown',
];
const APIS: readonly ApiName[] = ['host_list', 'hld', 'kb', 'about'];
const FAULT_TYPES: readonly FaultType[] = [
  'latency',
  'first_byte',
  'bandwidth',
  'http_error',
  'conflict',
  'reset',
  'truncate',
  'maintenance',
  'unordered_hosts',
  'poison',
];

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export class StatsRecorder {
  private readonly calls = zeros(ENDPOINTS);
  private readonly statusCodes: Record<string, number> = {};
  private readonly byEndpoint = Object.fromEntries(ENDPOINTS.map((e) => [e, {}])) as Record<
    Endpoint,
    Record<string, number>
  >;
  private readonly conflicts = { '1960': 0, '1965': 0 };
  private bytes = 0;
  private readonly bytesByEndpoint = zeros(ENDPOINTS);
  private readonly inFlight = zeros(APIS);
  private readonly maxConcurrent = zeros(APIS);
  private readonly faults = zeros(FAULT_TYPES);

  call(endpoint: Endpoint): void {
    this.calls[endpoint]++;
  }

  status(endpoint: Endpoint, status: number): void {
    const key = String(status);
    this.statusCodes[key] = (this.statusCodes[key] ?? 0) + 1;
    this.byEndpoint[endpoint][key] = (this.byEndpoint[endpoint][key] ?? 0) + 1;
  }

  conflict(code: 1960 | 1965): void {
    this.conflicts[code]++;
  }

  served(endpoint: Endpoint, bytes: number): void {
    this.bytes += bytes;
    this.bytesByEndpoint[endpoint] += bytes;
  }

  /** A request to `api` arrived; returns the function to call when its response is over. */
  enter(api: ApiName): () => void {
    this.inFlight[api]++;
    this.maxConcurrent[api] = Math.max(this.maxConcurrent[api], this.inFlight[api]);
    let left = false;
    return () => {
      if (!left) {
        left = true;
        this.inFlight[api]--;
      }
    };
  }

  fault(type: FaultType): void {
    this.faults[type]++;
  }

  snapshot(maxRunning: Record<ApiName, number>): SimulatorStats {
    const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
    return {
      calls: { ...this.calls },
      statusCodes: { ...this.statusCodes },
      statusCodesByEndpoint: copy(this.byEndpoint),
      conflicts: { ...this.conflicts },
      bytesServed: this.bytes,
      bytesByEndpoint: { ...this.bytesByEndpoint },
      maxConcurrent: { ...this.maxConcurrent },
      maxRunning: { ...maxRunning },
      faults: { ...this.faults },
      memory: {
        rssBytes: process.memoryUsage.rss(),
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
      },
    };
  }
}
