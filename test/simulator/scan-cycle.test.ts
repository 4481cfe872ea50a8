/**
 * Scan cycles change exactly what they report, place every change inside the new clock interval
 * (so `vm_processed_after = previous DATETIME - 1 h` finds exactly the changed hosts), and are
 * reachable over the admin routes.
 */
import { DetectionModel, HostModel, KbModel, Simulator, startSimulator } from '../../src/simulator';
import { SMALL, allPages, basic, call, hostIdsOf, parseXml, path, withSimulator } from './helpers';

interface Snapshot {
  hosts: Map<number, HostModel>;
  detections: Map<number, DetectionModel[]>;
  kb: Map<number, KbModel>;
}

function snapshot(sim: Simulator): Snapshot {
  const ids = sim.dataset.hostIds();
  return {
    hosts: new Map(ids.map((id) => [id, sim.dataset.host(id)!])),
    detections: new Map(ids.map((id) => [id, sim.dataset.detections(id)!])),
    kb: new Map(sim.dataset.kbQids().map((q) => [q, sim.dataset.kb(q)!])),
  };
}

const seconds = (iso?: string): number => Date.parse(iso ?? '') / 1000;
const isoMinus = (iso: string, s: number): string =>
  new Date(Date.parse(iso) - s * 1000).toISOString().replace('.000', '');

