/**
 * The store's SQL views (store/schema.ts): what psql, Grafana or Metabase read, with real
 * columns, the same on both engines, and agreeing with the ETM records.
 */
import { Connectors } from '../../src/etm/store/connectors';
import { consume, fixtureLines, onEachEngine, SUB_A, tempStore } from './helpers';
import { assets, findings } from './helpers';

onEachEngine('SQL views', () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  beforeAll(async () => {
    t = await tempStore();
    await consume(t.store, fixtureLines('subscription-a.jsonl'));
    await consume(t.store, fixtureLines('subscription-b.jsonl'));
  });
  afterAll(() => t.cleanup());

  test('etm_assets: one row per asset, its attributes as columns', async () => {
    const rows = await t.store.sql.all(
      `SELECT asset_key, asset_name, fqdn, ip_address, operating_system_name,
              asset_criticality_score, tru_risk_score, tru_risk_band, identified_by,
              last_scanned_on, purged_at, live_hosts
         FROM etm_assets ORDER BY asset_key`,
    );
    const expected = (await assets(t.store))
      .map((a) => ({
        asset_key: a.assetKey,
        asset_name: a.assetName,
        fqdn: a.fqdn,
        ip_address: a.ipAddress,
        operating_system_name: a.operatingSystemName,
        asset_criticality_score: a.assetCriticalityScore,
        tru_risk_score: a.truRiskScore,
        tru_risk_band: a.truRiskBand,
        identified_by: a.identifiedBy,
        last_scanned_on: a.lastScannedOn,
        purged_at: null,
        live_hosts: (a.qualysHosts as unknown[]).length,
      }))
      .sort((a, b) => String(a.asset_key).localeCompare(String(b.asset_key)));
    expect(rows).toEqual(expected);
    expect(rows).toHaveLength(3);
  });

  test('etm_findings: one row per ETM finding, detection values before knowledge', async () => {
    const rows = await t.store.sql.all(
      `SELECT finding_key, asset_key, subscription, qualys_host_id, qid, finding_name, status,
              detection_score, severity, port, protocol, first_found_on, last_found_on
         FROM etm_findings ORDER BY finding_key`,
    );
    const expected = (await findings(t.store))
      .map((f) => ({
        finding_key: f.findingKey,
        asset_key: f.assetKey,
        subscription: f.subscription,
        qualys_host_id: f.qualysHostId,
        qid: f.sourceVulnerabilityId,
        finding_name: f.findingName,
        status: f.findingStatus,
        detection_score: f.detectionScore,
        severity: f.findingSeverity,
        port: f.findingPort,
        protocol: f.findingProtocol,
        first_found_on: f.findingFirstFoundOn,
        last_found_on: f.findingLastFoundOn,
      }))
      .sort((a, b) => (String(a.finding_key) < String(b.finding_key) ? -1 : 1));
    expect(rows).toEqual(expected);
    expect(rows).toHaveLength(8);
  });

  test('etm_connectors and etm_runs: states, stamps and each run with its record count', async () => {
    const connectors = new Connectors(t.store.sql, () => new Date('2025-03-14T08:00:00Z'));
    await connectors.register({ name: SUB_A, baseUrl: 'https://qualysapi.qg2.apps.qualys.com' });
    const run = await connectors.startRun(SUB_A);
    await connectors.finishRun(run, 'Processed', { records: 5 });
    await connectors.setStatus(SUB_A, 'Processed');
    expect(
      await t.store.sql.all(
        `SELECT name, base_url, status, status_at, processed_at FROM etm_connectors`,
      ),
    ).toEqual([
      {
        name: SUB_A,
        base_url: 'https://qualysapi.qg2.apps.qualys.com',
        status: 'Processed',
        status_at: '2025-03-14T08:00:00.000Z',
        processed_at: '2025-03-14T08:00:00.000Z',
      },
    ]);
    expect(
      await t.store.sql.all(`SELECT id, connector, status, records, error FROM etm_runs`),
    ).toEqual([{ id: run, connector: SUB_A, status: 'Processed', records: 5, error: null }]);
  });
});
