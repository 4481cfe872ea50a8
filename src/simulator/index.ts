/**
 * The Qualys VMDR API simulator as a library: `startSimulator(options)` serves the Host List, Host
 * List Detection, KnowledgeBase and about APIs on 127.0.0.1 and exposes the data set behind them,
 * the simulated clock, scan cycles, purges and statistics. See options.ts for the options, faults.ts
 * for the fault-plan format and admin.ts for the HTTP admin routes.
 */
import type { AddressInfo } from 'node:net';
import type { SimClock } from './clock';
import { createCore, statsOf } from './core';
import type { Dataset } from './dataset';
import { SimulatorOptions, resolveOptions } from './options';
import { ScanCycleOptions, ScanCycleReport, purgeHosts, runScanCycle } from './scan-cycle';
import { createHttpServer } from './server';
import type { SimulatorStats } from './stats';

export interface Simulator {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  username: string;
  password: string;
  clock: SimClock;
  dataset: Dataset;
  stats(): SimulatorStats;
  /** Advances the clock and changes hosts, detections and KB entries; reports exactly what changed. */
  scanCycle(options?: ScanCycleOptions): ScanCycleReport;
  /** Purges live hosts by ID; returns the IDs actually purged. */
  purge(hostIds: readonly number[]): number[];
  /** Stops listening and drops open connections (stalled ones included). */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const resolved = resolveOptions(options);
  const core = createCore(resolved);
  const server = createHttpServer(core);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    username: resolved.username,
    password: resolved.password,
    clock: core.clock,
    dataset: core.dataset,
    stats: () => statsOf(core),
    scanCycle: (cycleOptions) => runScanCycle(core.dataset, core.clock, cycleOptions),
    purge: (hostIds) => purgeHosts(core.dataset, hostIds),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export type { SimulatorOptions } from './options';
export type { OverlapOptions, SharedHost, HostDetectionsMatch, Dataset } from './dataset';
export type { DetectionModel, HostModel, KbModel } from './models';
export type { ScanCycleOptions, ScanCycleReport, DetectionChange } from './scan-cycle';
export type { FaultPlan, FaultRule } from './faults';
export type { SimulatorStats } from './stats';
export type { TagDefinition } from './tags';
export { DEFAULT_ASSET_CRITICALITY } from './tags';
export { ParamError } from './params';
export { SimClock } from './clock';
