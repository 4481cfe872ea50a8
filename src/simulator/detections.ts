/**
 * Detection generation and evolution (API doc §3). A host's detections come from its origin (its own
 * seed and index, or its partner's when the host is shared with an overlapping subscription, so both
 * report the same QIDs, ports, protocols, SSL and FQDNs; dates follow each subscription's scans):
 * a distinct walk through the QIDs that fit the host (its pool, host-fit.ts: start + k·step mod n with
 * step coprime to the pool size n), port-based QIDs on ports the host runs, a few of them reported
 * twice on different ports (a finding is host+QID+port+protocol+SSL, field lessons §9),
 * and status/date histories that are internally consistent:
 *   New:       FIRST_FOUND = LAST_FOUND = last scan, TIMES_FOUND 1
 *   Active:    FIRST_FOUND < LAST_FOUND = last scan (some once fixed and re-opened before)
 *   Fixed:     LAST_FOUND < LAST_FIXED <= LAST_TEST = last scan
 *   Re-Opened: LAST_FIXED < LAST_REOPENED = LAST_FOUND = last scan
 *   Info (IG): no STATUS (doc §3 "STATUS may be absent ... for IGs" [I]), no QDS.
 * Scan cycles replay on top: open detections get fixed or seen again, fixed ones re-open, new ones
 * appear. UNIQUE_VULN_ID = host ID * 10000 + slot, so it is stable and unique per subscription.
 */
import { Rng, Stream } from './random';
import { qidPool, servicePorts } from './host-fit';
import type { HostScan, HostState } from './hosts';
import { KnowledgeBase, qdsBand } from './kb';
import { PORT_PROTOCOLS, SSL_PORTS } from './vocabulary';

export type DetectionType = 'Confirmed' | 'Potential' | 'Info';
export type DetectionStatus = 'New' | 'Active' | 'Fixed' | 'Re-Opened';

export interface DetectionState {
  slot: number;
  qidIndex: number;
  type: DetectionType;
  port?: number;
  protocol?: 'tcp' | 'udp';
  ssl: boolean;
  fqdn?: string;
  status?: DetectionStatus;
  firstFoundSec: number;
  lastFoundSec: number;
  lastTestSec: number;
  lastUpdateSec: number;
  lastProcessedSec: number;
  lastFixedSec?: number;
  firstReopenedSec?: number;
  lastReopenedSec?: number;
  timesFound: number;
  timesReopened: number;
  ignored: boolean;
  disabled: boolean;
  resultsSeed: number;
}

export interface HostDetections {
  list: DetectionState[];
  nextSlot: number;
  /** Next position in the host's QID walk (new detections continue it, so QIDs stay distinct). */
  nextStep: number;
  qidStart: number;
  qidStep: number;
  /** The KB entry indices the walk goes through: the QIDs that fit the host. */
  pool: Int32Array;
}

/** Slots per host in UNIQUE_VULN_ID; generation and cycles stop adding detections at this bound. */
export const MAX_SLOTS = 10000;

