/**
 * The ETM destination: routes each source record to its converter, writes what the converter
 * returns into the store, and at each checkpoint rebuilds the touched assets (merged attributes,
 * current findings, TruRisk). Transactions belong to the caller (the sync consumer), which knows
 * where checkpoints are.
 */
import { CompiledMap, compileMap } from './attribute-mapping';
import { AirbyteRecord, Logger, StreamContext, streamOf } from './converter';
import { ConverterRegistry } from './converters';
import { touched } from './converters/touched';
import { IdentificationRules } from './identification-rules';
import { AssetMaterialiser } from './store/asset-materialiser';
import { AssetResolver, ResolverStats } from './store/asset-resolver';
import { Connectors } from './store/connectors';
import { EtmStore } from './store/database';
import { DirtyAssets } from './store/dirty-assets';
import { HostCache } from './store/host-cache';
import { EtmWriter, WriteStats } from './store/writer';
import { loadTransformMap } from './transform-map';

export interface DestinationOptions {
  /** A user transform map overlaid on the default. */
  readonly transformMap?: string;
  readonly rules?: IdentificationRules;
  readonly logger: Logger;
}

/** A source record no converter could use: reported with its stream and key. */
export class RecordRejected extends Error {
  constructor(
    readonly stream: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${stream} record ${key}: ${reason}`);
  }
}

/** The fields that name a source record in a report: its stream's primary key. */
const KEY_FIELDS: Readonly<Record<string, ReadonlyArray<string>>> = {
  detections: ['subscription', 'HOST_ID', 'DETECTION_KEY'],
  knowledge_base: ['subscription', 'QID'],
};
const HOST_KEY_FIELDS = ['subscription', 'ID'];

/** The values of those fields that the record has, e.g. `jdoe@…/1001`. */
function recordKey(stream: string, data: Record<string, unknown>): string {
  const parts = (KEY_FIELDS[streamOf(stream)] ?? HOST_KEY_FIELDS)
    .map((field) => data[field])
    .filter((p) => p !== undefined && p !== null);
  return parts.length > 0 ? parts.map(String).join('/') : '(no key)';
}

/** Rejected values are reported once each; past this many distinct ones, only counted. */
const REJECTION_REPORT_LIMIT = 100;

export class EtmDestination {
  readonly ctx: StreamContext;
  readonly writer: EtmWriter;
  readonly resolver: AssetResolver;
  rejections = 0;
  /** Subscription labels of the records processed (bin/destination keeps a connector per label). */
  readonly subscriptions = new Set<string>();
  private committed: { writer: WriteStats; resolver: ResolverStats };
  private readonly materialiser: AssetMaterialiser;
  private readonly registry = new ConverterRegistry();
  private readonly reported = new Set<string>();
  private readonly unknownStreams = new Set<string>();
  private readonly rules: IdentificationRules;
  private ruleChangeNoted = false;
  private ruleChangeWarned = false;

  /**
   * The destination over `store`, its rules told the networks connectors declared: subscriptions
   * declared on one network may match hosts by private address.
   */
  static async open(store: EtmStore, options: DestinationOptions): Promise<EtmDestination> {
    const networks = await new Connectors(store.sql).networks();
    const rules = (options.rules ?? IdentificationRules.defaults()).withNetworks(networks);
    return new EtmDestination(store, { ...options, rules });
  }

  /** Rules as given (no declared networks): EtmDestination.open reads those from the store. */
  constructor(
    readonly store: EtmStore,
    private readonly options: DestinationOptions,
  ) {
    const map: CompiledMap = compileMap(loadTransformMap(options.transformMap));
    const rules = options.rules ?? IdentificationRules.defaults();
    this.rules = rules;
    const dirty = new DirtyAssets(store.sql);
    const hosts = new HostCache();
    this.resolver = new AssetResolver(store.sql, rules, dirty, hosts, () => this.writer.flush());
    this.writer = new EtmWriter(store.sql, map, dirty, hosts);
    this.materialiser = new AssetMaterialiser(store.sql, map, rules);
    this.committed = {
      writer: structuredClone(this.writer.stats),
      resolver: structuredClone(this.resolver.stats),
    };
    this.ctx = {
      map,
      rules,
      assets: this.resolver,
      logger: options.logger,
      reject: (target, value) => this.reject(target, value),
      knowledgeCurrent: (key, version) => this.writer.knowledgeCurrent(key, version),
    };
  }

  /**
   * Reads ahead, in a few statements, the store rows these records will look up one by one when
   * processed next in the same transaction: their hosts and their QIDs' knowledge.
   */
  async prepare(records: ReadonlyArray<AirbyteRecord>): Promise<void> {
    const { hosts, qids } = touched(records);
    await this.resolver.prefetch(hosts);
    await this.writer.prefetchKnowledge(qids);
  }

  /**
   * Converts and stages one record; false when no converter reads its stream. A record its
   * converter cannot read throws RecordRejected before anything of it is staged.
   */
  async process(record: AirbyteRecord): Promise<boolean> {
    const converter = this.registry.get(record.stream);
    if (!converter) {
      if (!this.unknownStreams.has(record.stream)) {
        this.unknownStreams.add(record.stream);
        this.options.logger.warn(
          `no converter for stream ${record.stream}; its records are skipped`,
        );
      }
      return false;
    }
    await this.noteRuleChange();
    const { subscription } = record.data;
    if (typeof subscription === 'string' && subscription !== '')
      this.subscriptions.add(subscription);
    let converted;
    try {
      converted = await converter.convert(record, this.ctx);
    } catch (err) {
      throw new RecordRejected(
        record.stream,
        recordKey(record.stream, record.data),
        (err as Error).message,
      );
    }
    await this.writer.write(converted);
    return true;
  }

  /** Whether a converter reads this stream (prefixed names included). */
  converts(stream: string): boolean {
    return this.registry.get(stream) !== undefined;
  }

  /** Runs every converter's onProcessingComplete and stages what they return. */
  async complete(): Promise<void> {
    await this.noteRuleChange();
    for (const converter of this.registry.converters) {
      await this.writer.write(await converter.onProcessingComplete(this.ctx));
    }
  }

  /** Rebuilds touched assets; call inside the transaction, just before committing. */
  async checkpoint(): Promise<number> {
    await this.noteRuleChange();
    await this.writer.flush();
    const n = await this.materialiser.run();
    this.writer.committed();
    this.committed = {
      writer: structuredClone(this.writer.stats),
      resolver: structuredClone(this.resolver.stats),
    };
    return n;
  }

  /** The transaction was rolled back: forget what was staged, counts included. */
  discard(): void {
    this.ruleChangeNoted = false;
    this.writer.discard();
    this.writer.stats = structuredClone(this.committed.writer);
    Object.assign(this.resolver.stats, structuredClone(this.committed.resolver));
  }

  private reject(target: string, value: unknown): void {
    this.rejections++;
    const key = `${target}\u0000${JSON.stringify(value)}`;
    if (this.reported.size >= REJECTION_REPORT_LIMIT || this.reported.has(key)) return;
    this.reported.add(key);
    this.options.logger.warn(
      `${target}: cannot normalise ${JSON.stringify(value)}; stored as null`,
    );
  }

  /**
   * Hosts already resolved keep their assets when rules change; say so rather than surprise.
   * Noted in the first transaction that writes, so that it commits (or rolls back) with it.
   */
  private async noteRuleChange(): Promise<void> {
    if (this.ruleChangeNoted) return;
    this.ruleChangeNoted = true;
    const used = this.rules.names.join(',');
    const before = await this.store.getMeta('identification_rules');
    if (before !== undefined && before !== used && !this.ruleChangeWarned) {
      this.ruleChangeWarned = true;
      this.options.logger.warn(
        `identification rules changed from ${before} to ${used}: they apply to hosts seen from now on ` +
          `and to hosts whose identifiers change; assets already formed are kept`,
      );
    }
    if (before !== used) await this.store.setMeta('identification_rules', used);
  }
}
