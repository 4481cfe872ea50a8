/**
 * `etm demo [--db etm-demo.db] [--hosts 300] [--no-serve] [--port 8080]`: the whole flow on one machine, for a person to
 * read. Starts two simulated subscriptions that share part of their hosts (demo/subscriptions.ts),
 * syncs both into a fresh demo store the way `etm sync` does (`bin/main read` per subscription),
 * shows one view of both and the riskiest assets, runs a scan cycle, syncs again incrementally and
 * shows what changed, then runs the two query tokens, and ends by serving the ETM console on the
 * store until Ctrl-C (`--no-serve`: it ends there). The simulators and their configs go when the
 * walk-through ends; the store stays, for the console, `etm query` and `etm status`.
 */
import { Writable } from 'stream';
import { VError } from 'verror';

import { freshDemoStore } from '../demo/demo-store';
import {
  DEMO_SCAN_CYCLE,
  RunningSubscriptions,
  startDemoSubscriptions,
} from '../demo/subscriptions';
import { Io, writeLine } from '../io';
import { ASSET, FINDING, MODELS } from '../models';
import { compileQuery } from '../query/compiler';
import { parseQuery } from '../query/parser';
import { selectRecords } from '../query/select';
import { EtmStore } from '../store/database';
import { subscriptionOverlap } from '../store/overlap';
import { collect, riskiestAssets } from '../store/reader';
import {
  FindingChange,
  FindingChanges,
  findingChanges,
  findingStatuses,
} from '../sync/finding-changes';
import { readSourceConfig } from '../sync/source-config';
import { DEFAULT_SOURCE } from '../sync/source-process';
import { formatCount as n, formatCounts, storeTotals } from '../sync/summary';
import { cell, writeRecordTable, writeTable } from '../table';
import { serveUntilStopped } from './serve';
import { register, runJobs, SubscriptionJob, SyncSettings } from './sync';

export interface DemoOptions {
  readonly db: string;
  readonly hosts: string;
  /** End by serving the console on the demo store (`--no-serve`: false). */
  readonly serve?: boolean;
  /** The console's port; any free one when it is taken. */
  readonly port?: string;
}

/** The product's two tokens: every VMDR asset, every VMDR finding. */
const QUERY_TOKENS = ['inventory: (source: VMDR)', 'finding.vendorProductName: VMDR'];

const RISKIEST = 10;
const QUERY_ROWS = 5;
const CHANGE_ROWS = 3;

type Say = (line?: string) => Promise<void>;

export async function demo(options: DemoOptions, io: Io): Promise<number> {
  const port = Number(options.port ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VError('--port must be a port number (0-65535), not %j', options.port);
  }
  const code = await walkDemo(options, io);
  if (code !== 0 || options.serve === false) return code;
  await writeLine(io.stdout, '');
  await serveUntilStopped({ db: options.db, host: '127.0.0.1', port }, io, true);
  return 0;
}

