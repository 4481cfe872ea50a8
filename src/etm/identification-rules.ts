/**
 * Identification rules (Qualys CSAM precedence, resources/etm/identification-rules.json): which
 * host identifiers say that two host records are one asset. Two hosts are the same asset when,
 * walking the enabled rules in order, the first rule for which both have a value gives equal
 * values. This module is the pure part — reading identifiers off a record and comparing them;
 * the store-backed lookup lives in store/asset-resolver.ts.
 */
import { VError } from 'verror';

import rulesJson from '../../resources/etm/identification-rules.json';
import { parseSourcePath, SourcePath } from './source-path';

export interface IdentificationRule {
  readonly name: string;
  readonly sources: ReadonlyArray<SourcePath>;
  /** 'subscription': values are compared only between hosts of the same subscription. */
  readonly scope: 'subscription' | 'global';
  readonly caseInsensitive: boolean;
}

/** One Qualys host's identifiers: rule name → comparable value. */
export interface HostIdentity {
  readonly subscription: string;
  readonly values: ReadonlyMap<string, string>;
}

export interface Decision {
  /** The first rule for which both sides have a value. */
  readonly rule: string;
  readonly equal: boolean;
}

/** Every rule this destination knows, in default precedence. */
export const KNOWN_RULES: ReadonlyArray<IdentificationRule> = rulesJson.rules.map((r) => ({
  name: r.name,
  sources: r.source.map((p) => parseSourcePath(p)),
  scope: (r as { scope?: string }).scope === 'subscription' ? 'subscription' : 'global',
  caseInsensitive: r.caseInsensitive,
}));

export class IdentificationRules {
  private readonly rank: ReadonlyMap<string, number>;

  constructor(readonly enabled: ReadonlyArray<IdentificationRule>) {
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

  get names(): string[] {
    return this.enabled.map((r) => r.name);
  }

  precedence(rule: string): number {
    return this.rank.get(rule) ?? Number.MAX_SAFE_INTEGER;
  }

  /**
   * Every known rule's value (not only the enabled ones), so turning a rule on later can use
   * identifiers the store already has.
   */
  static identify(subscription: string, host: unknown): HostIdentity {
    const values = new Map<string, string>();
    for (const rule of KNOWN_RULES) {
      const v = comparable(rule, host);
      if (v !== null) values.set(rule.name, v);
    }
    return { subscription, values };
  }

  /**
   * Compares two groups of hosts (an asset is the group of hosts merged into it): the first
   * enabled rule for which some host on each side has a value (in the same subscription, for a
   * subscription-scoped rule) decides, equal when any such pair agrees. Null when no rule applies.
   */
  decide(a: ReadonlyArray<HostIdentity>, b: ReadonlyArray<HostIdentity>): Decision | null {
    for (const rule of this.enabled) {
      let compared = false;
      for (const x of a) {
        const xv = x.values.get(rule.name);
        if (xv === undefined) continue;
        for (const y of b) {
          if (rule.scope === 'subscription' && x.subscription !== y.subscription) continue;
          const yv = y.values.get(rule.name);
          if (yv === undefined) continue;
          if (xv === yv) return { rule: rule.name, equal: true };
          compared = true;
        }
      }
      if (compared) return { rule: rule.name, equal: false };
    }
    return null;
  }

  /** The highest-precedence enabled rule for which one of these hosts has a value. */
  firstWithValue(hosts: ReadonlyArray<HostIdentity>): string | null {
    const rule = this.enabled.find((r) => hosts.some((h) => h.values.has(r.name)));
    return rule?.name ?? null;
  }
}

function comparable(rule: IdentificationRule, host: unknown): string | null {
  for (const source of rule.sources) {
    const v = source.get(host);
    if (v === null || v === undefined || typeof v === 'object') continue;
    const text = String(v).trim();
    if (text !== '') return rule.caseInsensitive ? text.toLowerCase() : text;
  }
  return null;
}
