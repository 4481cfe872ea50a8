/**
 * Every filter, checked over HTTP against an oracle written here from the dataset models (not from
 * the simulator's filter code), and Dataset.matchHosts / matchDetections checked against the same
 * oracle. Each case must select a non-empty, strict subset so that it can fail.
 */
import { DetectionModel, HostModel, Simulator, startSimulator } from '../../src/simulator';
import { allPages, child, children, hostIdsOf, path } from './helpers';

type HostTest = (h: HostModel) => boolean;
type DetectionTest = (d: DetectionModel) => boolean;

let sim: Simulator;
let hosts: HostModel[];
let detections: Map<number, DetectionModel[]>;

beforeAll(async () => {
  sim = await startSimulator({
    hosts: 60,
    detectionsPerHost: 8,
    qids: 120,
    seed: 24,
    rateLimit: 10_000,
  });
  sim.scanCycle({ hostFraction: 0.4 });
  hosts = sim.dataset.hostIds().map((id) => sim.dataset.host(id)!);
  detections = new Map(hosts.map((h) => [h.ID, sim.dataset.detections(h.ID)!]));
});
afterAll(() => sim.close());

const seconds = (iso?: string): number => (iso ? Date.parse(iso) / 1000 : NaN);
const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const iso = (s: number): string => new Date(s * 1000).toISOString().replace('.000', '');

/** Default HLD visibility: no IGs, no ignored, no disabled detections (doc §3). */
function visible(d: DetectionModel, params: Record<string, string>): boolean {
  if (d.TYPE === 'Info' && params.show_igs !== '1') return false;
  if (d.IS_IGNORED && params.include_ignored !== '1') return false;
  if (d.IS_DISABLED && params.include_disabled !== '1') return false;
  return true;
}

function oracle(
  params: Record<string, string>,
  host: HostTest,
  detection: DetectionTest,
): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const h of hosts) {
    if (!host(h)) continue;
    const ids = detections
      .get(h.ID)!
      .filter((d) => visible(d, params) && detection(d))
      .map((d) => d.UNIQUE_VULN_ID!);
    if (ids.length > 0) out.set(h.ID, ids);
  }
  return out;
}

async function servedHld(params: Record<string, string>): Promise<Map<number, number[]>> {
  const query = new URLSearchParams({
    action: 'list',
    truncation_limit: '25',
    ...params,
  }).toString();
  const pages = await allPages(sim, `/api/4.0/fo/asset/host/vm/detection/?${query}`);
  const out = new Map<number, number[]>();
  for (const page of pages) {
    for (const host of children(path(page.root, 'RESPONSE', 'HOST_LIST'), 'HOST')) {
      const ids = children(child(host, 'DETECTION_LIST'), 'DETECTION').map((d) =>
        Number(child(d, 'UNIQUE_VULN_ID')?.text),
      );
      out.set(Number(child(host, 'ID')?.text), ids);
    }
  }
  return out;
}

function tagId(name: string): number {
  return sim.dataset.tags().find((t) => t.name === name)!.id;
}

const all: HostTest = () => true;
const any: DetectionTest = () => true;

