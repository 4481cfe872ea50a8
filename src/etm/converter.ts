/**
 * Our small base for destination converters, in the shape of Faros destination converters
 * (faros-ai/airbyte-connectors, destinations/airbyte-faros-destination/src/converters): one class
 * per source stream with `source`, `destinationModels`, `convert(record, ctx)` returning
 * `{model, record}` pairs, and `onProcessingComplete(ctx)`.
 *
 * Converters emit what one source record says; the store turns that into final ETM records
 * (merging hosts into assets, picking the latest report of a finding, computing TruRisk). These
 * destination models flow from converters to the store:
 *   etm_Asset         one host's view of its asset: assetKey, qualysHosts [{subscription, hostId}],
 *                     and the mapped host attributes;
 *   etm_Asset__Deletion  that view withdrawn, in the Faros `__Deletion` shape: `where`
 *                     {subscription, hostId} and `deletedAt`. The host was purged from Qualys (or
 *                     left the tag filter): the store closes its findings and detaches it from its
 *                     asset (store/host-purge.ts);
 *   etm_Finding       one detection: findingKey, assetKey, subscription, qualysHostId,
 *                     vulnerabilityKey (the QID) and the mapped per-detection attributes;
 *   etm_Vulnerability the per-QID attributes of findings (title, CVSS, CVEs, MITRE…), stored once
 *                     per QID and joined into every etm_Finding of that QID on output.
 */
import { CompiledMap, Rejection } from './attribute-mapping';
import { IdentificationRules } from './identification-rules';

export type DestinationModel =
  'etm_Asset' | 'etm_Asset__Deletion' | 'etm_Finding' | 'etm_Vulnerability';
export const VULNERABILITY: DestinationModel = 'etm_Vulnerability';
export const ASSET_DELETION: DestinationModel = 'etm_Asset__Deletion';

export interface DestinationRecord {
  readonly model: DestinationModel;
  readonly record: Record<string, unknown>;
}

/** The `record` of an Airbyte RECORD message. */
export interface AirbyteRecord {
  readonly stream: string;
  readonly data: Record<string, unknown>;
  readonly emitted_at?: number;
  readonly namespace?: string;
}

/** Resolves a Qualys host to the asset it belongs to (store-backed; see store/asset-resolver). */
export interface AssetIdentity {
  resolve(subscription: string, hostId: string, host: unknown): Promise<string>;
  /** The asset of a host the store holds, not purged; undefined otherwise. Changes nothing. */
  knownAsset(subscription: string, hostId: string): Promise<string | undefined>;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface StreamContext {
  readonly map: CompiledMap;
  readonly rules: IdentificationRules;
  readonly assets: AssetIdentity;
  readonly logger: Logger;
  /** Reports a source value its normaliser could not read (once per target and value). */
  readonly reject: Rejection;
  /**
   * True when this QID's attributes at this version are already staged or stored in this run,
   * so the converter need not map them again (a QID repeats on thousands of detections).
   */
  readonly knowledgeCurrent: (vulnerabilityKey: string, version: string) => boolean;
}

/**
 * Stream names may arrive prefixed by the platform (`<origin>__qualys__host_detections`); the
 * stream is the last `__` segment.
 */
export function streamOf(name: string): string {
  const i = name.lastIndexOf('__');
  return i < 0 ? name : name.slice(i + 2);
}

export abstract class Converter {
  /** The system the records come from. */
  abstract readonly source: string;
  /** The source stream this converter reads (unprefixed). */
  abstract readonly stream: string;
  abstract readonly destinationModels: ReadonlyArray<DestinationModel>;

  abstract convert(
    record: AirbyteRecord,
    ctx: StreamContext,
  ): Promise<ReadonlyArray<DestinationRecord>>;

  /** Called once after the last record of a sync; nothing to add by default. */
  async onProcessingComplete(_ctx: StreamContext): Promise<ReadonlyArray<DestinationRecord>> {
    return [];
  }
}
