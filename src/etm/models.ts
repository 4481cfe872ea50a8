/**
 * The ETM models (etm_Asset, etm_Finding) as data: which attributes exist, which a transform map
 * may target and with what type, and which the destination computes. Loaded from
 * resources/etm/models.json so the map validator and the query language agree on one list.
 */
import modelsJson from '../../resources/etm/models.json';
import { AttributeType } from './normalisers';

export const ASSET = 'etm_Asset';
export const FINDING = 'etm_Finding';
export type EtmModel = typeof ASSET | typeof FINDING;

/** Every record this destination writes says where it came from. */
export const SOURCE = 'VMDR';
export const FINDING_TYPE = 'VULNERABILITY';

/** How an asset attribute combines across the hosts merged into the asset. */
export type MergePolicy = 'freshest' | 'max' | 'union';

export interface AttributeSpec {
  readonly name: string;
  readonly type: AttributeType;
  /** Sub-fields of an objectList attribute (mitreTactics[].id). */
  readonly fields?: Readonly<Record<string, AttributeType>>;
  readonly computed: boolean;
}

export interface ModelSpec {
  readonly name: EtmModel;
  readonly attributes: ReadonlyMap<string, AttributeSpec>;
  readonly tableColumns: ReadonlyArray<string>;
  readonly merge: ReadonlyMap<string, MergePolicy>;
}

type RawAttribute = string | { type: string; fields?: Record<string, string> };

function attribute(name: string, raw: RawAttribute, computed: boolean): AttributeSpec {
  if (typeof raw === 'string') return { name, type: raw as AttributeType, computed };
  return {
    name,
    type: raw.type as AttributeType,
    fields: raw.fields as Record<string, AttributeType> | undefined,
    computed,
  };
}

function load(name: EtmModel): ModelSpec {
  const raw = modelsJson.models[name] as {
    computed: Record<string, RawAttribute>;
    mapped: Record<string, RawAttribute>;
    tableColumns: string[];
    assetMerge?: Record<string, MergePolicy>;
  };
  const attributes = new Map<string, AttributeSpec>();
  for (const [n, a] of Object.entries(raw.computed)) attributes.set(n, attribute(n, a, true));
  for (const [n, a] of Object.entries(raw.mapped)) attributes.set(n, attribute(n, a, false));
  return {
    name,
    attributes,
    tableColumns: raw.tableColumns,
    merge: new Map(Object.entries(raw.assetMerge ?? {})),
  };
}

export const MODELS: Readonly<Record<EtmModel, ModelSpec>> = {
  [ASSET]: load(ASSET),
  [FINDING]: load(FINDING),
};
