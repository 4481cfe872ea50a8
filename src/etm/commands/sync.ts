/**
 * `etm sync --config F [--config F2 …] [--db etm.db]`: each config is a subscription and a
 * connector; all are Scheduled, then synced one after the other (one SQLite writer), printing
 * progress on stderr and each summary on stdout. Ctrl-C stops the running source; what it staged
 * is rolled back and the connector is Failed, committed checkpoints stay.
 */
import { IdentificationRules } from '../identification-rules';
import { Io, stderrLogger } from '../io';
import { Connectors } from '../store/connectors';
import { EtmStore } from '../store/database';
import { ConsumerProgress } from '../sync/consumer';
import { readSourceConfig, SourceConfig } from '../sync/source-config';
import { DEFAULT_SOURCE, SourceProcess } from '../sync/source-process';
import { syncSubscription } from '../sync/subscription-sync';
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
  const jobs = options.config.map((file) => ({ config: readSourceConfig(file) }));
  const rules = options.identificationRules
    ? IdentificationRules.select(options.identificationRules)
    : undefined;
  const store = EtmStore.open(options.db);
  try {
    const settings = {
      source: options.source ?? DEFAULT_SOURCE,
      transformMap: options.transformMap,
      rules,
      network: options.network,
    };
    register(store, jobs, settings);
    return (await runJobs(store, jobs, settings, io)) ? 0 : 1;
  } finally {
    store.close();
  }
}

/** Checks the jobs and map, then registers the connectors (Registered, unless already known). */
export function register(
  store: EtmStore,
  jobs: ReadonlyArray<SubscriptionJob>,
  settings: SyncSettings,
): void {
  const names = jobs.map((j) => j.config.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup)
    throw new VError(
      'two configs name the same subscription %j; give one a different "subscription" label',
      dup,
    );
  loadTransformMap(settings.transformMap);
  const connectors = new Connectors(store.db);
  for (const { config, network } of jobs) {
    connectors.register({
      name: config.name,
      baseUrl: config.baseUrl,
      username: config.username,
      configPath: config.path,
      profile: settings.profile,
      network: network ?? settings.network,
    });
  }
}

/** Schedules every job, then syncs them in turn; true when all were Processed. */
export async function runJobs(
  store: EtmStore,
  jobs: ReadonlyArray<SubscriptionJob>,
  settings: SyncSettings,
  io: Io,
): Promise<boolean> {
  const connectors = new Connectors(store.db);
  for (const { config } of jobs) connectors.setStatus(config.name, 'Scheduled');
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
      const started = Date.now();
      const outcome = await syncSubscription(store, config, {
        source: settings.source,
        transformMap: settings.transformMap,
        rules: settings.rules,
        overrides,
        logger,
        onStart: (s) => (running = s),
        onProgress: (name, p) => io.stderr.write(`etm: ${progressLine(name, p, started)}\n`),
      });
      running = undefined;
      io.stdout.write(`${formatSummary(outcome.summary)}\n`);
      if (outcome.error) io.stdout.write(`  FAILED: ${outcome.error}\n`);
      ok &&= outcome.status === 'Processed';
    }
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
  if (interrupted) {
    io.stderr.write(`etm: interrupted by ${interrupted}\n`);
    return false;
  }
  return ok;
}

function progressLine(name: string, p: ConsumerProgress, started: number): string {
  const seconds = Math.max((Date.now() - started) / 1000, 0.001);
  const rate = Math.round(p.findings / seconds);
  const n = (v: number): string => v.toLocaleString('en-US');
  return `${name}: ${n(p.records)} records (${n(p.hosts)} host, ${n(p.findings)} findings), ${n(p.checkpoints)} checkpoints, ${n(rate)} findings/s`;
}
