/**
 * The simulator's state shared by the HTTP front and the library API: options, clock, data set,
 * per-API limiters, fault injector and statistics.
 */
import { SimClock } from './clock';
import { Dataset } from './dataset';
import { FaultInjector } from './faults';
import { ApiLimiter } from './limits';
import { ResolvedOptions } from './options';
import { ApiName, SimulatorStats, StatsRecorder } from './stats';

export interface SimulatorCore {
  options: ResolvedOptions;
  clock: SimClock;
  dataset: Dataset;
  limiters: Record<ApiName, ApiLimiter>;
  faults: FaultInjector;
  stats: StatsRecorder;
}

export function createCore(options: ResolvedOptions): SimulatorCore {
  const clock = new SimClock(options.startSec);
  const dataset = new Dataset(
    {
      seed: options.seed,
      hosts: options.hosts,
      detectionsPerHost: options.detectionsPerHost,
      qids: options.qids,
      startSec: options.startSec,
      overlapWith: options.overlapWith,
    },
    clock,
  );
  const settings = {
    rateLimit: options.rateLimit,
    rateWindowSec: options.rateWindowSec,
    concurrencyLimit: options.concurrencyLimit,
  };
  return {
    options,
    clock,
    dataset,
    limiters: {
      host_list: new ApiLimiter(settings),
      hld: new ApiLimiter(settings),
      kb: new ApiLimiter(settings),
      about: new ApiLimiter(settings),
    },
    faults: new FaultInjector(options.faults, options.seed),
    stats: new StatsRecorder(),
  };
}

export function statsOf(core: SimulatorCore): SimulatorStats {
  const l = core.limiters;
  return core.stats.snapshot({
    host_list: l.host_list.maxRunning,
    hld: l.hld.maxRunning,
    kb: l.kb.maxRunning,
    about: l.about.maxRunning,
  });
}
