/**
 * The dataset accessors describe exactly what the HTTP API serves, the generated data has the
 * variety and internal consistency the brief asks for, and responses are deterministic.
 */
import { Simulator, startSimulator } from '../../src/simulator';
import { SMALL, allPages, call, child, children, path, toModel, withSimulator } from './helpers';

const HOST_LIST_ALL =
  '/api/4.0/fo/asset/host/?action=list&details=All&show_asset_id=1&show_tags=1&show_trurisk=1' +
  '&host_metadata=all&show_cloud_tags=1&truncation_limit=0';
const HLD_ALL =
  '/api/5.0/fo/asset/host/vm/detection/?action=list&show_asset_id=1&show_tags=1&host_metadata=all&show_cloud_tags=1' +
  '&show_results=1&show_qds=1&show_qds_factors=1&show_reopened_info=1&show_igs=1&include_ignored=1' +
  '&include_disabled=1&truncation_limit=0';
const KB_ALL =
  '/api/3.0/fo/knowledge_base/vuln/?action=list&details=All&show_disabled_flag=1&show_qid_change_log=1' +
  '&show_supported_modules_info=1';

describe('dataset models equal the served XML', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator(SMALL);
    // A scan cycle first, so replayed state (fixed, re-opened, added, KB change logs) is covered too.
    sim.scanCycle({ hostFraction: 0.5, kbFraction: 0.2 });
  });
  afterAll(() => sim.close());

  test('Host List HOST = dataset.host(id) for every live host, in ascending ID order', async () => {
    const [page] = await allPages(sim, HOST_LIST_ALL);
    const served = children(path(page.root, 'RESPONSE', 'HOST_LIST'), 'HOST').map((h) =>
      toModel(h),
    );
    const ids = sim.dataset.hostIds();
    expect(ids).toHaveLength(40);
    expect(served).toEqual(ids.map((id) => sim.dataset.host(id)));
  });

  test('HLD DETECTIONs = dataset.detections(id); HLD host fields = the host model', async () => {
    const [page] = await allPages(sim, HLD_ALL);
    const hosts = children(path(page.root, 'RESPONSE', 'HOST_LIST'), 'HOST');
    const withDetections = sim.dataset
      .hostIds()
      .filter((id) => (sim.dataset.detections(id) ?? []).length > 0);
    expect(hosts.map((h) => Number(child(h, 'ID')?.text))).toEqual(withDetections);
    for (const host of hosts) {
      const id = Number(child(host, 'ID')?.text);
      expect(toModel(child(host, 'DETECTION_LIST') as never)).toEqual(sim.dataset.detections(id));
      const fields = toModel({
        ...host,
        children: host.children.filter((c) => c.name !== 'DETECTION_LIST'),
      }) as Record<string, unknown>;
      const model = sim.dataset.host(id) as Record<string, unknown>;
      expect(fields.LAST_SCAN_DATETIME).toBe(model.LAST_VULN_SCAN_DATETIME);
      for (const [key, value] of Object.entries(fields)) {
        if (key !== 'LAST_SCAN_DATETIME') expect([key, value]).toEqual([key, model[key]]);
      }
    }
  });

  test('KB VULN = dataset.kb(qid) for every QID', async () => {
    const [page] = await allPages(sim, KB_ALL);
    const vulns = children(path(page.root, 'RESPONSE', 'VULN_LIST'), 'VULN').map((v) => toModel(v));
    expect(vulns).toEqual(sim.dataset.kbQids().map((qid) => sim.dataset.kb(qid)));
    expect(sim.dataset.kbQids()).toHaveLength(80);
  });

  test('unknown IDs give undefined', () => {
    expect(sim.dataset.host(1)).toBeUndefined();
    expect(sim.dataset.detections(1)).toBeUndefined();
    expect(sim.dataset.kb(1)).toBeUndefined();
  });
});

