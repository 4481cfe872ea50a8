/**
 * Asset tags of the simulated subscription: a fixed catalogue per seed (environments, OS groups,
 * clouds, locations, business units, asset-criticality tags 1-5 and `eval-NNNNNN-test` leftovers)
 * and the rule that gives each host its tags. Asset Criticality Score = highest criticality among a
 * host's tags (doc §6); hosts without one get DEFAULT_ASSET_CRITICALITY.
 */
import { Rng, Stream } from './random';

/**
 * ACS of a host with no criticality tag. The doc does not state it [U]; Qualys' UI shows 2 for
 * unassigned assets, so that is the likeliest value.
 */
export const DEFAULT_ASSET_CRITICALITY = 2;

export interface TagDefinition {
  id: number;
  name: string;
  /** Asset criticality 1-5 carried by the tag, if it is a criticality tag. */
  criticality?: number;
}

export type TagGroup =
  'environment' | 'os' | 'cloud' | 'location' | 'business' | 'criticality' | 'eval' | 'exposure';

const GROUP_NAMES: Readonly<Record<TagGroup, readonly string[]>> = {
  environment: ['Production', 'Staging', 'Development'],
  os: ['Windows Servers', 'Linux Servers', 'Network Devices'],
  cloud: ['AWS', 'Azure', 'GCP'],
  location: ['DC-Frankfurt', 'DC-Virginia', 'Branch Offices'],
  business: ['Finance', 'HR Systems', 'R&D <Lab>', 'PCI Scope'],
  criticality: [
    'Asset Criticality 1 - Low',
    'Asset Criticality 2 - Minor',
    'Asset Criticality 3 - Medium',
    'Asset Criticality 4 - High',
    'Asset Criticality 5 - Critical',
  ],
  eval: [],
  exposure: ['Internet Facing'],
};

export class TagCatalogue {
  readonly tags: readonly TagDefinition[];
  readonly groups: Readonly<Record<TagGroup, readonly TagDefinition[]>>;
  private readonly byId = new Map<number, TagDefinition>();

  constructor(seed: number) {
    const rng = Rng.keyed(seed, Stream.tags);
    let id = 11_000_000 + rng.int(0, 80_000_000);
    const groups = {} as Record<TagGroup, TagDefinition[]>;
    const all: TagDefinition[] = [];
    for (const group of Object.keys(GROUP_NAMES) as TagGroup[]) {
      const names =
        group === 'eval'
          ? [0, 1, 2].map(() => `eval-${rng.int(100000, 999999)}-test`)
          : GROUP_NAMES[group];
      groups[group] = names.map((name, k) => {
        id += rng.int(1, 400);
        const tag: TagDefinition = { id, name };
        if (group === 'criticality') tag.criticality = k + 1;
        all.push(tag);
        this.byId.set(id, tag);
        return tag;
      });
    }
    this.tags = all;
    this.groups = groups;
  }

  byTagId(id: number): TagDefinition | undefined {
    return this.byId.get(id);
  }
}

/** Highest criticality among the tags, else the default (doc §6: "highest wins"). */
export function assetCriticality(tags: readonly TagDefinition[]): number {
  let acs = 0;
  for (const tag of tags)
    if (tag.criticality !== undefined && tag.criticality > acs) acs = tag.criticality;
  return acs === 0 ? DEFAULT_ASSET_CRITICALITY : acs;
}