describe('scan cycle (library)', () => {
  let sim: Simulator;
  beforeAll(
    async () =>
      (sim = await startSimulator({ hosts: 120, detectionsPerHost: 8, qids: 150, seed: 5 })),
  );
  afterAll(() => sim.close());

  test('changes exactly what the report lists, within (previous clock, clock - 2 h]', () => {
    const before = snapshot(sim);
    const start = sim.clock.nowSeconds();
    const report = sim.scanCycle({
      hours: 24,
      hostFraction: 0.3,
      purgeFraction: 0.1,
      kbFraction: 0.2,
    });
    const after = snapshot(sim);
    expect(report.cycle).toBe(1);
    expect(report.previousClock).toBe('2025-06-02T12:00:00Z');
    expect(report.clock).toBe('2025-06-03T12:00:00Z');
    expect(sim.clock.now()).toEqual(new Date('2025-06-03T12:00:00Z'));
    const latest = start + 24 * 3600 - 7200;

    expect(report.purgedHostIds.length).toBeGreaterThan(0);
    expect(report.purgedHostIds).toEqual(
      [...before.hosts.keys()].filter((id) => !after.hosts.has(id)),
    );
    expect(report.changedHostIds.length).toBeGreaterThan(10);
    expect(report.changedHostIds).toEqual([...report.changedHostIds].sort((a, b) => a - b));

    const changed = new Set(report.changedHostIds);
    const added: number[] = [];
    const fixed: number[] = [];
    const reopened: number[] = [];
    for (const [id, host] of after.hosts) {
      const old = before.hosts.get(id)!;
      if (!changed.has(id)) {
        expect(host).toEqual(old);
        expect(after.detections.get(id)).toEqual(before.detections.get(id));
        continue;
      }
      const processed = seconds(host.LAST_VULN_SCAN_DATETIME);
      expect(processed).toBeGreaterThan(start);
      expect(processed).toBeLessThanOrEqual(latest);
      expect(seconds(host.LAST_VM_SCANNED_DATE)).toBeGreaterThan(start);
      const previous = new Map(before.detections.get(id)!.map((d) => [d.UNIQUE_VULN_ID, d]));
      for (const d of after.detections.get(id)!) {
        expect(d.LAST_PROCESSED_DATETIME).toBe(host.LAST_VULN_SCAN_DATETIME);
        expect(d.LAST_TEST_DATETIME).toBe(host.LAST_VM_SCANNED_DATE);
        const was = previous.get(d.UNIQUE_VULN_ID);
        if (!was) {
          added.push(d.UNIQUE_VULN_ID!);
          expect(d.STATUS).toBe(d.TYPE === 'Info' ? undefined : 'New');
          expect([d.FIRST_FOUND_DATETIME, d.LAST_FOUND_DATETIME]).toEqual([
            host.LAST_VM_SCANNED_DATE,
            host.LAST_VM_SCANNED_DATE,
          ]);
        } else if (d.STATUS === 'Fixed' && was.STATUS !== 'Fixed') {
          fixed.push(d.UNIQUE_VULN_ID!);
          expect(d.LAST_FIXED_DATETIME).toBe(host.LAST_VM_SCANNED_DATE);
        } else if (d.STATUS === 'Re-Opened') {
          expect(was.STATUS).toBe('Fixed');
          reopened.push(d.UNIQUE_VULN_ID!);
          expect(d.LAST_REOPENED_DATETIME).toBe(host.LAST_VM_SCANNED_DATE);
        } else if (was.STATUS === 'Fixed') {
          expect(d.STATUS).toBe('Fixed');
        } else if (was.STATUS !== undefined) {
          expect(d.STATUS).toBe('Active');
        }
      }
    }
    const ids = (list: { uniqueVulnId: number }[]): number[] => list.map((c) => c.uniqueVulnId);
    expect([added.length, fixed.length, reopened.length].every((n) => n > 0)).toBe(true);
    expect(ids(report.added)).toEqual(added);
    expect(ids(report.fixed)).toEqual(fixed);
    expect(ids(report.reopened)).toEqual(reopened);
    for (const c of [...report.added, ...report.fixed, ...report.reopened]) {
      expect(
        after.detections.get(c.hostId)!.find((d) => d.UNIQUE_VULN_ID === c.uniqueVulnId)!.QID,
      ).toBe(c.qid);
    }

    const modified = [...after.kb.keys()].filter(
      (q) =>
        after.kb.get(q)!.LAST_SERVICE_MODIFICATION_DATETIME !==
        before.kb.get(q)!.LAST_SERVICE_MODIFICATION_DATETIME,
    );
    expect(modified.length).toBeGreaterThan(10);
    expect(report.modifiedQids).toEqual(modified);
    for (const q of modified) {
      const at = seconds(after.kb.get(q)!.LAST_SERVICE_MODIFICATION_DATETIME);
      expect(at).toBeGreaterThan(start);
      expect(at).toBeLessThanOrEqual(latest);
      expect(after.kb.get(q)!.CHANGE_LOG_LIST).toHaveLength(1);
    }
  });

  test('purge() removes live hosts and reports only those', () => {
    const [a, b] = sim.dataset.hostIds();
    expect(sim.purge([b, a, a, 1])).toEqual([a, b]);
    expect(sim.purge([a])).toEqual([]);
    expect(sim.dataset.host(a)).toBeUndefined();
  });

  test('invalid cycle options are rejected', () => {
    expect(() => sim.scanCycle({ hours: 2 })).toThrow('hours must be at least 3, got 2');
    expect(() => sim.scanCycle({ hostFraction: 1.5 })).toThrow(
      'hostFraction must be between 0 and 1, got 1.5',
    );
  });

  test('the same seed and cycle options give the same reports', async () => {
    const reports = await Promise.all(
      [0, 1].map(() =>
        withSimulator({ hosts: 120, detectionsPerHost: 8, qids: 150, seed: 5 }, async (s) => [
          s.scanCycle({ hostFraction: 0.3, purgeFraction: 0.1, kbFraction: 0.2 }),
          s.scanCycle({ hours: 6, hostFraction: 0.2 }),
        ]),
      ),
    );
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[0][1].changedHostIds.length).toBeGreaterThan(0);
  });
});

