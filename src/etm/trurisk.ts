/**
 * TruRisk for an asset (Qualys TruRisk 1.0, API doc §6), from its open findings and criticality:
 *   min(1000, round(ACS × Σ_band weight × avg(detectionScore) × count^0.01))
 * Weights, band edges, the open-finding rule and the default ACS are data
 * (resources/etm/trurisk.json); this module only does the arithmetic.
 */
import params from '../../resources/etm/trurisk.json';

export interface ScoredFinding {
  readonly findingStatus: unknown;
  readonly findingSubType: unknown;
  readonly ignoreFinding: unknown;
  readonly detectionScore: unknown;
}

const OPEN = new Set<unknown>(params.openFindings.statuses);
const EXCLUDED_SUBTYPES = new Set<unknown>(params.openFindings.excludedSubTypes);
// Sorted high to low so the first band whose edge a score reaches is its band.
const BANDS = [...params.detectionBands].sort((a, b) => b.minScore - a.minScore);
const RISK_BANDS = [...params.riskBands].sort((a, b) => b.minScore - a.minScore);

const DEFAULT_CRITICALITY = params.defaultCriticality;

/** Open = counted by TruRisk: an open status, not ignored, not information, a positive score. */
export function isOpen(f: ScoredFinding): boolean {
  return (
    OPEN.has(f.findingStatus) &&
    !(params.openFindings.excludeIgnored && f.ignoreFinding === true) &&
    !EXCLUDED_SUBTYPES.has(f.findingSubType) &&
    typeof f.detectionScore === 'number' &&
    f.detectionScore > params.openFindings.minDetectionScoreExclusive
  );
}

/** Accumulates one asset's open findings band by band, then scores them. */
export class TruRiskAccumulator {
  private readonly counts = BANDS.map(() => 0);
  private readonly sums = BANDS.map(() => 0);

  add(f: ScoredFinding): void {
    if (!isOpen(f)) return;
    const score = f.detectionScore as number;
    const i = BANDS.findIndex((b) => score >= b.minScore);
    if (i < 0) return;
    this.counts[i]++;
    this.sums[i] += score;
  }

  /** Adds a band's open findings already counted and summed (by OPEN_FINDINGS_SQL). */
  addBand(band: number, count: number, sum: number): void {
    this.counts[band] += count;
    this.sums[band] += sum;
  }

  /** `criticality` is the highest ACS reported for the asset; null uses the default. */
  score(criticality: number | null): number {
    const acs = criticalityUsed(criticality).value;
    let total = 0;
    BANDS.forEach((band, i) => {
      const n = this.counts[i];
      if (n > 0) total += band.weight * (this.sums[i] / n) * Math.pow(n, params.countExponent);
    });
    return Math.min(params.maxScore, Math.round(acs * total));
  }
}

/** The asset criticality TruRisk uses: the one Qualys reported, else the documented default. */
export function criticalityUsed(reported: number | null): {
  value: number;
  source: 'reported' | 'default';
} {
  return reported === null
    ? { value: DEFAULT_CRITICALITY, source: 'default' }
    : { value: reported, source: 'reported' };
}

const quote = (v: unknown): string => `'${String(v).replace(/'/g, "''")}'`;

/**
 * The same rule as isOpen and the band edges, as SQL over the findings table's columns, so the
 * store can count and sum an asset's open findings per band without reading them one by one.
 */
export const OPEN_FINDINGS_SQL = {
  where: [
    `status IN (${params.openFindings.statuses.map(quote).join(', ')})`,
    params.openFindings.excludeIgnored ? `coalesce(ignored, 0) = 0` : `1`,
    `coalesce(sub_type, '') NOT IN (${params.openFindings.excludedSubTypes.map(quote).join(', ')})`,
    `score > ${Number(params.openFindings.minDetectionScoreExclusive)}`,
  ].join(' AND '),
  band: `CASE ${BANDS.map((b, i) => `WHEN score >= ${Number(b.minScore)} THEN ${i}`).join(' ')} END`,
};

export function truRiskBand(score: number): string {
  return (RISK_BANDS.find((b) => score >= b.minScore) ?? RISK_BANDS[RISK_BANDS.length - 1]).name;
}
