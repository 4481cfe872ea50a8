/**
 * Identification rules (Qualys CSAM precedence, resources/etm/identification-rules.json): which
 * host identifiers say that two host records are one asset. Two hosts are the same asset when,
 * walking the enabled rules in order, the first rule that applies to both gives equal values. A
 * rule's criteria say when its value identifies a host at all: a private IP address only within
 * one network, a NetBIOS name only within one DNS domain, and neither when the two hosts run
 * different OS families. This module is the pure part — reading identifiers and attributes off a
 * record and comparing them; the store-backed lookup lives in store/asset-resolver.ts.
 */
import { BlockList, isIP } from 'net';
import { VError } from 'verror';

import rulesJson from '../../resources/etm/identification-rules.json';
import { parseSourcePath, SourcePath } from './source-path';

export interface RuleCriteria {
  /** Attributes both hosts must have, equal, for the rule to apply. */
  readonly sameAttributes: ReadonlyArray<string>;
  /** Attributes that, both present and different, make equal values two machines. */
  readonly refuseWhenDifferent: ReadonlyArray<string>;
  /** Private addresses are compared only between hosts of one network. */
  readonly privateAddressesSameNetwork: boolean;
}

export interface IdentificationRule {
  readonly name: string;
  readonly sources: ReadonlyArray<SourcePath>;
  /** 'subscription': values are compared only between hosts of the same subscription. */
  readonly scope: 'subscription' | 'global';
  readonly caseInsensitive: boolean;
  readonly criteria: RuleCriteria;
}

/** One Qualys host's identifiers (rule name → comparable value) and criteria attributes. */
export interface HostIdentity {
  readonly subscription: string;
  readonly hostId?: string;
  readonly values: ReadonlyMap<string, string>;
  readonly attributes: ReadonlyMap<string, string>;
}

export interface Decision {
  /** The first rule that applies to both sides. */
  readonly rule: string;
  readonly equal: boolean;
  /** When equal: the value both hosts share, and the two hosts that share it. */
  readonly value?: string;
  readonly between?: readonly [HostIdentity, HostIdentity];
}

interface AttributeDefinition {
  readonly name: string;
  readonly sources: ReadonlyArray<SourcePath>;
  readonly domainOf: ReadonlyArray<SourcePath>;
  readonly caseInsensitive: boolean;
  readonly families: ReadonlyArray<{ family: string; contains: string[] }>;
}

interface RawRule {
  name: string;
  source: string[];
  scope?: string;
  caseInsensitive: boolean;
  criteria?: {
    sameAttributes?: string[];
    refuseWhenDifferent?: string[];
    privateAddresses?: string;
  };
}

interface RawAttribute {
  name: string;
  source: string[];
  domainOf?: string[];
  caseInsensitive?: boolean;
  families?: { family: string; contains: string[] }[];
}

const ATTRIBUTES: ReadonlyArray<AttributeDefinition> = (rulesJson.attributes as RawAttribute[]).map(
  (a) => ({
    name: a.name,
    sources: a.source.map((p) => parseSourcePath(p)),
    domainOf: (a.domainOf ?? []).map((p) => parseSourcePath(p)),
    caseInsensitive: a.caseInsensitive ?? true,
    families: a.families ?? [],
  }),
);

/** Every rule this destination knows, in default precedence. */
export const KNOWN_RULES: ReadonlyArray<IdentificationRule> = (rulesJson.rules as RawRule[]).map(
  (r) => ({
    name: r.name,
    sources: r.source.map((p) => parseSourcePath(p)),
    scope: r.scope === 'subscription' ? 'subscription' : 'global',
    caseInsensitive: r.caseInsensitive,
    criteria: {
      sameAttributes: r.criteria?.sameAttributes ?? [],
      refuseWhenDifferent: r.criteria?.refuseWhenDifferent ?? [],
      privateAddressesSameNetwork: r.criteria?.privateAddresses === 'sameNetwork',
    },
  }),
);