async function walkDemo(options: DemoOptions, io: Io): Promise<number> {
  const hosts = Number(options.hosts);
  if (!Number.isInteger(hosts) || hosts < 1) {
    throw new VError(
      '--hosts must be a whole number of hosts per subscription, not %j',
      options.hosts,
    );
  }
  const started = Date.now();
  const store = await freshDemoStore(options.db);
  // Ctrl-C stops the running sync (runJobs) or the demo between steps, and still cleans up.
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
  let subscriptions: RunningSubscriptions | undefined;
  try {
    subscriptions = await startDemoSubscriptions(hosts);
    const say: Say = (line = '') => writeLine(io.stdout, line);
    const ok = await walkThrough(store, subscriptions, options.db, io, say, () => stopped);
    if (stopped) {
      io.stderr.write('etm: demo interrupted\n');
      return 130;
    }
    if (ok)
      await say(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. ${tryNext(options.db)}`);
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await subscriptions?.close();
    await store.close();
  }
}

/** The demo's steps; false when a sync failed or the demo was stopped. */
async function walkThrough(
  store: EtmStore,
  subscriptions: RunningSubscriptions,
  db: string,
  io: Io,
  say: Say,
  stopped: () => boolean,
): Promise<boolean> {
  await introduce(subscriptions, db, say);
  const jobs: SubscriptionJob[] = subscriptions.list.map((s) => ({
    config: readSourceConfig(s.configFile),
  }));
  const settings: SyncSettings = { source: DEFAULT_SOURCE };
  await register(store, jobs, settings);
  const sync = async (): Promise<boolean> =>
    !stopped() && (await runJobs(store, jobs, settings, io)) && !stopped();

  await say('1. First sync: the source (bin/main read) for each subscription, into the store');
  if (!(await sync())) return false;
  await say();
  await say('2. One view of both subscriptions');
  await showOneView(store, say);
  await showRiskiest(store, io.stdout, say);

  const { hours, hostFraction = 0, purgeFraction = 0 } = DEMO_SCAN_CYCLE;
  await say(
    `3. A scan cycle: ${hours} simulated hours later, each subscription has rescanned ` +
      `${Math.round(hostFraction * 100)}% of its hosts and purged ${Math.round(purgeFraction * 100)}% ` +
      'of the others',
  );
  await showScanCycle(subscriptions, say);
  const before = await findingStatuses(store.sql);
  await say('4. Incremental sync: each connector resumes from its saved state');
  if (!(await sync())) return false;
  await showChanges(await findingChanges(before, store.sql), io.stdout, say);

  await say('5. The query tokens');
  for (const token of QUERY_TOKENS) {
    if (stopped()) return false;
    await showQuery(store, token, db, io.stdout, say);
  }
  return true;
}

async function introduce(subscriptions: RunningSubscriptions, db: string, say: Say): Promise<void> {
  await say(
    'Qualys VMDR → ETM demo: two simulated subscriptions, one deduplicated, risk-scored view',
  );
  await say();
  const labels = new Map(subscriptions.list.map((s) => [s.options.seed, s.label]));
  const width = Math.max(...subscriptions.list.map((s) => s.label.length));
  for (const s of subscriptions.list) {
    const { dataset, baseUrl } = s.simulator;
    const partner = s.options.overlapWith && labels.get(s.options.overlapWith.seed);
    const shared = partner
      ? `, ${n(dataset.sharedHosts().length)} of them machines ${partner} scans too ` +
        '(same agent ID, cloud instance or FQDN; other host IDs)'
      : '';
    await say(`  ${s.label.padEnd(width)}  ${baseUrl}  ${n(dataset.hostCount)} hosts${shared}`);
  }
  await say(`  store: ${db} (new)`);
  await say();
}

async function showOneView(store: EtmStore, say: Say): Promise<void> {
  const overlap = await subscriptionOverlap(store.sql);
  const totals = await storeTotals(store);
  await say(`  hosts     ${formatCounts(overlap.hostsBySubscription)}`);
  await say(
    `  assets    ${n(totals.assets)}: ${n(overlap.sharedAssets)} hold hosts of both subscriptions ` +
      `(identified by ${formatCounts(overlap.sharedAssetsByRule)})`,
  );
  await say(
    `  findings  ${n(totals.findings)}: ${n(overlap.sharedFindings)} reported by both ` +
      'subscriptions, each stored once (the latest report is current)',
  );
  await say(
    `  open      ${n(totals.openFindings)} findings NEW, ACTIVE or REOPENED; ` +
      `assets by TruRisk: ${formatCounts(totals.assetsByTruRiskBand)}`,
  );
}

async function showRiskiest(store: EtmStore, out: Writable, say: Say): Promise<void> {
  await say();
  await say('Riskiest assets (TruRisk 0-1000, from open findings and asset criticality)');
  await writeRecordTable(out, ASSET, await riskiestAssets(store.sql, RISKIEST));
  await say();
}

async function showScanCycle(subscriptions: RunningSubscriptions, say: Say): Promise<void> {
  const width = Math.max(...subscriptions.list.map((s) => s.label.length));
  for (const s of subscriptions.list) {
    const r = s.simulator.scanCycle(DEMO_SCAN_CYCLE);
    await say(
      `  ${s.label.padEnd(width)}  ${n(r.changedHostIds.length)} hosts rescanned: ` +
        `${n(r.added.length)} detections new, ${n(r.fixed.length)} fixed, ` +
        `${n(r.reopened.length)} reopened; ${n(r.modifiedQids.length)} KB entries updated; ` +
        `${n(r.purgedHostIds.length)} hosts purged`,
    );
  }
  await say();
}

async function showChanges(changes: FindingChanges, out: Writable, say: Say): Promise<void> {
  const { added, fixed, reopened, closedByPurge } = changes;
  await say();
  await say(
    `What changed in ETM: ${n(added.length)} new findings, ${n(fixed.length)} fixed, ` +
      `${n(reopened.length)} reopened.`,
  );
  if (closedByPurge.length > 0) {
    await say(`  ${n(closedByPurge.length)} more closed: Qualys no longer lists their hosts.`);
  }
  // Why these differ from the scanners' counts above.
  await say('  These count findings, not detections: a detection both subscriptions report is one');
  await say(
    '  finding, with the status of the report with the latest LAST_FOUND. Information-gathered',
  );
  await say(
    '  detections and disabled QIDs are not ingested (source defaults). The most severe of each:',
  );
  const columns = MODELS[FINDING].tableColumns;
  const rows = [added, fixed, reopened, closedByPurge].flatMap((list) =>
    mostSevere(list, CHANGE_ROWS),
  );
  await writeTable(
    out,
    ['change', ...columns],
    rows.map((c) => [c.change, ...columns.map((col) => cell(c.finding.record[col]))]),
  );
  await say();
}

function mostSevere(changes: ReadonlyArray<FindingChange>, count: number): FindingChange[] {
  const score = (c: FindingChange): number =>
    Number(c.finding.record.findingSeverity ?? 0) * 1000 +
    Number(c.finding.record.detectionScore ?? 0);
  const key = (c: FindingChange): string => c.finding.record.findingKey as string;
  // Ties by finding key, which unlike store order does not depend on the order hosts arrived in.
  return [...changes]
    .sort((a, b) => score(b) - score(a) || key(a).localeCompare(key(b)))
    .slice(0, count);
}

async function showQuery(
  store: EtmStore,
  token: string,
  db: string,
  out: Writable,
  say: Say,
): Promise<void> {
  await say(`$ bin/etm query --db ${db} '${token}'`);
  const { model, records } = selectRecords(store, compileQuery(parseQuery(token)));
  const total = await writeRecordTable(out, model, await collect(records), QUERY_ROWS);
  const noun = model === ASSET ? 'assets' : 'findings';
  await say(`(${n(Math.min(total, QUERY_ROWS))} of ${n(total)} ${noun})`);
  await say();
}

function tryNext(db: string): string {
  return [
    `The demo store stays in ${db}; try:`,
    `  bin/etm status --db ${db}`,
    `  bin/etm query --db ${db} 'finding.findingStatus: REOPENED and finding.findingSeverity >= 4'`,
  ].join('\n');
}
