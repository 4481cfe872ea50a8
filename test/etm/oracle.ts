/**
 * What the ETM store should hold for simulated subscriptions, computed from the simulators' data
 * sets without the store: which hosts the identification rules join (each host's identifiers
 * compared pairwise, as the rules say), which detections the source ingests (the server's own
 * filter code, with the parameters the source sends), and the finding identity of each.
 */
import { detectionKey } from '../../src/etm/finding-key';
import { IdentificationRules } from '../../src/etm/identification-rules';
import type { DetectionModel, Simulator } from '../../src/simulator';

/** Host List Detection parameters of the source's default config (src/qualys/params.ts). */
export const DEFAULT_DETECTION_PARAMS: Readonly<Record<string, string>> = {
  show_igs: '0',
  include_ignored: '1',
  include_disabled: '0',
  status: 'New,Active,Re-Opened,Fixed',
};

export interface Subscription {
  readonly label: string;
  readonly sim: Simulator;
}

/** [host of a, host of b] pairs the default identification rules say are one asset. */
export function matchedHosts(a: Subscription, b: Subscription): [number, number][] {
  const rules = IdentificationRules.defaults();
  const identities = (s: Subscription) =>
    s.sim.dataset.hostIds().map((id) => ({
      id,
      identity: IdentificationRules.identify(s.label, s.sim.dataset.host(id)),
    }));
  const left = identities(a);
  const pairs: [number, number][] = [];
  for (const y of identities(b)) {
    for (const x of left) {
      if (rules.decide([x.identity], [y.identity])?.equal) pairs.push([x.id, y.id]);
    }
  }
  return pairs;
}

/** Per host, its ingested detections by finding identity. */
export function ingested(
  s: Subscription,
  params = DEFAULT_DETECTION_PARAMS,
): Map<number, Map<string, DetectionModel>> {
  return new Map(
    s.sim.dataset
      .matchDetections(params)
      .map((h) => [h.hostId, new Map(h.detections.map((d) => [detectionKey(d), d]))]),
  );
}

export interface ExpectedStore {
  readonly pairs: [number, number][];
  readonly assets: number;
  readonly findings: number;
  /** Findings both subscriptions report: one etm_Finding each. */
  readonly sharedFindings: number;
}

export function expectedStore(
  a: Subscription,
  b: Subscription,
  params = DEFAULT_DETECTION_PARAMS,
): ExpectedStore {
  const pairs = matchedHosts(a, b);
  const [ka, kb] = [ingested(a, params), ingested(b, params)];
  const total = (m: Map<number, Map<string, DetectionModel>>): number =>
    [...m.values()].reduce((sum, keys) => sum + keys.size, 0);
  let sharedFindings = 0;
  for (const [x, y] of pairs) {
    const left = ka.get(x) ?? new Map();
    for (const key of (kb.get(y) ?? new Map()).keys()) if (left.has(key)) sharedFindings++;
  }
  return {
    pairs,
    assets: a.sim.dataset.hostIds().length + b.sim.dataset.hostIds().length - pairs.length,
    findings: total(ka) + total(kb) - sharedFindings,
    sharedFindings,
  };
}
