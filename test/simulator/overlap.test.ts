/**
 * Two subscriptions that overlap: with `overlapWith`, a fraction of one simulator's hosts are the
 * same machines as hosts of another (same FQDN, cloud instance or agent ID) under different host IDs.
 */
import { HostModel, Simulator, startSimulator } from '../../src/simulator';
import { call, child, children, parseXml, path } from './helpers';

function keys(h: HostModel): string[] {
  return [
    h.QG_HOSTID && `agent:${h.QG_HOSTID}`,
    h.CLOUD_RESOURCE_ID && `cloud:${h.CLOUD_RESOURCE_ID}`,
    h.DNS_DATA?.FQDN && `fqdn:${h.DNS_DATA.FQDN}`,
  ].filter((k): k is string => Boolean(k));
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

  test('without overlap nothing is shared; seeds with the same host ID base are refused', async () => {
    expect(a.dataset.sharedHosts()).toEqual([]);
    await expect(
      startSimulator({ hosts: 5, seed: 95, overlapWith: { seed: 5, fraction: 0.5 } }),
    ).rejects.toThrow('seeds 95 and 5 give the same host ID base; pick another seed');
  });
});
