import { isOpen, TruRiskAccumulator, truRiskBand } from '../../src/etm/trurisk';
import {
  convertAll,
  detection,
  detectionsRecord,
  host,
  hostsRecord,
  SUB_A,
  SUB_B,
  onEachEngine,
} from './helpers';

const open = (score: number) => ({
  findingStatus: 'ACTIVE',
  findingSubType: 'CONFIRMED',
  ignoreFinding: false,
  detectionScore: score,
});

/** n scores averaging `avg` (spread ±1 around it when n > 1). */
const scores = (n: number, avg: number): number[] =>
  Array.from({ length: n }, (_, i) =>
    n === 1 ? avg : avg + (i % 2 === 0 ? 1 : -1) * (i === n - 1 && n % 2 === 1 ? 0 : 1),
  );

onEachEngine('TruRisk', () => {
  test("Qualys' worked example: ACS 4; 3 critical avg 95, 50 medium avg 65, 20 low avg 30 → 517", () => {
    const risk = new TruRiskAccumulator();
    for (const s of [...scores(3, 95), ...scores(50, 65), ...scores(20, 30)]) risk.add(open(s));
    expect(risk.score(4)).toBe(517);
    expect(truRiskBand(517)).toBe('MEDIUM');
  });

  test('the worked example end to end, through the store', async () => {
    const vulns = [...scores(3, 95), ...scores(50, 65), ...scores(20, 30)].map((value, i) =>
      detection({ QID: 10000 + i, QDS: { value } }),
    );
    const { assets } = await convertAll([
      hostsRecord({ subscription: SUB_A, ID: 1, ASSET_CRITICALITY_SCORE: 4 }),
      detectionsRecord(host({ ID: 1, VULNERABILITIES: vulns })),
    ]);
    expect(assets[0]).toMatchObject({
      truRiskScore: 517,
      truRiskBand: 'MEDIUM',
      assetCriticalityScore: 4,
    });
  });

  test('no open findings → 0', () => {
    expect(new TruRiskAccumulator().score(5)).toBe(0);
    expect(truRiskBand(0)).toBe('LOW');
  });

  test('capped at 1000', () => {
    const risk = new TruRiskAccumulator();
    [0, 1, 2, 3].forEach((band) => risk.addBand(band, 1000, [100, 89, 69, 39][band] * 1000));
    expect(risk.score(5)).toBe(1000);
    expect(truRiskBand(1000)).toBe('SEVERE');
  });

  test('only open findings count: open status, not ignored, not information, a positive score', () => {
    expect(isOpen(open(50))).toBe(true);
    for (const findingStatus of ['NEW', 'ACTIVE', 'REOPENED'])
      expect(isOpen({ ...open(50), findingStatus })).toBe(true);
    expect(isOpen({ ...open(50), findingStatus: 'FIXED' })).toBe(false);
    expect(isOpen({ ...open(50), findingStatus: null })).toBe(false);
    expect(isOpen({ ...open(50), ignoreFinding: true })).toBe(false);
    expect(isOpen({ ...open(50), ignoreFinding: null })).toBe(true);
    expect(isOpen({ ...open(50), findingSubType: 'INFORMATION' })).toBe(false);
    expect(isOpen({ ...open(50), findingSubType: 'POTENTIAL' })).toBe(true);
    expect(isOpen(open(0))).toBe(false);
    expect(isOpen({ ...open(50), detectionScore: null })).toBe(false);
  });

  test.each([
    [100, 1.0],
    [90, 1.0],
    [89, 0.6],
    [70, 0.6],
    [69, 0.4],
    [40, 0.4],
    [39, 0.2],
    [1, 0.2],
  ])('QDS %d falls in the band weighted %d', (score, weight) => {
    const risk = new TruRiskAccumulator();
    risk.add(open(score));
    expect(risk.score(1)).toBe(Math.round(weight * score));
  });

  test.each([
    [1000, 'SEVERE'],
    [850, 'SEVERE'],
    [849, 'HIGH'],
    [700, 'HIGH'],
    [699, 'MEDIUM'],
    [500, 'MEDIUM'],
    [499, 'LOW'],
  ])('score %d is %s', (score, band) => expect(truRiskBand(score)).toBe(band));

  test('ACS defaults to 2; a merged asset takes its highest ACS and counts a shared finding once', async () => {
    const lone = await convertAll([
      detectionsRecord(host({ VULNERABILITIES: [detection({ QDS: { value: 95 } })] })),
    ]);
    expect(lone.assets[0].truRiskScore).toBe(190);

    const shared = (sub: string, id: number) =>
      host({
        subscription: sub,
        ID: id,
        DNS_DATA: { FQDN: 'app01.corp' },
        VULNERABILITIES: [detection({ QDS: { value: 95 } })],
      });
    const merged = await convertAll([
      hostsRecord({
        subscription: SUB_A,
        ID: 1,
        DNS_DATA: { FQDN: 'app01.corp' },
        ASSET_CRITICALITY_SCORE: 3,
      }),
      hostsRecord({
        subscription: SUB_B,
        ID: 2,
        DNS_DATA: { FQDN: 'app01.corp' },
        ASSET_CRITICALITY_SCORE: 5,
      }),
      detectionsRecord(shared(SUB_A, 1)),
      detectionsRecord(shared(SUB_B, 2)),
    ]);
    expect(merged.assets).toHaveLength(1);
    expect(merged.findings).toHaveLength(1);
    expect(merged.assets[0]).toMatchObject({ assetCriticalityScore: 5, truRiskScore: 475 });
  });

  test('keeps the vendor TruRisk beside the computed one', async () => {
    const { assets } = await convertAll([
      hostsRecord({ subscription: SUB_A, ID: 1, TRURISK_SCORE: 612 }),
    ]);
    expect(assets[0]).toMatchObject({
      vendorTruRiskScore: 612,
      truRiskScore: 0,
      truRiskBand: 'LOW',
    });
  });
});