describe('incremental queries over HTTP', () => {
  test('vm_processed_after = previous DATETIME - 1 h returns exactly the changed hosts, cycle after cycle', async () => {
    await withSimulator({ ...SMALL, hosts: 80 }, async (sim) => {
      let previous = path(
        parseXml((await call(sim, '/api/4.0/fo/asset/host/?action=list&ids=1')).body),
        'RESPONSE',
        'DATETIME',
      )!.text;
      expect(previous).toBe('2025-06-02T12:00:00Z');
      const noneYet = await allPages(
        sim,
        `/api/4.0/fo/asset/host/?action=list&details=None&vm_processed_after=${isoMinus(previous, 3600)}`,
      );
      expect(hostIdsOf(noneYet)).toEqual([]);
      for (const hours of [24, 5, 72]) {
        const report = sim.scanCycle({ hours, hostFraction: 0.25, kbFraction: 0.1 });
        const since = isoMinus(previous, 3600);
        const pages = await allPages(
          sim,
          `/api/4.0/fo/asset/host/?action=list&details=None&truncation_limit=7&vm_processed_after=${since}`,
        );
        expect(report.changedHostIds.length).toBeGreaterThan(0);
        expect(hostIdsOf(pages)).toEqual(report.changedHostIds);
        const hld = await allPages(
          sim,
          `/api/4.0/fo/asset/host/vm/detection/?action=list&status=New,Active,Re-Opened,Fixed&show_igs=1&vm_processed_after=${since}`,
        );
        const served = hostIdsOf(hld);
        expect(served.every((id) => report.changedHostIds.includes(id))).toBe(true);
        expect(served).toEqual(
          report.changedHostIds.filter(
            (id) =>
              sim.dataset.matchDetections({
                ids: String(id),
                status: 'New,Active,Re-Opened,Fixed',
                show_igs: '1',
              }).length > 0,
          ),
        );
        const kb = await allPages(
          sim,
          `/api/4.0/fo/knowledge_base/vuln/?action=list&details=None&last_modified_after=${previous}`,
        );
        expect(hostIdsOf(kb)).toEqual(report.modifiedQids);
        previous = path(pages[0].root, 'RESPONSE', 'DATETIME')!.text;
        expect(previous).toBe(report.clock);
      }
    });
  });
});

describe('admin routes', () => {
  test('advance, purge and stats over HTTP with the API credentials', async () => {
    await withSimulator(SMALL, async (sim) => {
      const json = async (p: string, form?: string, auth = basic(sim.username, sim.password)) => {
        const reply = await call(sim, p, {
          method: form === undefined ? 'GET' : 'POST',
          form,
          auth,
          requestedWith: false,
        });
        return { status: reply.status, body: JSON.parse(reply.body) };
      };
      expect((await json('/__sim/stats', undefined, basic('x', 'y'))).status).toBe(401);
      expect((await json('/__sim/advance')).status).toBe(405);
      expect(await json('/__sim/advance', 'hours=1')).toEqual({
        status: 400,
        body: { error: 'hours must be at least 3, got 1' },
      });
      expect(await json('/__sim/advance', 'host_fraction=abc')).toEqual({
        status: 400,
        body: { error: 'host_fraction must be a number, got "abc"' },
      });
      const advanced = await json(
        '/__sim/advance',
        'hours=12&host_fraction=0.5&purge_fraction=0.1&kb_fraction=0.1',
      );
      expect(advanced.status).toBe(200);
      expect(advanced.body.clock).toBe('2025-06-03T00:00:00Z');
      expect(sim.clock.nowIso()).toBe('2025-06-03T00:00:00Z');
      expect(advanced.body.changedHostIds.length).toBeGreaterThan(0);
      for (const id of advanced.body.purgedHostIds) expect(sim.dataset.host(id)).toBeUndefined();
      const target = sim.dataset.hostIds()[3];
      expect(await json('/__sim/purge', `ids=${target},1`)).toEqual({
        status: 200,
        body: { purgedHostIds: [target] },
      });
      expect((await json('/__sim/purge', 'ids=')).status).toBe(400);
      expect(sim.dataset.hostIds()).not.toContain(target);
      const hosts = await allPages(sim, '/api/4.0/fo/asset/host/?action=list&details=None');
      expect(hostIdsOf(hosts)).toEqual(sim.dataset.hostIds());
      const stats = await json('/__sim/stats');
      // The stats call counts as a call on arrival; its own status is counted once it is answered.
      expect(stats.body.calls.admin).toBe(8);
      expect(stats.body.calls.host_list).toBe(1);
      expect(stats.body.statusCodesByEndpoint.admin).toEqual({
        '200': 2,
        '400': 3,
        '401': 1,
        '405': 1,
      });
    });
  });
});