const PRIVATE_RANGES = new BlockList();
for (const range of rulesJson.privateAddressRanges.ranges) {
  const [address, prefix] = range.split('/');
  PRIVATE_RANGES.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** True for an address in resources' private ranges; false for a public one or not an address. */
export function isPrivateAddress(text: string): boolean {
  const family = isIP(text);
  return family !== 0 && PRIVATE_RANGES.check(text, family === 6 ? 'ipv6' : 'ipv4');
}

/** Key prefix of attributes in a host's stored identifiers (rule names never start with it). */
const ATTRIBUTE_PREFIX = '@';

export class IdentificationRules {
  private readonly rank: ReadonlyMap<string, number>;

  /**
   * `networks`: subscription label → the network it is declared to share; a subscription not
   * listed is a network of its own.
   */
  constructor(
    readonly enabled: ReadonlyArray<IdentificationRule>,
    private readonly networks: ReadonlyMap<string, string> = new Map(),
  ) {
    if (enabled.length === 0) {
      throw new VError(
        'at least one identification rule must stay on (known: %s)',
        KNOWN_RULES.map((r) => r.name).join(', '),
      );
    }
    this.rank = new Map(enabled.map((r, i) => [r.name, i]));
  }

  /** All known rules, default order. */
  static defaults(): IdentificationRules {
    return new IdentificationRules(KNOWN_RULES);
  }

  /**
   * The rules to use, in precedence order; a rule not named is off. Accepts `--identification-rules
   * a,b,c` or a profile's list of names / {rule, enabled} toggles.
   */
  static select(
    spec: string | ReadonlyArray<string | { rule: string; enabled?: boolean }>,
  ): IdentificationRules {
    const entries = typeof spec === 'string' ? spec.split(',') : spec;
    const names: string[] = [];
    for (const entry of entries) {
      const name = (typeof entry === 'string' ? entry : entry.rule)?.trim();
      if (!name || (typeof entry !== 'string' && entry.enabled === false)) continue;
      if (!KNOWN_RULES.some((r) => r.name === name)) {
        throw new VError(
          'unknown identification rule %j (known: %s)',
          name,
          KNOWN_RULES.map((r) => r.name).join(', '),
        );
      }
      if (names.includes(name)) throw new VError('identification rule %j is listed twice', name);
      names.push(name);
    }
    return new IdentificationRules(
      names.map((n) => KNOWN_RULES.find((r) => r.name === n) as IdentificationRule),
    );
  }

  /** The same rules, with these subscriptions declared to share networks. */
  withNetworks(networks: ReadonlyMap<string, string>): IdentificationRules {
    return new IdentificationRules(this.enabled, networks);
  }

  get names(): string[] {
    return this.enabled.map((r) => r.name);
  }

  precedence(rule: string): number {
    return this.rank.get(rule) ?? Number.MAX_SAFE_INTEGER;
  }

  networkOf(subscription: string): string {
    return this.networks.get(subscription) ?? subscription;
  }

  /**
   * Every known rule's value (not only the enabled ones), so turning a rule on later can use
   * identifiers the store already has; and every criteria attribute.
   */
  static identify(subscription: string, host: unknown, hostId?: string): HostIdentity {
    const values = new Map<string, string>();
    for (const rule of KNOWN_RULES) {
      const v = comparable(rule.sources, rule.caseInsensitive, host);
      if (v !== null) values.set(rule.name, v);
    }
    const attributes = new Map<string, string>();
    for (const a of ATTRIBUTES) {
      const v = attributeValue(a, host);
      if (v !== null) attributes.set(a.name, v);
    }
    return { subscription, hostId, values, attributes };
  }

  /** The identity as asset_hosts.identifiers stores it: one JSON object, keys sorted. */
  static stored(identity: HostIdentity): string {
    const entries = [
      ...identity.values,
      ...[...identity.attributes].map(([k, v]) => [ATTRIBUTE_PREFIX + k, v]),
    ];
    return JSON.stringify(Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1))));
  }

  static fromStored(subscription: string, hostId: string, stored: string): HostIdentity {
    const values = new Map<string, string>();
    const attributes = new Map<string, string>();
    for (const [k, v] of Object.entries(JSON.parse(stored) as Record<string, string>)) {
      if (k.startsWith(ATTRIBUTE_PREFIX)) attributes.set(k.slice(ATTRIBUTE_PREFIX.length), v);
      else values.set(k, v);
    }
    return { subscription, hostId, values, attributes };
  }

  /** The rule → value pairs of a stored identity that the identifier index holds. */
  static indexed(stored: string): [string, string][] {
    return Object.entries(JSON.parse(stored) as Record<string, string>).filter(
      ([k]) => !k.startsWith(ATTRIBUTE_PREFIX),
    );
  }

  /**
   * Compares two groups of hosts (an asset is the group of hosts merged into it): the first
   * enabled rule that applies to some host on each side decides, equal when any such pair agrees
   * and is not refused by its criteria. Null when no rule applies.
   */
  decide(a: ReadonlyArray<HostIdentity>, b: ReadonlyArray<HostIdentity>): Decision | null {
    for (const rule of this.enabled) {
      let compared = false;
      for (const x of a) {
        const xv = x.values.get(rule.name);
        if (xv === undefined) continue;
        for (const y of b) {
          const yv = y.values.get(rule.name);
          if (yv === undefined || !this.applies(rule, x, y, xv, yv)) continue;
          compared = true;
          if (xv === yv && !refused(rule, x, y)) {
            return { rule: rule.name, equal: true, value: xv, between: [x, y] };
          }
        }
      }
      if (compared) return { rule: rule.name, equal: false };
    }
    return null;
  }

  /** Whether the rule compares these two hosts at all. */
  private applies(
    rule: IdentificationRule,
    x: HostIdentity,
    y: HostIdentity,
    xv: string,
    yv: string,
  ): boolean {
    if (rule.scope === 'subscription' && x.subscription !== y.subscription) return false;
    for (const name of rule.criteria.sameAttributes) {
      const xa = x.attributes.get(name);
      if (xa === undefined || xa !== y.attributes.get(name)) return false;
    }
    if (
      rule.criteria.privateAddressesSameNetwork &&
      (isPrivateAddress(xv) || isPrivateAddress(yv)) &&
      this.networkOf(x.subscription) !== this.networkOf(y.subscription)
    ) {
      return false;
    }
    return true;
  }

  /** The highest-precedence enabled rule for which one of these hosts has a value. */
  firstWithValue(hosts: ReadonlyArray<HostIdentity>): string | null {
    const rule = this.enabled.find((r) => hosts.some((h) => h.values.has(r.name)));
    return rule?.name ?? null;
  }
}

function refused(rule: IdentificationRule, x: HostIdentity, y: HostIdentity): boolean {
  return rule.criteria.refuseWhenDifferent.some((name) => {
    const xa = x.attributes.get(name);
    const ya = y.attributes.get(name);
    return xa !== undefined && ya !== undefined && xa !== ya;
  });
}

function comparable(
  sources: ReadonlyArray<SourcePath>,
  caseInsensitive: boolean,
  host: unknown,
): string | null {
  for (const source of sources) {
    const v = source.get(host);
    if (v === null || v === undefined || typeof v === 'object') continue;
    const text = String(v).trim();
    if (text !== '') return caseInsensitive ? text.toLowerCase() : text;
  }
  return null;
}

function attributeValue(a: AttributeDefinition, host: unknown): string | null {
  let v = comparable(a.sources, a.caseInsensitive, host);
  if (v === null) {
    const name = comparable(a.domainOf, a.caseInsensitive, host);
    const dot = name?.indexOf('.') ?? -1;
    if (name && dot > 0 && dot < name.length - 1) v = name.slice(dot + 1);
  }
  if (v === null || a.families.length === 0) return v;
  const text = v.toLowerCase();
  return a.families.find((f) => f.contains.some((c) => text.includes(c)))?.family ?? null;
}