export function uniqueVulnId(hostId: number, slot: number): number {
  return hostId * MAX_SLOTS + slot;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

const WEB_PORTS = new Set([80, 443, 8080, 8443]);

export function generateDetections(
  host: HostState,
  kb: KnowledgeBase,
  detectionsPerHost: number,
): HostDetections {
  const rng = Rng.keyed(host.origin.seed, Stream.detections, host.origin.index);
  const pool = qidPool(kb, host.identity);
  const n = pool.length;
  let step = 1 + (rng.nextU32() % Math.max(1, n - 1));
  while (n > 0 && gcd(step, n) !== 1) step++;
  const hd: HostDetections = {
    list: [],
    nextSlot: 0,
    nextStep: 0,
    qidStart: rng.nextU32() % Math.max(1, n),
    qidStep: step,
    pool,
  };
  const half = Math.floor(detectionsPerHost / 2);
  const count = rng.chance(0.03)
    ? 0
    : Math.min(n, rng.int(detectionsPerHost - half, detectionsPerHost + half));
  const scan = host.scans[0];
  for (let k = 0; k < count; k++) {
    const qidIndex = nextQid(hd);
    const detection = initialDetection(rng, hd, host, kb, qidIndex, scan);
    hd.list.push(detection);
    const ports = servicePorts(kb.entries[qidIndex], host.identity);
    if (ports.length > 1 && rng.chance(0.08)) {
      const twin = initialDetection(rng, hd, host, kb, qidIndex, scan);
      setPort(twin, rng.pick(ports.filter((p) => p !== detection.port)));
      hd.list.push(twin);
    }
  }
  return hd;
}

function nextQid(hd: HostDetections): number {
  const qidIndex = hd.pool[(hd.qidStart + hd.nextStep * hd.qidStep) % hd.pool.length];
  hd.nextStep++;
  return qidIndex;
}

function setPort(d: DetectionState, port: number): void {
  d.port = port;
  d.protocol = PORT_PROTOCOLS[port] ?? 'tcp';
  d.ssl = SSL_PORTS.has(port);
}

function detectionType(rng: Rng, kb: KnowledgeBase, qidIndex: number): DetectionType {
  switch (kb.entries[qidIndex].vulnType) {
    case 'Information Gathered':
      return 'Info';
    case 'Potential Vulnerability':
      return 'Potential';
    case 'Vulnerability':
      return 'Confirmed';
    default:
      return rng.chance(0.5) ? 'Confirmed' : 'Potential';
  }
}

function baseDetection(
  rng: Rng,
  hd: HostDetections,
  host: HostState,
  kb: KnowledgeBase,
  qidIndex: number,
): DetectionState {
  const entry = kb.entries[qidIndex];
  const type = detectionType(rng, kb, qidIndex);
  const d: DetectionState = {
    slot: hd.nextSlot++,
    qidIndex,
    type,
    ssl: false,
    firstFoundSec: 0,
    lastFoundSec: 0,
    lastTestSec: 0,
    lastUpdateSec: 0,
    lastProcessedSec: 0,
    timesFound: 1,
    timesReopened: 0,
    ignored: type !== 'Info' && rng.chance(0.03),
    disabled: entry.disabled,
    resultsSeed: rng.nextU32(),
  };
  if (entry.portBased) {
    setPort(d, rng.pick(servicePorts(entry, host.identity)));
    const fqdn = host.identity.dnsData?.fqdn;
    if (fqdn && WEB_PORTS.has(d.port ?? 0) && rng.chance(0.3)) d.fqdn = fqdn;
  }
  return d;
}

function initialDetection(
  rng: Rng,
  hd: HostDetections,
  host: HostState,
  kb: KnowledgeBase,
  qidIndex: number,
  scan: HostScan,
): DetectionState {
  const d = baseDetection(rng, hd, host, kb, qidIndex);
  const s = scan.scanSec;
  const oldest = Math.max(host.firstFoundSec, s - 700 * 86400);
  const first = oldest + Math.floor(rng.float() * Math.max(1, s - 86400 - oldest));
  d.lastTestSec = s;
  d.lastUpdateSec = scan.processedSec;
  d.lastProcessedSec = scan.processedSec;
  d.firstFoundSec = first;
  d.lastFoundSec = s;
  d.timesFound = 2 + Math.floor((s - first) / (7 * 86400));
  if (d.type === 'Info') return d;

  const status = (['New', 'Active', 'Fixed', 'Re-Opened'] as const)[rng.weighted([8, 67, 18, 7])];
  d.status = status;
  const span = s - first;
  if (status === 'New') {
    d.firstFoundSec = s;
    d.timesFound = 1;
  } else if (status === 'Active') {
    if (rng.chance(0.12)) {
      d.lastFixedSec = first + Math.floor(span * (0.2 + rng.float() * 0.3));
      d.timesReopened = rng.int(1, 2);
      d.lastReopenedSec =
        d.lastFixedSec + Math.floor((s - d.lastFixedSec) * (0.3 + rng.float() * 0.4));
      d.firstReopenedSec = d.timesReopened === 1 ? d.lastReopenedSec : d.lastFixedSec + 3600;
    }
  } else if (status === 'Fixed') {
    d.lastFoundSec = first + Math.floor(span * (0.3 + rng.float() * 0.6));
    d.lastFixedSec = rng.chance(0.5)
      ? s
      : d.lastFoundSec + Math.floor((s - d.lastFoundSec) * (0.2 + rng.float() * 0.7));
    d.timesFound = 1 + Math.floor((d.lastFoundSec - first) / (7 * 86400));
  } else {
    d.lastFixedSec = first + Math.floor(span * (0.3 + rng.float() * 0.5));
    d.timesReopened = rng.int(1, 2);
    d.lastReopenedSec = s;
    d.firstReopenedSec =
      d.timesReopened === 1 ? s : d.lastFixedSec + Math.floor((s - d.lastFixedSec) / 2);
  }
  return d;
}

export interface DetectionChanges {
  added: DetectionState[];
  fixed: DetectionState[];
  reopened: DetectionState[];
}

/** Chance that an open detection is found fixed, and that a fixed one re-opens, per rescan. */
const FIX_CHANCE = 0.2;
const REOPEN_CHANCE = 0.3;

/**
 * Applies one rescan (host-level scan already decided by applyHostCycle) to the detections, and
 * records what changed status when `changes` is given (the scan-cycle report).
 */
export function applyDetectionCycle(
  host: HostState,
  hd: HostDetections,
  kb: KnowledgeBase,
  scan: HostScan,
  changes?: DetectionChanges,
): void {
  // Keyed by origin: a shared host rescanned in the same cycle by both subscriptions changes alike.
  const rng = Rng.keyed(host.origin.seed, Stream.cycleDetections, host.origin.index, scan.cycle);
  const s = scan.scanSec;
  for (const d of hd.list) {
    d.lastTestSec = s;
    d.lastUpdateSec = scan.processedSec;
    d.lastProcessedSec = scan.processedSec;
    if (d.status === 'Fixed') {
      if (rng.chance(REOPEN_CHANCE)) {
        d.status = 'Re-Opened';
        d.timesReopened++;
        d.firstReopenedSec ??= s;
        d.lastReopenedSec = s;
        d.lastFoundSec = s;
        d.timesFound++;
        changes?.reopened.push(d);
      }
    } else if (d.status !== undefined && rng.chance(FIX_CHANCE)) {
      d.status = 'Fixed';
      d.lastFixedSec = s;
      changes?.fixed.push(d);
    } else {
      if (d.status !== undefined) d.status = 'Active';
      d.lastFoundSec = s;
      d.timesFound++;
    }
  }
  const additions = rng.weighted([40, 35, 18, 7]);
  for (let k = 0; k < additions && hd.nextStep < hd.pool.length && hd.nextSlot < MAX_SLOTS; k++) {
    const d = baseDetection(rng, hd, host, kb, nextQid(hd));
    d.firstFoundSec = s;
    d.lastFoundSec = s;
    d.lastTestSec = s;
    d.lastUpdateSec = scan.processedSec;
    d.lastProcessedSec = scan.processedSec;
    if (d.type !== 'Info') d.status = 'New';
    hd.list.push(d);
    changes?.added.push(d);
  }
}

/** Weights of the QDS bands in TruRisk 1.0 (doc §6: back-solved from Qualys' example, [I]). */
const TRURISK_WEIGHTS = { CRITICAL: 1.0, HIGH: 0.6, MEDIUM: 0.4, LOW: 0.2 } as const;

/**
 * TruRisk 1.0 (doc §6): MIN(ACS * Σ_band w·avg(QDS)·count^0.01, 1000) over the host's open
 * (New/Active/Re-Opened), non-ignored, non-disabled Confirmed or Potential detections. Counting
 * Potential detections and excluding ignored/disabled ones is [I]; fixed ones are excluded per doc.
 */
export function truRiskScore(
  list: readonly DetectionState[],
  acs: number,
  kb: KnowledgeBase,
): number {
  const sum = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
  const count = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 };
  for (const d of list) {
    if (d.status === undefined || d.status === 'Fixed' || d.ignored || d.disabled) continue;
    const qds = kb.entries[d.qidIndex].qds;
    if (qds === undefined) continue;
    const band = qdsBand(qds);
    sum[band] += qds;
    count[band]++;
  }
  let total = 0;
  for (const band of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const) {
    if (count[band] > 0)
      total += TRURISK_WEIGHTS[band] * (sum[band] / count[band]) * count[band] ** 0.01;
  }
  return Math.min(1000, Math.round(acs * total));
}
