/**
 * The ETM destination: routes each source record to its converter, writes what the converter
 * returns into the store, and at each checkpoint rebuilds the touched assets (merged attributes,
 * current findings, TruRisk). Transactions belong to the caller (the sync consumer), which knows
 * where checkpoints are.
 */
import { CompiledMap, compileMap } from './attribute-mapping';
import { AirbyteRecord, Logger, StreamContext } from './converter';
import { ConverterRegistry } from './converters';
import { IdentificationRules } from './identification-rules';
import { AssetMaterialiser } from './store/asset-materialiser';
import { AssetResolver, ResolverStats } from './store/asset-resolver';
import { Connectors } from './store/connectors';
import { EtmStore } from './store/database';
import { EtmWriter, WriteStats } from './store/writer';
import { loadTransformMap } from './transform-map';

export interface DestinationOptions {
  /** A user transform map overlaid on the default. */
  readonly transformMap?: string;
  readonly rules?: IdentificationRules;
  readonly logger: Logger;
}

/** Rejected values are reported once each; past this many distinct ones, only counted. */
const REJECTION_REPORT_LIMIT = 100;

export class EtmDestination {
  readonly ctx: StreamContext;
  readonly writer: EtmWriter;
  readonly resolver: AssetResolver;
  rejections = 0;
  private committed: { writer: WriteStats; resolver: ResolverStats };
  private readonly materialiser: AssetMaterialiser;
  private readonly registry = new ConverterRegistry();
  private readonly reported = new Set<string>();
  private readonly unknownStreams = new Set<string>();

  constructor(
    readonly store: EtmStore,
    private readonly options: DestinationOptions,
  ) {
    const map: CompiledMap = compileMap(loadTransformMap(options.transformMap));
    // Subscriptions declared on one network may match hosts by private address.
    const rules = (options.rules ?? IdentificationRules.defaults()).withNetworks(
      new Connectors(store.db).networks(),
    );
    this.noteRuleChange(rules);
    this.resolver = new AssetResolver(store.db, rules);
    this.writer = new EtmWriter(store.db, map);
    this.materialiser = new AssetMaterialiser(store.db, map, rules);
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

  /** Converts and stages one record; false when no converter reads its stream. */
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
    this.writer.write(await converter.convert(record, this.ctx));
    return true;
  }

  /** Runs every converter's onProcessingComplete and stages what they return. */
  async complete(): Promise<void> {
    for (const converter of this.registry.converters) {
      this.writer.write(await converter.onProcessingComplete(this.ctx));
    }
  }

  /** Rebuilds touched assets; call inside the transaction, just before committing. */
  checkpoint(): number {
    const n = this.materialiser.run();
    this.committed = {
      writer: structuredClone(this.writer.stats),
      resolver: structuredClone(this.resolver.stats),
    };
    return n;
  }

  /** The transaction was rolled back: forget what was staged, counts included. */
  discard(): void {
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

  /** Hosts already resolved keep their assets when rules change; say so rather than surprise. */
  private noteRuleChange(rules: IdentificationRules): void {
    const used = rules.names.join(',');
    const before = this.store.getMeta('identification_rules');
    if (before !== undefined && before !== used) {
      this.options.logger.warn(
        `identification rules changed from ${before} to ${used}: they apply to hosts seen from now on ` +
          `and to hosts whose identifiers change; assets already formed are kept`,
      );
    }
    if (before !== used) this.store.setMeta('identification_rules', used);
  }
}
