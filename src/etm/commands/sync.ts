/**
 * `etm sync --config F [--config F2 …] [--db etm.db]`: each config is a subscription and a
 * connector; all are Scheduled, then synced one after the other (one SQLite writer), printing
 * progress on stderr and each summary on stdout. Ctrl-C stops the running source; what it staged
 * is rolled back, committed checkpoints stay, and the connector is Interrupted: the next sync
 * resumes. A connector another etm process is syncing is refused.
 */
import { IdentificationRules } from '../identification-rules';
import { Io, stderrLogger } from '../io';
import { busyError, Connectors } from '../store/connectors';
import { EtmStore } from '../store/database';
import { ProgressLine } from '../sync/progress-line';
import { readSourceConfig, SourceConfig } from '../sync/source-config';
import { DEFAULT_SOURCE, SourceProcess } from '../sync/source-process';
import { INTERRUPTED, syncSubscription } from '../sync/subscription-sync';
import { formatSummary } from '../sync/summary';
import { loadTransformMap } from '../transform-map';
import { VError } from 'verror';

export interface SyncCommandOptions {
  readonly config: ReadonlyArray<string>;
  readonly db: string;
  readonly transformMap?: string;
  readonly identificationRules?: string;
  readonly network?: string;
  readonly source?: string;
}

export interface SubscriptionJob {
  readonly config: SourceConfig;
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** The network this subscription is declared on (a profile's subscription `network`). */
  readonly network?: string;
}

export interface SyncSettings {
  readonly source: string;
  readonly transformMap?: string;
  readonly rules?: IdentificationRules;
  readonly profile?: string;
  /** Declares every job's subscription on this network (private addresses match within it). */
  readonly network?: string;
}

export async function sync(options: SyncCommandOptions, io: Io): Promise<number> {
  // commander's default for a repeatable option is [], which satisfies requiredOption.
  if (options.config.length === 0)
    throw new VError('--config is required: the source config of a subscription to sync');
  const jobs = options.config.map((file) => ({ config: readSourceConfig(file) }));
  const rules = options.identificationRules
    ? IdentificationRules.select(options.identificationRules)
    : undefined;
  const store = await EtmStore.open(options.db);
  try {
    const settings = {
      source: options.source ?? DEFAULT_SOURCE,
      transformMap: options.transformMap,
      rules,
      network: options.network,
    };
    await register(store, jobs, settings);
    return exitCode(await runJobs(store, jobs, settings, io));
  } finally {
    await store.close();
  }
}

/** Checks the jobs and map, then registers the connectors (Registered, unless already known). */
export async function register(
  store: EtmStore,
  jobs: ReadonlyArray<SubscriptionJob>,
  settings: SyncSettings,
): Promise<void> {
  const names = jobs.map((j) => j.config.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup)
    throw new VError(
      'two configs name the same subscription %j; give one a different "subscription" label',
      dup,
    );
  loadTransformMap(settings.transformMap);
  const connectors = new Connectors(store.sql);
  // Before any write: a running sync holds the store's write lock.
  const busy = await connectors.firstBusy(names);
  if (busy) throw busyError(busy);
  for (const { config, network } of jobs) {
    await connectors.register({
      name: config.name,
      baseUrl: config.baseUrl,
      username: config.username,
      configPath: config.path,
      profile: settings.profile,
      network: network ?? settings.network,
    });
  }
}

export interface JobsOutcome {
  /** Every job was Processed. */
  readonly ok: boolean;
  /** The user stopped the run (Ctrl-C, SIGTERM). */
  readonly interrupted: boolean;
}

/** 130 for a stop, as shells report Ctrl-C; 1 for a failure. */
export const exitCode = (o: JobsOutcome): number => (o.interrupted ? 130 : o.ok ? 0 : 1);

/** Schedules every job, then syncs them in turn. */
export async function runJobs(
  store: EtmStore,
  jobs: ReadonlyArray<SubscriptionJob>,
  settings: SyncSettings,
  io: Io,
): Promise<JobsOutcome> {
  const connectors = new Connectors(store.sql);
  // One sync per connector at a time: two would spend one subscription's API limits twice.
  const busy = await connectors.firstBusy(jobs.map((j) => j.config.name));
  if (busy) {
    io.stderr.write(`etm: ${busyError(busy).message}\n`);
    return { ok: false, interrupted: false };
  }
  for (const { config } of jobs) await connectors.setStatus(config.name, 'Scheduled');
  const logger = stderrLogger(io);
  let running: SourceProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    running?.kill();
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
  let ok = true;
  try {
    for (const { config, overrides } of jobs) {
      if (interrupted) break;
      const progress = new ProgressLine(config.name);
      const outcome = await syncSubscription(store, config, {
        source: settings.source,
        transformMap: settings.transformMap,
        rules: settings.rules,
        overrides,
        logger,
        onStart: (s) => (running = s),
        interrupted: () => interrupted !== undefined,
        onProgress: (_name, p) => io.stderr.write(`etm: ${progress.format(p)}\n`),
      });
      running = undefined;
      // The reason first; the counts only when something was read.
      if (outcome.status === 'Failed')
        io.stdout.write(`${config.name}: FAILED: ${outcome.error}\n`);
      if (outcome.status === 'Interrupted') io.stdout.write(`${config.name}: ${INTERRUPTED}\n`);
      if (outcome.status === 'Processed' || outcome.summary.records > 0)
        io.stdout.write(`${formatSummary(outcome.summary)}\n`);
      ok &&= outcome.status === 'Processed';
    }
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    // Jobs a stop left waiting will not run.
    for (const { config } of jobs) await connectors.unschedule(config.name);
  }
  if (interrupted) io.stderr.write(`etm: ${INTERRUPTED}\n`);
  return { ok, interrupted: interrupted !== undefined };
}
