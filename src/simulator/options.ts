/**
 * Simulator options (library `startSimulator(options)` and CLI flags), their defaults and their
 * validation, in one place; everything after resolveOptions trusts the result.
 */
import { DEFAULT_START, parseQualysDate } from './clock';
import type { OverlapOptions } from './dataset';
import { FaultPlan, parseFaultPlan } from './faults';
import type { WarningUrlStyle } from './documents';

export interface SimulatorOptions {
  /** TCP port on 127.0.0.1 (0 = any free port). */
  port?: number;
  hosts?: number;
  /** Mean detections per host (each host gets between half and 1.5 times this; ~3% get none). */
  detectionsPerHost?: number;
  /** Size of the knowledge base. */
  qids?: number;
  seed?: number;
  username?: string;
  password?: string;
  /** X-Concurrency-Limit-Limit per API (doc §5: 2 on a standard subscription). */
  concurrencyLimit?: number;
  /** X-RateLimit-Limit: calls per API per rolling window (doc §5: 300). */
  rateLimit?: number;
  /** X-RateLimit-Window-Sec (doc §5: 3600). */
  rateWindowSec?: number;
  /** Delay before every fo/msp response head. */
  latencyMs?: number;
  /** Delay between the response head and the first body byte. */
  firstByteMs?: number;
  /** Body bandwidth cap per response (0 = none). */
  bytesPerSec?: number;
  faults?: FaultPlan;
  /** Answer every fo/msp call with HTTP 200 + SIMPLE_RETURN 2001 "This account has expired." */
  accountExpired?: boolean;
  /** How the truncation WARNING URL is written: CDATA (default) or escaped text with &amp;. */
  warningUrl?: WarningUrlStyle;
  /** Initial simulated clock, `YYYY-MM-DDTHH:MM:SSZ`. */
  startTime?: string;
  /**
   * An evaluation subscription: list outputs carry Qualys' evaluation notice as a comment before
   * and after the root element (real-captures hld-j1-qg3-2020-04.xml). Default false.
   */
  evaluation?: boolean;
  /**
   * A keep-alive comment after every N-th HOST, DETECTION or VULN of a list output, after the root
   * element, and a second one before VULN_LIST (real-captures kb-*.xml). Default 0: only the one
   * before VULN_LIST with details=All.
   */
  keepAliveEvery?: number;
  /**
   * CR LF line ends in the multi-line KB texts of one QID in three (real-captures
   * kb-qualysapi-2015-09.xml); the dataset models keep LF, as an XML parser reports them. Default false.
   */
  crlfText?: boolean;
  /**
   * Share a fraction of hosts, with their vulnerabilities, with another simulator instance (see
   * Dataset.sharedHosts); this one then serves that one's knowledge base: give both the same qids.
   */
  overlapWith?: OverlapOptions;
}

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'faults' | 'overlapWith'>> & {
  faults: FaultPlan;
  overlapWith?: OverlapOptions;
  startSec: number;
};

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`Invalid simulator option: ${message}`);
}

function integer(name: string, value: number, min: number, max: number): void {
  check(
    Number.isInteger(value) && value >= min && value <= max,
    `${name} must be an integer in [${min}, ${max}], got ${value}`,
  );
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const o = {
    port: options.port ?? 0,
    hosts: options.hosts ?? 1000,
    detectionsPerHost: options.detectionsPerHost ?? 25,
    qids: options.qids ?? 2000,
    seed: options.seed ?? 1,
    username: options.username ?? 'qualys_sim',
    password: options.password ?? 'qualys_sim_password',
    concurrencyLimit: options.concurrencyLimit ?? 2,
    rateLimit: options.rateLimit ?? 300,
    rateWindowSec: options.rateWindowSec ?? 3600,
    latencyMs: options.latencyMs ?? 0,
    firstByteMs: options.firstByteMs ?? 0,
    bytesPerSec: options.bytesPerSec ?? 0,
    faults: parseFaultPlan(options.faults ?? { rules: [] }),
    accountExpired: options.accountExpired ?? false,
    warningUrl: options.warningUrl ?? 'cdata',
    startTime: options.startTime ?? DEFAULT_START,
    evaluation: options.evaluation ?? false,
    keepAliveEvery: options.keepAliveEvery ?? 0,
    crlfText: options.crlfText ?? false,
    overlapWith: options.overlapWith,
  };
  integer('port', o.port, 0, 65535);
  // The host ID space holds 2.5M hosts per seed; UNIQUE_VULN_ID reserves 10,000 slots per host.
  integer('hosts', o.hosts, 1, 2_000_000);
  integer('qids', o.qids, 10, 50_000);
  integer('detectionsPerHost', o.detectionsPerHost, 0, Math.min(1000, o.qids));
  integer('seed', o.seed, 0, 2 ** 31 - 1);
  integer('concurrencyLimit', o.concurrencyLimit, 1, 1000);
  integer('rateLimit', o.rateLimit, 1, 10_000_000);
  integer('rateWindowSec', o.rateWindowSec, 1, 30 * 86400);
  integer('latencyMs', o.latencyMs, 0, 3_600_000);
  integer('firstByteMs', o.firstByteMs, 0, 3_600_000);
  integer('bytesPerSec', o.bytesPerSec, 0, Number.MAX_SAFE_INTEGER);
  integer('keepAliveEvery', o.keepAliveEvery, 0, 1_000_000);
  check(
    o.username.length > 0 && !o.username.includes(':'),
    'username must be non-empty and without ":"',
  );
  check(
    o.warningUrl === 'cdata' || o.warningUrl === 'escaped',
    'warningUrl must be "cdata" or "escaped"',
  );
  const startSec = parseQualysDate(o.startTime);
  check(
    startSec !== undefined && o.startTime.includes('T'),
    `startTime must be YYYY-MM-DDTHH:MM:SSZ, got ${o.startTime}`,
  );
  if (o.overlapWith) {
    integer('overlapWith.seed', o.overlapWith.seed, 0, 2 ** 31 - 1);
    check(
      o.overlapWith.fraction >= 0 && o.overlapWith.fraction <= 1,
      'overlapWith.fraction must be in [0, 1]',
    );
    if (o.overlapWith.hosts !== undefined)
      integer('overlapWith.hosts', o.overlapWith.hosts, 1, 2_000_000);
  }
  return { ...o, startSec: startSec ?? 0 };
}