describe('generated data', () => {
  let sim: Simulator;
  beforeAll(
    async () =>
      (sim = await startSimulator({ hosts: 400, detectionsPerHost: 12, qids: 600, seed: 3 })),
  );
  afterAll(() => sim.close());

  test('hosts have the realistic mix of identities, clouds, names and tags', () => {
    const hosts = sim.dataset.hostIds().map((id) => sim.dataset.host(id)!);
    const count = (f: (h: (typeof hosts)[number]) => unknown): number => hosts.filter(f).length;
    expect(new Set(hosts.map((h) => h.TRACKING_METHOD))).toEqual(new Set(['IP', 'DNS', 'AGENT']));
    expect(new Set(hosts.map((h) => h.CLOUD_PROVIDER).filter(Boolean))).toEqual(
      new Set(['AWS', 'Azure', 'GCP']),
    );
    expect(count((h) => h.EC2_INSTANCE_ID)).toBe(count((h) => h.CLOUD_PROVIDER === 'AWS'));
    expect(
      count((h) => h.CLOUD_PROVIDER === 'AWS' && h.EC2_INSTANCE_ID !== h.CLOUD_RESOURCE_ID),
    ).toBe(0);
    expect(count((h) => h.CLOUD_PROVIDER && !h.METADATA)).toBe(0);
    expect(count((h) => !h.DNS_DATA)).toBeGreaterThan(0);
    expect(count((h) => h.DNS_DATA && !h.DNS_DATA.FQDN)).toBeGreaterThan(0);
    expect(count((h) => h.DNS_DATA?.FQDN)).toBeGreaterThan(0);
    expect(count((h) => h.NETBIOS)).toBeGreaterThan(0);
    expect(count((h) => !h.NETBIOS)).toBeGreaterThan(0);
    expect(count((h) => h.QG_HOSTID)).toBe(count((h) => h.TRACKING_METHOD === 'AGENT'));
    expect(
      count((h) => h.TAGS?.some((t) => /^eval-\d{6}-test$/.test(t.NAME ?? ''))),
    ).toBeGreaterThan(0);
    const critical = sim.dataset.tags().filter((t) => t.criticality !== undefined);
    expect(critical.map((t) => t.criticality)).toEqual([1, 2, 3, 4, 5]);
    for (const h of hosts) {
      const levels = (h.TAGS ?? []).map(
        (t) => critical.find((c) => c.id === t.TAG_ID)?.criticality ?? 0,
      );
      expect(h.ASSET_CRITICALITY_SCORE).toBe(Math.max(...levels) || 2);
      expect(h.TRURISK_SCORE).toBeGreaterThanOrEqual(0);
      expect(h.TRURISK_SCORE).toBeLessThanOrEqual(1000);
    }
    expect(new Set(hosts.map((h) => h.ASSET_CRITICALITY_SCORE))).toEqual(new Set([1, 2, 3, 4, 5]));
  });

  test('detections are varied and their dates consistent; all dates >= 2 h before the clock', () => {
    const limit = sim.clock.nowSeconds() - 7200;
    const seconds = (iso?: string): number => Date.parse(iso ?? '') / 1000;
    const all = sim.dataset.hostIds().flatMap((id) => sim.dataset.detections(id)!);
    expect(new Set(all.map((d) => d.TYPE))).toEqual(new Set(['Confirmed', 'Potential', 'Info']));
    expect(new Set(all.map((d) => d.STATUS))).toEqual(
      new Set(['New', 'Active', 'Fixed', 'Re-Opened', undefined]),
    );
    expect(all.filter((d) => d.IS_IGNORED).length).toBeGreaterThan(0);
    expect(all.filter((d) => d.IS_DISABLED).length).toBeGreaterThan(0);
    expect(all.filter((d) => d.PORT !== undefined && d.SSL).length).toBeGreaterThan(0);
    expect(
      all.some(
        (d) => d.RESULTS?.includes(']]>') && d.RESULTS.includes('<') && d.RESULTS.includes('&'),
      ),
    ).toBe(true);
    expect(new Set(all.map((d) => d.QDS?.severity))).toEqual(
      new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', undefined]),
    );
    for (const d of all) {
      const first = seconds(d.FIRST_FOUND_DATETIME);
      const last = seconds(d.LAST_FOUND_DATETIME);
      const test = seconds(d.LAST_TEST_DATETIME);
      expect(first).toBeLessThanOrEqual(last);
      expect(last).toBeLessThanOrEqual(test);
      expect(seconds(d.LAST_PROCESSED_DATETIME)).toBeLessThanOrEqual(limit);
      expect(d.TYPE === 'Info').toBe(d.STATUS === undefined);
      expect(d.TYPE === 'Info').toBe(d.QDS === undefined);
      if (d.QDS)
        expect(d.QDS.severity).toBe(
          ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'][
            [1, 40, 70, 90].filter((b) => d.QDS!.value! >= b).length - 1
          ],
        );
      if (d.STATUS === 'New') expect([first, d.TIMES_FOUND]).toEqual([last, 1]);
      if (d.STATUS === 'Fixed') expect(seconds(d.LAST_FIXED_DATETIME)).toBeGreaterThan(last);
      if (d.STATUS === 'Re-Opened') {
        expect(d.LAST_REOPENED_DATETIME).toBe(d.LAST_FOUND_DATETIME);
        expect(seconds(d.LAST_FIXED_DATETIME)).toBeLessThan(seconds(d.FIRST_REOPENED_DATETIME));
      }
      if (d.TIMES_REOPENED)
        expect(seconds(d.FIRST_REOPENED_DATETIME)).toBeLessThanOrEqual(
          seconds(d.LAST_REOPENED_DATETIME),
        );
    }
    const keys = all.map((d) => d.UNIQUE_VULN_ID);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('the knowledge base covers every detected QID and carries CVEs, CVSS, exploits and threat intel', () => {
    const qids = new Set(sim.dataset.kbQids());
    for (const id of sim.dataset.hostIds())
      for (const d of sim.dataset.detections(id)!) expect(qids.has(d.QID)).toBe(true);
    const kb = [...qids].map((q) => sim.dataset.kb(q)!);
    expect(kb.filter((v) => (v.CVE_LIST ?? []).length > 1).length).toBeGreaterThan(0);
    expect(
      kb.filter((v) => v.CVSS && v.CVSS_V3 && v.CVSS.ACCESS.VECTOR >= 1).length,
    ).toBeGreaterThan(0);
    expect(kb.filter((v) => v.CORRELATION?.EXPLOITS?.length).length).toBeGreaterThan(0);
    expect(kb.filter((v) => v.THREAT_INTELLIGENCE?.length).length).toBeGreaterThan(0);
    expect(new Set(kb.map((v) => v.PATCHABLE))).toEqual(new Set([true, false]));
    expect(
      kb.filter((v) => /<A HREF=|<P>/.test(v.SOLUTION ?? '') || /<P>/.test(v.DIAGNOSIS ?? ''))
        .length,
    ).toBeGreaterThan(0);
    expect(new Set(kb.map((v) => v.VULN_TYPE))).toEqual(
      new Set([
        'Vulnerability',
        'Potential Vulnerability',
        'Information Gathered',
        'Vulnerability or Potential Vulnerability',
      ]),
    );
  });
});

describe('determinism', () => {
  const HOST = 'qualysapi.example.test';
  const requests = [
    HOST_LIST_ALL,
    HLD_ALL,
    KB_ALL,
    '/api/2.0/fo/asset/host/?action=list&details=None&truncation_limit=7',
  ];

  async function bodies(seed: number): Promise<string[]> {
    return withSimulator({ ...SMALL, seed }, (sim) =>
      Promise.all(requests.map(async (r) => (await call(sim, r, { host: HOST })).body)),
    );
  }

  test('the same options give byte-identical responses; another seed gives different ones', async () => {
    const [a, b, c] = await Promise.all([bodies(7), bodies(7), bodies(8)]);
    expect(a.every((body) => body.length > 500)).toBe(true);
    expect(b).toEqual(a);
    for (let i = 0; i < requests.length; i++) expect(c[i]).not.toEqual(a[i]);
    expect(a[0]).toContain(`SYSTEM "http://${HOST}/api/4.0/fo/asset/host/dtd/list/output.dtd"`);
  });
});