const HLD_CASES: [string, () => Record<string, string>, HostTest, DetectionTest][] = [
  [
    'status=New,Fixed',
    () => ({ status: 'New,Fixed' }),
    all,
    (d) => d.TYPE === 'Info' || ['New', 'Fixed'].includes(d.STATUS!),
  ],
  [
    'status=re-opened (any case)',
    () => ({ status: 're-opened' }),
    all,
    (d) => d.STATUS === 'Re-Opened',
  ],
  ['severities=4-5', () => ({ severities: '4-5' }), all, (d) => d.SEVERITY! >= 4],
  ['severities=1,3', () => ({ severities: '1,3' }), all, (d) => [1, 3].includes(d.SEVERITY!)],
  [
    'include_vuln_type=confirmed',
    () => ({ include_vuln_type: 'confirmed' }),
    all,
    (d) => d.TYPE === 'Confirmed',
  ],
  [
    'include_vuln_type=potential',
    () => ({ include_vuln_type: 'potential' }),
    all,
    (d) => d.TYPE === 'Potential',
  ],
  ['show_igs=1', () => ({ show_igs: '1' }), all, any],
  [
    'show_igs=1 with status=Active',
    () => ({ show_igs: '1', status: 'Active' }),
    all,
    (d) => d.TYPE === 'Info' || d.STATUS === 'Active',
  ],
  ['include_ignored=1', () => ({ include_ignored: '1' }), all, any],
  ['include_disabled=1', () => ({ include_disabled: '1' }), all, any],
  [
    'qids list and range',
    () => ({
      qids: `${sim.dataset.kbQids()[3]},${sim.dataset.kbQids()[40]}-${sim.dataset.kbQids()[90]}`,
    }),
    all,
    (d) =>
      d.QID === sim.dataset.kbQids()[3] ||
      (d.QID >= sim.dataset.kbQids()[40] && d.QID <= sim.dataset.kbQids()[90]),
  ],
  [
    'detection_updated_since',
    () => ({
      detection_updated_since: iso(median(hosts.map((h) => seconds(h.LAST_VULN_SCAN_DATETIME)))),
    }),
    all,
    (d) =>
      seconds(d.LAST_UPDATE_DATETIME) >=
      median(hosts.map((h) => seconds(h.LAST_VULN_SCAN_DATETIME))),
  ],
  [
    'detection_updated_before',
    () => ({
      detection_updated_before: iso(median(hosts.map((h) => seconds(h.LAST_VULN_SCAN_DATETIME)))),
    }),
    all,
    (d) =>
      seconds(d.LAST_UPDATE_DATETIME) <
      median(hosts.map((h) => seconds(h.LAST_VULN_SCAN_DATETIME))),
  ],
  [
    'qds_min=70&qds_max=89',
    () => ({ qds_min: '70', qds_max: '89' }),
    all,
    (d) => d.QDS !== undefined && d.QDS.value! >= 70 && d.QDS.value! <= 89,
  ],
  [
    'vm_processed_after (date only)',
    () => ({ vm_processed_after: '2025-06-02' }),
    (h) => seconds(h.LAST_VULN_SCAN_DATETIME) >= Date.parse('2025-06-02') / 1000,
    any,
  ],
  [
    'vm_processed_before',
    () => ({ vm_processed_before: '2025-06-02T00:00:00Z' }),
    (h) => seconds(h.LAST_VULN_SCAN_DATETIME) < Date.parse('2025-06-02') / 1000,
    any,
  ],
  [
    'vm_scan_since',
    () => ({ vm_scan_since: iso(median(hosts.map((h) => seconds(h.LAST_VM_SCANNED_DATE)))) }),
    (h) =>
      seconds(h.LAST_VM_SCANNED_DATE) >= median(hosts.map((x) => seconds(x.LAST_VM_SCANNED_DATE))),
    any,
  ],
  [
    'use_tags, tag_set_include by id (any)',
    () => ({ use_tags: '1', tag_set_include: `${tagId('Production')},${tagId('Staging')}` }),
    (h) => h.TAGS!.some((t) => ['Production', 'Staging'].includes(t.NAME!)),
    any,
  ],
  [
    'use_tags, tag_set_by=name, tag_include_selector=all',
    () => ({
      use_tags: '1',
      tag_set_by: 'name',
      tag_include_selector: 'all',
      tag_set_include: 'Production,Linux Servers',
    }),
    (h) => ['Production', 'Linux Servers'].every((n) => h.TAGS!.some((t) => t.NAME === n)),
    any,
  ],
  [
    'use_tags, tag_set_exclude',
    () => ({ use_tags: '1', tag_set_exclude: String(tagId('Production')) }),
    (h) => !h.TAGS!.some((t) => t.NAME === 'Production'),
    any,
  ],
  [
    'ips range',
    () => ({ ips: '10.24.0.10-10.24.0.30' }),
    (h) =>
      /^10\.24\.0\.(\d+)$/.test(h.IP!) && +h.IP!.split('.')[3] >= 10 && +h.IP!.split('.')[3] <= 30,
    any,
  ],
  ['os_pattern', () => ({ os_pattern: '^Windows' }), (h) => /^Windows/.test(h.OS!), any],
];

describe('HLD filters', () => {
  const baseline = (): Map<number, number[]> => oracle({}, all, any);

  test.each(HLD_CASES)('%s', async (_name, params, host, detection) => {
    const p = params();
    const expected = oracle(p, host, detection);
    const count = (m: Map<number, number[]>): number =>
      [...m.values()].reduce((n, v) => n + v.length, 0);
    expect(count(expected)).toBeGreaterThan(0);
    expect(count(expected)).not.toBe(count(baseline()));
    const served = await servedHld(p);
    expect(served).toEqual(expected);
    const matched = sim.dataset.matchDetections(p);
    expect(
      new Map(matched.map((m) => [m.hostId, m.detections.map((d) => d.UNIQUE_VULN_ID!)])),
    ).toEqual(expected);
  });
});

const HOST_LIST_CASES: [string, () => Record<string, string>, HostTest][] = [
  [
    'vm_processed_after',
    () => ({ vm_processed_after: '2025-06-02T12:00:00Z' }),
    (h) => seconds(h.LAST_VULN_SCAN_DATETIME) >= seconds('2025-06-02T12:00:00Z'),
  ],
  [
    'no_vm_scan_since',
    () => ({ no_vm_scan_since: '2025-05-20' }),
    (h) => seconds(h.LAST_VM_SCANNED_DATE) < seconds('2025-05-20T00:00:00Z'),
  ],
  [
    'vm_auth_scan_date_after',
    () => ({ vm_auth_scan_date_after: '2025-05-15' }),
    (h) => seconds(h.LAST_VM_AUTH_SCANNED_DATE) >= seconds('2025-05-15T00:00:00Z'),
  ],
  ['trurisk_min', () => ({ trurisk_min: '300' }), (h) => h.TRURISK_SCORE! >= 300],
  ['trurisk_max', () => ({ trurisk_max: '300' }), (h) => h.TRURISK_SCORE! <= 300],
  [
    'use_tags by name, any',
    () => ({ use_tags: '1', tag_set_by: 'name', tag_set_include: 'AWS,Azure,GCP' }),
    (h) => h.CLOUD_PROVIDER !== undefined,
  ],
  [
    'ips CIDR',
    () => ({ ips: '10.24.0.0/27' }),
    (h) => /^10\.24\.0\.\d+$/.test(h.IP!) && +h.IP!.split('.')[3] < 32,
  ],
  ['ag_ids (no asset groups exist)', () => ({ ag_ids: '1' }), () => false],
];

describe('Host List filters', () => {
  test.each(HOST_LIST_CASES)('%s', async (_name, params, host) => {
    const p = params();
    const expected = hosts.filter(host).map((h) => h.ID);
    if (!('ag_ids' in p)) expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(hosts.length);
    const query = new URLSearchParams({
      action: 'list',
      details: 'None',
      truncation_limit: '20',
      ...p,
    }).toString();
    expect(hostIdsOf(await allPages(sim, `/api/4.0/fo/asset/host/?${query}`))).toEqual(expected);
    expect(sim.dataset.matchHosts(p)).toEqual(expected);
  });
});
