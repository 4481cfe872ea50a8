/**
 * `etm run --profile F [--db etm.db]`: registers the profile's subscriptions as connectors and,
 * if the profile is Active, syncs them on its schedule until the schedule ends (a single
 * occurrence runs once; an overdue one runs now). Between runs each connector is Scheduled with
 * its next run time. Ctrl-C stops waiting, or stops the running sync.
 */
import { Io } from '../io';
import { loadProfile } from '../profile/profile';
import { nextOccurrence } from '../profile/schedule';
import { Connectors } from '../store/connectors';
import { EtmStore } from '../store/database';
import { readSourceConfig } from '../sync/source-config';
import { DEFAULT_SOURCE } from '../sync/source-process';
import { register, runJobs, SubscriptionJob } from './sync';

export interface RunOptions {
  readonly profile: string;
  readonly db: string;
  readonly source?: string;
}

export async function run(options: RunOptions, io: Io): Promise<number> {
  const profile = loadProfile(options.profile);
  const jobs: SubscriptionJob[] = profile.subscriptions.map((s) => ({
    config: readSourceConfig(s.config),
    network: s.network,
    overrides: Object.keys(s.filters).length > 0 ? s.filters : undefined,
  }));
  const settings = {
    source: options.source ?? DEFAULT_SOURCE,
    transformMap: profile.transformMap,
    rules: profile.rules,
    profile: profile.name,
  };
  const store = await EtmStore.open(options.db);
  try {
    await register(store, jobs, settings);
    if (profile.status === 'Inactive') {
      io.stdout.write(
        `profile ${profile.name} is Inactive: ${jobs.length} connectors registered, nothing scheduled\n`,
      );
      return 0;
    }
    const connectors = new Connectors(store.sql);
    let lastRun = await latestRun(connectors, jobs);
    let ok = true;
    for (;;) {
      const next = nextOccurrence(profile.schedule, new Date(), lastRun);
      for (const { config } of jobs) await connectors.scheduleNext(config.name, next);
      if (!next) {
        io.stdout.write(`profile ${profile.name}: schedule complete\n`);
        return ok ? 0 : 1;
      }
      io.stderr.write(`etm: profile ${profile.name}: next run at ${next.toISOString()}\n`);
      if (!(await sleepUntil(next))) {
        // Nothing will start the next run: the connectors say so.
        for (const { config } of jobs) await connectors.unschedule(config.name);
        io.stderr.write('etm: interrupted while waiting; no run is scheduled any more\n');
        return 130;
      }
      lastRun = next;
      const outcome = await runJobs(store, jobs, settings, io);
      if (outcome.interrupted) return 130;
      ok = outcome.ok && ok;
    }
  } finally {
    await store.close();
  }
}

/** When this profile's connectors last started a run, so an `at` that already ran is not rerun. */
async function latestRun(
  connectors: Connectors,
  jobs: ReadonlyArray<SubscriptionJob>,
): Promise<Date | null> {
  const runs = await Promise.all(jobs.map((j) => connectors.lastRun(j.config.name)));
  const times = runs
    .map((r) => r?.started_at)
    .filter((t): t is string => !!t)
    .map((t) => new Date(t).getTime());
  return times.length > 0 ? new Date(Math.max(...times)) : null;
}

/** Resolves true at `when`, false if the process is told to stop first. */
function sleepUntil(when: Date): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      process.off('SIGINT', stop).off('SIGTERM', stop);
      resolve(ok);
    };
    const stop = (): void => done(false);
    // setTimeout tops out near 24.8 days; wake up and sleep again for longer waits.
    const wait = (): NodeJS.Timeout =>
      setTimeout(
        () => (Date.now() >= when.getTime() ? done(true) : (timer = wait())),
        Math.min(when.getTime() - Date.now(), 2 ** 31 - 1),
      );
    let timer = wait();
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}
