import { IdentificationRules, KNOWN_RULES } from '../../src/etm/identification-rules';
import {
  convertAll,
  detection,
  detectionsRecord,
  host,
  SUB_A,
  SUB_B,
  onEachEngine,
} from './helpers';

const SUB_C = 'ops@qualysapi.qualys.eu';

const identity = (subscription: string, data: Record<string, unknown>) =>
  IdentificationRules.identify(subscription, data);

describe('identification rules: selection', () => {
  test('all six are on by default, in CSAM precedence', () => {
    expect(IdentificationRules.defaults().names).toEqual([
      'qualysHostId',
      'cloudInstanceId',
      'agentId',
      'fqdn',
      'netBiosName',
      'ipAddress',
    ]);
    expect(KNOWN_RULES).toHaveLength(6);
  });

  test('a list reorders and switches rules off', () => {
    const rules = IdentificationRules.select('ipAddress, fqdn');
    expect(rules.names).toEqual(['ipAddress', 'fqdn']);
    expect(rules.precedence('ipAddress')).toBeLessThan(rules.precedence('fqdn'));
  });

  test("a profile's toggles", () => {
    const rules = IdentificationRules.select([
      { rule: 'fqdn' },
      { rule: 'qualysHostId', enabled: false },
      'netBiosName',
    ]);
    expect(rules.names).toEqual(['fqdn', 'netBiosName']);
  });

  test('at least one rule must stay on', () => {
    expect(() => IdentificationRules.select('')).toThrow(
      /at least one identification rule must stay on/,
    );
    expect(() => IdentificationRules.select([{ rule: 'fqdn', enabled: false }])).toThrow(
      /at least one/,
    );
  });

  test('unknown and repeated rules are refused by name', () => {
    expect(() => IdentificationRules.select('fqdn,macAddress')).toThrow(
      /unknown identification rule 'macAddress'/,
    );
    expect(() => IdentificationRules.select('fqdn,fqdn')).toThrow(
      /identification rule 'fqdn' is listed twice/,
    );
  });
});

describe('identification rules: deciding', () => {
  const rules = IdentificationRules.defaults();

  test('the first rule for which both have a value decides', () => {
    const a = identity(SUB_A, { ID: 1, DNS_DATA: { FQDN: 'app01.corp' }, IP: '203.0.113.1' });
    const b = identity(SUB_B, { ID: 2, DNS_DATA: { FQDN: 'APP01.corp' }, IP: '10.9.9.9' });
    expect(rules.decide([a], [b])).toMatchObject({ rule: 'fqdn', equal: true });
  });

  test('a higher rule with different values is a conflict, whatever the lower rules say', () => {
    const a = identity(SUB_A, { ID: 1, CLOUD_RESOURCE_ID: 'i-1', DNS_DATA: { FQDN: 'app01' } });
    const b = identity(SUB_B, { ID: 2, CLOUD_RESOURCE_ID: 'i-2', DNS_DATA: { FQDN: 'app01' } });
    expect(rules.decide([a], [b])).toMatchObject({ rule: 'cloudInstanceId', equal: false });
  });

  test('host IDs are compared only within one subscription', () => {
    const a = identity(SUB_A, { ID: 1001, IP: '203.0.113.1' });
    const b = identity(SUB_B, { ID: 1001, IP: '203.0.113.2' });
    expect(rules.decide([a], [b])).toMatchObject({ rule: 'ipAddress', equal: false });
    const c = identity(SUB_A, { ID: 1001, IP: '203.0.113.2' });
    expect(rules.decide([a], [c])).toMatchObject({ rule: 'qualysHostId', equal: true });
  });

  test('names compare without case; nothing in common decides nothing', () => {
    const a = identity(SUB_A, { ID: 1, NETBIOS: 'App01', QG_HOSTID: '6F1C-AA' });
    const b = identity(SUB_B, { ID: 2, NETBIOS: 'APP01', QG_HOSTID: '6f1c-aa' });
    expect(rules.decide([a], [b])).toMatchObject({ rule: 'agentId', equal: true });
    expect(
      rules.decide(
        [identity(SUB_A, { ID: 1, IP: '1.1.1.1' })],
        [identity(SUB_B, { ID: 2, NETBIOS: 'X' })],
      ),
    ).toBeNull();
  });

  test('a rule switched off is skipped', () => {
    const a = identity(SUB_A, { ID: 1, DNS_DATA: { FQDN: 'app01' }, IP: '203.0.113.1' });
    const b = identity(SUB_B, { ID: 2, DNS_DATA: { FQDN: 'app01' }, IP: '203.0.113.2' });
    expect(IdentificationRules.select('ipAddress,fqdn').decide([a], [b])).toMatchObject({
      rule: 'ipAddress',
      equal: false,
    });
    expect(IdentificationRules.select('fqdn').decide([a], [b])).toMatchObject({
      rule: 'fqdn',
      equal: true,
    });
  });
});

