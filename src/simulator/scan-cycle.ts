/**
 * Scan cycles: the simulated passage of time that incremental syncs are tested against. A cycle
 * advances the clock, rescans a fraction of the live hosts (their vm-processed time moves into
 * [previous clock + 1 h, new clock - 2 h]; detections get fixed, re-opened or added), purges a
 * fraction of the others and modifies a fraction of the KB (LAST_SERVICE_MODIFICATION_DATETIME moves
 * into the same interval). The report lists exactly what changed.
 */
import { SimClock, formatDateTime } from './clock';
import { Dataset } from './dataset';
import { DetectionChanges, DetectionState, applyDetectionCycle, uniqueVulnId } from './detections';
import { CycleWindow, MIN_CYCLE_HOURS, applyHostCycle } from './hosts';
import { Rng, Stream, unitFloat } from './random';

export interface ScanCycleOptions {
  /** How far the clock moves, in hours (default 24, at least 3: see hosts.applyHostCycle). */
  hours?: number;
  /** Fraction of live hosts rescanned (default 0.1). */
  hostFraction?: number;
  /** Fraction of the other live hosts purged (default 0). */
  purgeFraction?: number;
  /** Fraction of QIDs whose KB entry is modified (default 0.02). */
  kbFraction?: number;
}

export interface DetectionChange {
  hostId: number;
  uniqueVulnId: number;
  qid: number;
}

export interface ScanCycleReport {
  /** 1-based cycle number. */
  cycle: number;
  previousClock: string;
  clock: string;
  /** Rescanned hosts, ascending: their vm-processed time now lies in (previousClock, clock - 2 h]. */
  changedHostIds: number[];
  added: DetectionChange[];
  fixed: DetectionChange[];
  reopened: DetectionChange[];
  purgedHostIds: number[];
  /** QIDs whose LAST_SERVICE_MODIFICATION_DATETIME moved into the interval, ascending. */
  modifiedQids: number[];
}

function checkFraction(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be between 0 and 1, got ${value}`);
}

export function runScanCycle(
  dataset: Dataset,
  clock: SimClock,
  options: ScanCycleOptions = {},
): ScanCycleReport {
  const hours = options.hours ?? 24;
  const hostFraction = options.hostFraction ?? 0.1;
  const purgeFraction = options.purgeFraction ?? 0;
  const kbFraction = options.kbFraction ?? 0.02;
  if (!(hours >= MIN_CYCLE_HOURS))
    throw new Error(`hours must be at least ${MIN_CYCLE_HOURS}, got ${hours}`);
  checkFraction('hostFraction', hostFraction);
  checkFraction('purgeFraction', purgeFraction);
  checkFraction('kbFraction', kbFraction);

  const seed = dataset.options.seed;
  const fromSec = clock.nowSeconds();
  clock.advance(Math.round(hours * 3600));
  const window: CycleWindow = {
    cycle: dataset.cycles.length + 1,
    fromSec,
    toSec: clock.nowSeconds(),
  };
  dataset.cycles.push(window);

  const report: ScanCycleReport = {
    cycle: window.cycle,
    previousClock: formatDateTime(fromSec),
    clock: formatDateTime(window.toSec),
    changedHostIds: [],
    added: [],
    fixed: [],
    reopened: [],
    purgedHostIds: [],
    modifiedQids: [],
  };
  const kb = dataset.knowledgeBase;
  for (let index = 0; index < dataset.hostCount; index++) {
    if (!dataset.isLive(index)) continue;
    if (unitFloat(seed, Stream.cycleHosts, window.cycle, index) < hostFraction) {
      const state = dataset.hostState(index);
      const detections = dataset.hostDetections(state);
      applyHostCycle(state, seed, window);
      const changes: DetectionChanges = { added: [], fixed: [], reopened: [] };
      applyDetectionCycle(state, detections, kb, state.scans[state.scans.length - 1], changes);
      dataset.markRescanned(index, window.cycle);
      const change = (d: DetectionState): DetectionChange => ({
        hostId: state.id,
        uniqueVulnId: uniqueVulnId(state.id, d.slot),
        qid: kb.entries[d.qidIndex].qid,
      });
      report.changedHostIds.push(state.id);
      report.added.push(...changes.added.map(change));
      report.fixed.push(...changes.fixed.map(change));
      report.reopened.push(...changes.reopened.map(change));
    } else if (unitFloat(seed, Stream.purge, window.cycle, index) < purgeFraction) {
      dataset.purgeIndex(index);
      report.purgedHostIds.push(dataset.ids.idAt(index));
    }
  }
  const rng = Rng.keyed(seed, Stream.kbModification, window.cycle);
  const earliest = fromSec + 3600;
  const latest = window.toSec - 2 * 3600;
  for (let index = 0; index < kb.size; index++) {
    if (unitFloat(seed, Stream.kbModification, window.cycle, index + 1) < kbFraction) {
      kb.modify(index, rng.int(earliest, latest));
      report.modifiedQids.push(kb.entries[index].qid);
    }
  }
  return report;
}

/** Purges the given live hosts (Qualys purge: they vanish from every list); returns those purged. */
export function purgeHosts(dataset: Dataset, hostIds: readonly number[]): number[] {
  const purged: number[] = [];
  for (const id of [...new Set(hostIds)].sort((a, b) => a - b)) {
    const index = dataset.ids.indexOf(id);
    if (index >= 0 && dataset.isLive(index)) {
      dataset.purgeIndex(index);
      purged.push(id);
    }
  }
  return purged;
}
