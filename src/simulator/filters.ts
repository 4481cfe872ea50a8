/**
 * The filter semantics of the list APIs, shared by the server and by Dataset.match* so tests derive
 * expected sets from the very code that serves responses. Filters are ANDed (doc §3). Date
 * parameters named *_after / *_since are inclusive and *_before exclusive: the doc does not say
 * [U]; the simulator's own change times never sit on a boundary, so clients are not affected.
 */
import type { DetectionState } from './detections';
import type { HostState } from './hosts';
import type { HostIdSpace } from './host-ids';
import type { KnowledgeBase, KbDetails } from './kb';
import { DetectionFilter, HostFilter, IdRange, KbFilter, TagFilter, ipToNumber } from './params';

export function inRanges(value: number, ranges: readonly IdRange[]): boolean {
  for (const r of ranges) if (value >= r.min && value <= r.max) return true;
  return false;
}

function merged(ranges: readonly IdRange[]): IdRange[] {
  const sorted = [...ranges].sort((a, b) => a.min - b.min);
  const out: IdRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.min <= last.max + 1) last.max = Math.max(last.max, r.max);
    else out.push({ ...r });
  }
  return out;
}

/**
 * Host indices selected by ids / id_min / id_max, ascending (hosts are listed by ID ascending, doc
 * §2). Only index arithmetic: no per-host work.
 */
export function* candidateIndices(space: HostIdSpace, filter: HostFilter): Generator<number> {
  const lower = filter.idMin ?? 0;
  const upper = filter.idMax ?? Number.MAX_SAFE_INTEGER;
  const ranges = filter.ids ? merged(filter.ids) : [{ min: lower, max: upper }];
  for (const r of ranges) {
    const min = Math.max(r.min, lower);
    const max = Math.min(r.max, upper);
    if (min > max) continue;
    const last = space.lastIndexAtOrBelow(max);
    for (let index = space.firstIndexAtOrAbove(min); index <= last; index++) yield index;
  }
}

function tagMatches(state: HostState, f: TagFilter): boolean {
  const has = (key: string): boolean =>
    state.tags.some((t) => (f.by === 'id' ? String(t.id) === key : t.name === key));
  if (f.include) {
    const ok = f.includeAll ? f.include.every(has) : f.include.some(has);
    if (!ok) return false;
  }
  if (f.exclude) {
    const hit = f.excludeAll ? f.exclude.every(has) : f.exclude.some(has);
    if (hit) return false;
  }
  return true;
}

/**
 * Host-level filters other than the ID selection. `truRisk` is only called when a TruRisk bound is
 * given, because computing it needs the host's detections.
 */
export function hostMatches(state: HostState, f: HostFilter, truRisk: () => number): boolean {
  if (f.selectsNothing) return false;
  if (f.ipRanges && !inRanges(ipToNumber(state.identity.ip) ?? -1, f.ipRanges)) return false;
  if (f.ipv6 && !(state.identity.ipv6 && f.ipv6.has(state.identity.ipv6))) return false;
  if (f.osPattern && !f.osPattern.test(state.identity.os)) return false;
  if (f.vmScanSince !== undefined && state.scanSec < f.vmScanSince) return false;
  if (f.noVmScanSince !== undefined && state.scanSec >= f.noVmScanSince) return false;
  if (f.vmProcessedAfter !== undefined && state.processedSec < f.vmProcessedAfter) return false;
  if (f.vmProcessedBefore !== undefined && state.processedSec >= f.vmProcessedBefore) return false;
  if (f.vmScanDateAfter !== undefined && state.scanSec < f.vmScanDateAfter) return false;
  if (f.vmScanDateBefore !== undefined && state.scanSec >= f.vmScanDateBefore) return false;
  if (
    f.vmAuthScanDateAfter !== undefined &&
    !(state.authScanned && state.scanSec >= f.vmAuthScanDateAfter)
  ) {
    return false;
  }
  if (
    f.vmAuthScanDateBefore !== undefined &&
    !(state.authScanned && state.scanSec < f.vmAuthScanDateBefore)
  ) {
    return false;
  }
  if (f.tags && !tagMatches(state, f.tags)) return false;
  if (f.truriskMin !== undefined || f.truriskMax !== undefined) {
    const score = truRisk();
    if (f.truriskMin !== undefined && score < f.truriskMin) return false;
    if (f.truriskMax !== undefined && score > f.truriskMax) return false;
  }
  return true;
}

