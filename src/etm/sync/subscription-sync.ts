/**
 * One subscription's sync: the connector goes Processing, the source runs as a process from the
 * stored state, its messages are consumed into the store checkpoint by checkpoint, and the run
 * ends Processed — or Failed on a source error, a non-zero exit or a record we cannot take, with
 * staged data rolled back and earlier checkpoints kept.
 */
import { IdentificationRules } from '../identification-rules';
import { EtmDestination } from '../destination';
import { Logger } from '../converter';
import { Connectors } from '../store/connectors';
import { EtmStore } from '../store/database';
import { sourceCatalog } from './catalog';
import { ConsumerProgress, SyncConsumer } from './consumer';
import { redact, SourceConfig } from './source-config';
import { SourceProcess, startSource } from './source-process';
import { renamedStream } from './source-state';
import { storeTotals, SyncSummary } from './summary';
import { emptyResolverStats } from '../store/asset-resolver';
import { emptyWriteStats } from '../store/writer';

export interface SyncOptions {
  readonly source: string;
  readonly transformMap?: string;
  readonly rules?: IdentificationRules;
  /** Profile filters laid over the config (finding_types, severities, tag_filter…). */
  readonly overrides?: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
  readonly onProgress?: (connector: string, p: ConsumerProgress) => void;
  /** Lets the caller stop the source (Ctrl-C). */
  readonly onStart?: (source: SourceProcess) => void;
  /** True once the user asked to stop: the run then ends Interrupted, not Failed. */
  readonly interrupted?: () => boolean;
}

/** What an interrupted run says: committed checkpoints stand and the next sync resumes. */
export const INTERRUPTED = 'interrupted; run again to resume';

export interface SyncOutcome {
  readonly status: 'Processed' | 'Failed' | 'Interrupted';
  readonly summary: SyncSummary;
  readonly error?: string;
}

export async function syncSubscription(
  store: EtmStore,
  config: SourceConfig,
  options: SyncOptions,
): Promise<SyncOutcome> {
  const connectors = new Connectors(store.sql);
  const name = config.name;
  const say = (m: string): string => redact(m, config.secrets);
  await connectors.claim(name);
  const runId = await connectors.startRun(name);
  const before = await storeTotals(store);
  let outcome: SyncOutcome;
  try {
    const destination = await EtmDestination.open(store, {
      transformMap: options.transformMap,
      rules: options.rules,
      logger: {
        info: (m) => options.logger.info(say(m)),
        warn: (m) => options.logger.warn(say(m)),
      },
    });
    const consumer = new SyncConsumer(destination, {
      connector: name,
      onProgress: (p) => options.onProgress?.(name, p),
      onLog: (level, m) => options.logger.warn(`${name}: source ${level}: ${say(m)}`),
    });
    const source = startSource({
      source: options.source,
      configPath: config.path,
      config: options.overrides && { ...config.content, ...options.overrides },
      catalog: sourceCatalog(),
      state: await carriedOver(store, connectors, name, options.logger),
    });
    options.onStart?.(source);
    const result = await consumer.consume(source.lines);
    // Input that ended (even on a cut line) means the source is ending by itself.
    const killedByUs = result.aborted && result.lastLineCut === undefined;
    if (killedByUs) source.kill();
    const exit = await source.exit;
    // A source stopped by a signal (Ctrl-C reaches it too) may leave its last line cut short:
    // the stop is the failure, not that line.
    const stopped = !killedByUs && exit.signal !== null;
    const failures = result.failures.filter((f) => !(stopped && f === result.lastLineCut));
    if (result.uncommitted > 0) {
      failures.push(
        `${result.uncommitted} records after the source's last checkpoint were not committed`,
      );
    }
    if (exit.code !== 0 && !killedByUs) {
      const tail = source.stderrTail().trim().split('\n').slice(-3).join(' | ');
      failures.push(
        `source exited with ${exit.signal ?? `code ${exit.code}`}${tail ? `: ${tail}` : ''}`,
      );
    }
    const totals = await storeTotals(store);
    const summary: SyncSummary = {
      connector: name,
      records: result.records,
      checkpoints: result.checkpoints,
      changes: { ...destination.writer.stats, ...destination.resolver.stats },
      totals,
      delta: {
        assets: totals.assets - before.assets,
        purgedAssets: totals.purgedAssets - before.purgedAssets,
        findings: totals.findings - before.findings,
        openFindings: totals.openFindings - before.openFindings,
      },
    };
    const error = failures.length > 0 ? say(failures.join('; ')) : undefined;
    outcome = error
      ? options.interrupted?.()
        ? { status: 'Interrupted', summary, error: INTERRUPTED }
        : { status: 'Failed', summary, error }
      : { status: 'Processed', summary };
  } catch (err) {
    await store.rollback();
    const error = say((err as Error).message);
    outcome = { status: 'Failed', summary: await emptySummary(name, store), error };
  }
  await connectors.finishRun(runId, outcome.status, outcome.summary, outcome.error);
  await connectors.setStatus(name, outcome.status, outcome.error);
  return outcome;
}

/**
 * The connector's kept state, a host_detections part (kept by an etm that read that stream)
 * now the detections part, saved so: the first sync after the upgrade resumes, not re-reads.
 */
async function carriedOver(
  store: EtmStore,
  connectors: Connectors,
  name: string,
  logger: Logger,
): Promise<unknown> {
  const kept = await connectors.state(name);
  const state = renamedStream(kept, 'host_detections', 'detections');
  if (state !== kept) {
    await store.begin();
    await connectors.saveState(name, state);
    await store.commit();
    logger.info(`${name}: the host_detections state now resumes the detections stream`);
  }
  return state;
}

async function emptySummary(connector: string, store: EtmStore): Promise<SyncSummary> {
  return {
    connector,
    records: 0,
    checkpoints: 0,
    changes: { ...emptyWriteStats(), ...emptyResolverStats() },
    totals: await storeTotals(store),
    delta: { assets: 0, purgedAssets: 0, findings: 0, openFindings: 0 },
  };
}
