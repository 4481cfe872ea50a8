/**
 * Two subscriptions that overlap: with `overlapWith`, a fraction of one simulator's hosts are the
 * same machines as hosts of another (same FQDN, cloud instance or agent ID) under different host IDs,
 * with the same vulnerabilities, and both serve the same knowledge base.
 */
import { DetectionModel, HostModel, Simulator, startSimulator } from '../../src/simulator';
import { call, child, children, parseXml, path } from './helpers';

function keys(h: HostModel): string[] {
  return [
    h.QG_HOSTID && `agent:${h.QG_HOSTID}`,
    h.CLOUD_RESOURCE_ID && `cloud:${h.CLOUD_RESOURCE_ID}`,
    h.DNS_DATA?.FQDN && `fqdn:${h.DNS_DATA.FQDN}`,
  ].filter((k): k is string => Boolean(k));
}

/** What makes a detection one finding on its host (QID, port, protocol, SSL, FQDN), and its type. */
function finding(d: DetectionModel): string {
  return [d.QID, d.PORT, d.PROTOCOL, d.SSL, d.FQDN, d.TYPE].join('/');
}

describe('overlapping subscriptions', () => {
  let a: Simulator;
  let b: Simulator;
  beforeAll(async () => {
    a = await startSimulator({ hosts: 200, detectionsPerHost: 3, qids: 60, seed: 5 });
    b = await startSimulator({
      hosts: 200,
      detectionsPerHost: 3,
      qids: 60,
      seed: 6,
      overlapWith: { seed: 5, fraction: 0.3 },
    });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  test('exactly the intended fraction of hosts is shared, by a mix of identifiers, under other host IDs', () => {
    const shared = b.dataset.sharedHosts();
    expect(shared).toHaveLength(60);
    expect(new Set(shared.map((s) => s.key))).toEqual(
      new Set(['QG_HOSTID', 'CLOUD_RESOURCE_ID', 'FQDN']),
    );
    const aIds = new Set(a.dataset.hostIds());
    expect(b.dataset.hostIds().some((id) => aIds.has(id))).toBe(false);
    for (const s of shared) {
      const mine = b.dataset.host(s.hostId)!;
      const theirs = a.dataset.host(s.partnerHostId)!;
      expect(theirs).toBeDefined();
      const field = {
        QG_HOSTID: theirs.QG_HOSTID,
        CLOUD_RESOURCE_ID: theirs.CLOUD_RESOURCE_ID,
        FQDN: theirs.DNS_DATA?.FQDN,
      }[s.key];
      expect(field).toBe(s.value);
      expect(keys(mine)).toEqual(keys(theirs));
    }
  });

  test('no other host of B matches a host of A on any identifier', () => {
    const aKeys = new Set(a.dataset.hostIds().flatMap((id) => keys(a.dataset.host(id)!)));
    const matching = b.dataset
      .hostIds()
      .filter((id) => keys(b.dataset.host(id)!).some((k) => aKeys.has(k)));
    expect(matching).toEqual(b.dataset.sharedHosts().map((s) => s.hostId));
  });

  test('a shared host is served by both simulators with the same identity', async () => {
    const s = b.dataset.sharedHosts().find((x) => x.key === 'FQDN')!;
    const served = async (sim: Simulator, id: number) => {
      const reply = await call(sim, `/api/4.0/fo/asset/host/?action=list&ids=${id}`);
      return children(path(parseXml(reply.body), 'RESPONSE', 'HOST_LIST'), 'HOST')[0];
    };
    const [mine, theirs] = await Promise.all([served(b, s.hostId), served(a, s.partnerHostId)]);
    expect(path(mine, 'DNS_DATA', 'FQDN')?.text).toBe(s.value);
    expect(path(theirs, 'DNS_DATA', 'FQDN')?.text).toBe(s.value);
    expect(child(mine, 'ID')?.text).not.toBe(child(theirs, 'ID')?.text);
  });

  test('a shared host reports the same vulnerabilities in both, under its own vuln IDs and dates', () => {
    expect(b.dataset.kbQids()).toEqual(a.dataset.kbQids());
    for (const qid of a.dataset.kbQids().slice(0, 10))
      expect(b.dataset.kb(qid)).toEqual(a.dataset.kb(qid));
    let withPort = 0;
    let withFqdn = 0;
    let datesDiffer = 0;
    for (const s of b.dataset.sharedHosts()) {
      const mine = b.dataset.detections(s.hostId)!;
      const theirs = a.dataset.detections(s.partnerHostId)!;
      expect(mine.map(finding)).toEqual(theirs.map(finding));
      const theirIds = new Set(theirs.map((d) => d.UNIQUE_VULN_ID));
      expect(mine.filter((d) => theirIds.has(d.UNIQUE_VULN_ID))).toEqual([]);
      withPort += mine.filter((d) => d.PORT !== undefined).length;
      withFqdn += mine.filter((d) => d.FQDN !== undefined).length;
      if (mine.some((d, k) => d.FIRST_FOUND_DATETIME !== theirs[k].FIRST_FOUND_DATETIME))
        datesDiffer++;
    }
    expect(withPort).toBeGreaterThan(0);
    expect(withFqdn).toBeGreaterThan(0);
    expect(datesDiffer).toBeGreaterThan(0);
  });

  test('a shared host rescanned in the same cycle by both changes alike; other hosts draw their own', async () => {
    const options = { hosts: 50, detectionsPerHost: 8, qids: 60 };
    const x = await startSimulator({ ...options, seed: 5 });
    const y = await startSimulator({
      ...options,
      seed: 6,
      overlapWith: { seed: 5, fraction: 0.5 },
    });
    try {
      x.scanCycle({ hostFraction: 1 });
      y.scanCycle({ hostFraction: 1 });
      const shared = y.dataset.sharedHosts();
      for (const s of shared) {
        const status = (d: DetectionModel): string => `${finding(d)} ${d.STATUS}`;
        expect(y.dataset.detections(s.hostId)!.map(status)).toEqual(
          x.dataset.detections(s.partnerHostId)!.map(status),
        );
      }
      const sharedIds = new Set(shared.map((s) => s.hostId));
      const own = y.dataset.hostIds().filter((id) => !sharedIds.has(id));
      const ownQids = own.map((id) => y.dataset.detections(id)!.map(finding).join());
      const xQids = new Set(
        x.dataset.hostIds().map((id) => x.dataset.detections(id)!.map(finding).join()),
      );
      expect(ownQids.filter((q) => q !== '' && xQids.has(q))).toEqual([]);
    } finally {
      await x.close();
      await y.close();
    }
  });

  test('without overlap nothing is shared; seeds with the same host ID base are refused', async () => {
    expect(a.dataset.sharedHosts()).toEqual([]);
    await expect(
      startSimulator({ hosts: 5, seed: 95, overlapWith: { seed: 5, fraction: 0.5 } }),
    ).rejects.toThrow('seeds 95 and 5 give the same host ID base; pick another seed');
  });
});