/** Host records (no detections) from several subscriptions, converted together. */
async function assetsOf(hosts: Record<string, unknown>[], rules?: string) {
  const { assets } = await convertAll(
    hosts.map((h) => detectionsRecord(host(h))),
    { rules },
  );
  return assets;
}

onEachEngine('identification rules: merging assets in the store', () => {
  test('match: the same host in two subscriptions is one asset that keeps both', async () => {
    const assets = await assetsOf([
      {
        subscription: SUB_A,
        ID: 148312001,
        DNS_DATA: { FQDN: 'app01.corp.example.com' },
        IP: '10.20.30.41',
      },
      {
        subscription: SUB_B,
        ID: 5501,
        DNS_DATA: { FQDN: 'APP01.corp.example.com' },
        IP: '10.99.0.5',
      },
    ]);
    expect(assets).toHaveLength(1);
    expect(assets[0]).toMatchObject({
      identifiedBy: 'fqdn',
      subscriptions: [SUB_A, SUB_B],
      qualysHosts: [
        { subscription: SUB_A, hostId: '148312001' },
        { subscription: SUB_B, hostId: '5501' },
      ],
    });
  });

  test('conflict: equal FQDNs but different cloud instances stay two assets', async () => {
    const assets = await assetsOf([
      {
        subscription: SUB_A,
        ID: 1,
        CLOUD_RESOURCE_ID: 'i-0aaa',
        DNS_DATA: { FQDN: 'web.internal' },
      },
      {
        subscription: SUB_B,
        ID: 2,
        CLOUD_RESOURCE_ID: 'i-0bbb',
        DNS_DATA: { FQDN: 'web.internal' },
      },
    ]);
    expect(assets).toHaveLength(2);
    expect(assets.map((a) => a.identifiedBy)).toEqual(['qualysHostId', 'qualysHostId']);
  });

  test('rule off: without fqdn, hosts that share only an FQDN stay apart', async () => {
    const hosts = [
      { subscription: SUB_A, ID: 1, DNS_DATA: { FQDN: 'web.internal' }, IP: '203.0.113.1' },
      { subscription: SUB_B, ID: 2, DNS_DATA: { FQDN: 'web.internal' } },
    ];
    expect(await assetsOf(hosts)).toHaveLength(1);
    expect(
      await assetsOf(hosts, 'qualysHostId,cloudInstanceId,agentId,netBiosName,ipAddress'),
    ).toHaveLength(2);
  });

  test('cross-subscription host IDs: the same ID in two subscriptions is not the same host', async () => {
    const assets = await assetsOf([
      { subscription: SUB_A, ID: 148312057, IP: '172.31.14.22' },
      { subscription: SUB_B, ID: 148312057, IP: '192.168.7.7' },
      { subscription: SUB_A, ID: 148312057, IP: '172.31.14.23' },
    ]);
    expect(assets).toHaveLength(2);
    expect(assets.map((a) => a.ipAddress).sort()).toEqual(['172.31.14.23', '192.168.7.7']);
  });

  test('within one subscription two host IDs are two hosts, even with one FQDN', async () => {
    const assets = await assetsOf([
      { subscription: SUB_A, ID: 1, DNS_DATA: { FQDN: 'dup.corp' } },
      { subscription: SUB_A, ID: 2, DNS_DATA: { FQDN: 'dup.corp' } },
    ]);
    expect(assets).toHaveLength(2);
  });

  test('a host matching two conflicting assets joins the one found by the higher rule', async () => {
    const assets = await assetsOf([
      {
        subscription: SUB_A,
        ID: 1,
        QG_HOSTID: 'agent-1',
        NETBIOS: 'ONE',
        DNS_DATA: { DOMAIN: 'corp' },
      },
      {
        subscription: SUB_B,
        ID: 2,
        IP: '203.0.113.9',
        NETBIOS: 'TWO',
        DNS_DATA: { DOMAIN: 'corp' },
      },
      // Matches host 1 by agentId and host 2 by ipAddress; hosts 1 and 2 differ by NetBIOS name.
      { subscription: SUB_C, ID: 3, QG_HOSTID: 'AGENT-1', IP: '203.0.113.9' },
    ]);
    expect(assets).toHaveLength(2);
    const joined = assets.find((a) => (a.subscriptions as string[]).length === 2);
    expect(joined).toMatchObject({ identifiedBy: 'agentId', subscriptions: [SUB_A, SUB_C] });
  });

  test('a host linking two assets merges them, in any arrival order', async () => {
    const byIp = { subscription: SUB_B, ID: 2, IP: '203.0.113.5' };
    const byFqdn = { subscription: SUB_C, ID: 3, DNS_DATA: { FQDN: 'app01.corp' } };
    const both = {
      subscription: SUB_A,
      ID: 1,
      DNS_DATA: { FQDN: 'app01.corp' },
      IP: '203.0.113.5',
    };
    const orders = [
      [both, byIp, byFqdn],
      [both, byFqdn, byIp],
      [byIp, both, byFqdn],
      [byIp, byFqdn, both],
      [byFqdn, both, byIp],
      [byFqdn, byIp, both],
    ];
    for (const order of orders) {
      const assets = await assetsOf(order);
      expect(assets).toHaveLength(1);
      expect(assets[0].subscriptions).toEqual([SUB_A, SUB_B, SUB_C].sort());
    }
  });

  test('a host does not merge two assets that conflict with each other', async () => {
    const assets = await assetsOf([
      { subscription: SUB_A, ID: 1, DNS_DATA: { FQDN: 'app01.corp' }, NETBIOS: 'N1' },
      {
        subscription: SUB_B,
        ID: 2,
        NETBIOS: 'N2',
        IP: '203.0.113.9',
        DNS_DATA: { DOMAIN: 'corp' },
      },
      { subscription: SUB_C, ID: 3, DNS_DATA: { FQDN: 'app01.corp' }, IP: '203.0.113.9' },
    ]);
    expect(assets).toHaveLength(2);
    expect(
      assets.find((a) => (a.subscriptions as string[]).includes(SUB_C))?.subscriptions,
    ).toEqual([SUB_A, SUB_C]);
  });

  test('identifiedBy of a lone host is its highest-precedence rule with a value', async () => {
    const [asset] = await assetsOf(
      [{ subscription: SUB_A, ID: 1, NETBIOS: 'APP01', IP: '203.0.113.1' }],
      'fqdn,netBiosName,ipAddress',
    );
    expect(asset.identifiedBy).toBe('netBiosName');
  });

  test('a host whose identifiers now point at another asset moves there, with its findings', async () => {
    const rules = 'fqdn,ipAddress';
    const first = host({
      subscription: SUB_A,
      ID: 1,
      DNS_DATA: { FQDN: 'old.corp' },
      VULNERABILITIES: [detection()],
    });
    const other = host({ subscription: SUB_B, ID: 2, DNS_DATA: { FQDN: 'new.corp' } });
    const moved = host({
      subscription: SUB_A,
      ID: 1,
      DNS_DATA: { FQDN: 'new.corp' },
      VULNERABILITIES: [detection()],
    });
    const { assets, findings } = await convertAll([first, other, moved].map(detectionsRecord), {
      rules,
    });
    expect(assets).toHaveLength(1);
    expect(assets[0].subscriptions).toEqual([SUB_A, SUB_B]);
    expect(findings).toHaveLength(1);
    expect(findings[0].assetKey).toBe(assets[0].assetKey);
  });

  test('asset keys are stable: the same input gives the same keys', async () => {
    const hosts = [
      { subscription: SUB_A, ID: 1, DNS_DATA: { FQDN: 'a.corp' } },
      { subscription: SUB_B, ID: 2, DNS_DATA: { FQDN: 'a.corp' } },
    ];
    const once = await assetsOf(hosts);
    const again = await assetsOf(hosts);
    expect(once[0].assetKey).toMatch(/^vmdr-[0-9a-f]{16}$/);
    expect(again[0].assetKey).toBe(once[0].assetKey);
  });
});