/**
 * Detection filters (doc §3). Information Gathered detections appear only with show_igs=1 and,
 * having no STATUS, are not subject to `status` or `include_vuln_type` [I]. Ignored and disabled
 * detections need include_ignored / include_disabled.
 */
export function detectionMatches(
  d: DetectionState,
  f: DetectionFilter,
  kb: KnowledgeBase,
): boolean {
  if (d.type === 'Info') {
    if (!f.showIgs) return false;
  } else {
    if (f.statuses && !(d.status && f.statuses.has(d.status))) return false;
    if (f.vulnType && d.type !== f.vulnType) return false;
  }
  if (d.ignored && !f.includeIgnored) return false;
  if (d.disabled && !f.includeDisabled) return false;
  const entry = kb.entries[d.qidIndex];
  if (f.severities && !f.severities.has(entry.severity)) return false;
  if (f.qids && !inRanges(entry.qid, f.qids)) return false;
  if (f.updatedSince !== undefined && d.lastUpdateSec < f.updatedSince) return false;
  if (f.updatedBefore !== undefined && d.lastUpdateSec >= f.updatedBefore) return false;
  if (f.processedAfter !== undefined && d.lastProcessedSec < f.processedAfter) return false;
  if (f.processedBefore !== undefined && d.lastProcessedSec >= f.processedBefore) return false;
  if (f.lastTestedSince !== undefined && d.lastTestSec < f.lastTestedSince) return false;
  if (f.lastTestedBefore !== undefined && d.lastTestSec >= f.lastTestedBefore) return false;
  if (f.qdsMin !== undefined || f.qdsMax !== undefined) {
    // A detection without QDS (Information Gathered) cannot satisfy a QDS bound [I].
    if (entry.qds === undefined) return false;
    if (f.qdsMin !== undefined && entry.qds < f.qdsMin) return false;
    if (f.qdsMax !== undefined && entry.qds > f.qdsMax) return false;
  }
  return true;
}

/** KB selection (doc §4); `details` is only called for the discovery filters. */
export function kbEntryMatches(
  kb: KnowledgeBase,
  index: number,
  f: KbFilter,
  details: () => KbDetails,
): boolean {
  if (f.selectsNothing) return false;
  const entry = kb.entries[index];
  if (f.ids && !inRanges(entry.qid, f.ids)) return false;
  if (f.idMin !== undefined && entry.qid < f.idMin) return false;
  if (f.idMax !== undefined && entry.qid > f.idMax) return false;
  if (f.isPatchable !== undefined && entry.patchable !== f.isPatchable) return false;
  const modified = kb.lastServiceModified(index);
  if (f.modifiedAfter !== undefined && modified < f.modifiedAfter) return false;
  if (f.modifiedBefore !== undefined && modified >= f.modifiedBefore) return false;
  if (f.publishedAfter !== undefined && entry.publishedSec < f.publishedAfter) return false;
  if (f.publishedBefore !== undefined && entry.publishedSec >= f.publishedBefore) return false;
  if (f.codeModifiedAfter !== undefined && entry.codeModifiedSec < f.codeModifiedAfter)
    return false;
  if (f.codeModifiedBefore !== undefined && entry.codeModifiedSec >= f.codeModifiedBefore)
    return false;
  if (f.discoveryMethod || f.discoveryAuthTypes) {
    const d = details();
    const auth = d.authTypes.length > 0;
    const ok = {
      Remote: d.remote,
      Authenticated: auth,
      RemoteOnly: d.remote && !auth,
      AuthenticatedOnly: auth && !d.remote,
      RemoteAndAuthenticated: d.remote && auth,
    };
    if (f.discoveryMethod && !ok[f.discoveryMethod]) return false;
    const wanted = f.discoveryAuthTypes;
    if (wanted && !d.authTypes.some((t) => wanted.has(t.toLowerCase()))) return false;
  }
  return true;
}
