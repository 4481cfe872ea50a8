/**
 * When an identifier identifies a host (resources/etm/identification-rules.json criteria): one
 * case per row — two hosts, what the rules decide — then the merge records a store keeps.
 */
import { Connectors } from '../../src/etm/store/connectors';
import { IdentificationRules, isPrivateAddress } from '../../src/etm/identification-rules';
import { demoSubscriptions } from '../../src/etm/demo/subscriptions';
import { SyncConsumer } from '../../src/etm/sync/consumer';
import { startSimulator } from '../../src/simulator';
import { matchedHosts } from './oracle';
import {
  asLines,
  detectionsRecord,
  host,
  onEachEngine,
  openDestination,
  SUB_A,
  SUB_B,
  tempStore,
} from './helpers';

const WINDOWS = 'Windows Server 2019 Datacenter 64 bit Edition Version 1809';
const UBUNTU = 'Ubuntu Linux 22.04.3 LTS';
const RHEL = 'Red Hat Enterprise Linux 8.9';
const CISCO = 'Cisco IOS 15.2';

interface Case {
  readonly name: string;
  readonly a: Record<string, unknown>;
  readonly b: Record<string, unknown>;
  /** Subscriptions declared on one network. */
  readonly network?: boolean;
  readonly expected: { rule: string; equal: boolean; value?: string } | null;
}

const CASES: Case[] = [
  {
    name: 'a private IP in two subscriptions is no evidence: they may be two networks',
    a: { ID: 1, IP: '10.1.1.187', OS: WINDOWS },
    b: { ID: 2, IP: '10.1.1.187', OS: UBUNTU },
    expected: null,
  },
  {
    name: 'a private IP in subscriptions declared on one network identifies the host',
    a: { ID: 1, IP: '10.1.1.187', OS: UBUNTU },
    b: { ID: 2, IP: '10.1.1.187', OS: RHEL },
    network: true,
    expected: { rule: 'ipAddress', equal: true, value: '10.1.1.187' },
  },
  {
    name: 'on one network, an equal IP on a different OS family is two machines',
    a: { ID: 1, IP: '10.1.1.234', OS: RHEL },
    b: { ID: 2, IP: '10.1.1.234', OS: CISCO },
    network: true,
    expected: { rule: 'ipAddress', equal: false },
  },
  {
    name: 'a public IP identifies the host across subscriptions',
    a: { ID: 1, IP: '203.0.113.7', OS: UBUNTU },
    b: { ID: 2, IP: '203.0.113.7' },
    expected: { rule: 'ipAddress', equal: true, value: '203.0.113.7' },
  },
  {
    name: 'an equal public IP on a different OS family is two machines (NAT)',
    a: { ID: 1, IP: '203.0.113.7', OS: WINDOWS },
    b: { ID: 2, IP: '203.0.113.7', OS: UBUNTU },
    expected: { rule: 'ipAddress', equal: false },
  },
  {
    name: 'shared (RFC 6598) and link-local addresses are private too',
    a: { ID: 1, IP: '100.64.3.2' },
    b: { ID: 2, IP: '100.64.3.2' },
    expected: null,
  },
  {
    name: 'a unique-local IPv6 address is private; the rule then does not apply',
    a: { ID: 1, IP: 'fd12:3456::1' },
    b: { ID: 2, IP: 'fd12:3456::1' },
    expected: null,
  },
  {
    name: 'a NetBIOS name without a domain on both sides identifies nothing',
    a: { ID: 1, NETBIOS: 'WS0046', OS: WINDOWS },
    b: { ID: 2, NETBIOS: 'WS0046', OS: WINDOWS },
    expected: null,
  },
  {
    name: 'a NetBIOS name in one DNS domain identifies the host (domain from DOMAIN or FQDN)',
    a: { ID: 1, NETBIOS: 'FS01', DNS_DATA: { DOMAIN: 'Corp.Example.com' } },
    b: { ID: 2, NETBIOS: 'fs01', DNS_DATA: { FQDN: 'backup.corp.example.com' } },
    expected: { rule: 'netBiosName', equal: true, value: 'fs01' },
  },
  {
    name: 'a NetBIOS name in two domains identifies nothing; a weaker rule decides',
    a: { ID: 1, NETBIOS: 'FS01', DNS_DATA: { DOMAIN: 'emea.example.com' }, IP: '198.51.100.1' },
    b: { ID: 2, NETBIOS: 'FS01', DNS_DATA: { DOMAIN: 'us.example.com' }, IP: '198.51.100.2' },
    expected: { rule: 'ipAddress', equal: false },
  },
  {
    name: 'a NetBIOS name in one domain on different OS families is two machines',
    a: { ID: 1, NETBIOS: 'EDGE1', DNS_DATA: { DOMAIN: 'corp' }, OS: WINDOWS },
    b: { ID: 2, NETBIOS: 'EDGE1', DNS_DATA: { DOMAIN: 'corp' }, OS: CISCO },
    expected: { rule: 'netBiosName', equal: false },
  },
  {
    name: 'a stronger identifier still decides before any criteria',
    a: { ID: 1, QG_HOSTID: 'agent-7', IP: '10.0.0.1', OS: WINDOWS },
    b: { ID: 2, QG_HOSTID: 'AGENT-7', IP: '10.9.9.9', OS: WINDOWS },
    expected: { rule: 'agentId', equal: true, value: 'agent-7' },
  },
];

describe('host matching criteria', () => {
  test.each(CASES)('$name', ({ a, b, network, expected }) => {
    const rules = network
      ? IdentificationRules.defaults().withNetworks(
          new Map([
            [SUB_A, 'corp-lan'],
            [SUB_B, 'corp-lan'],
          ]),
        )
      : IdentificationRules.defaults();
    const decision = rules.decide(
      [IdentificationRules.identify(SUB_A, a, String(a.ID))],
      [IdentificationRules.identify(SUB_B, b, String(b.ID))],
    );
    if (expected === null) expect(decision).toBeNull();
    else expect({ ...decision, between: undefined }).toEqual({ ...expected, between: undefined });
  });

  test.each([
    ['10.255.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['169.254.10.1', true],
    ['127.0.0.1', true],
    ['fe80::1', true],
    ['2001:db8::1', false],
    ['8.8.8.8', false],
    ['not-an-ip', false],
  ])('isPrivateAddress(%s) is %s', (ip, expected) => {
    expect(isPrivateAddress(ip as string)).toBe(expected);
  });
});

onEachEngine('merge records', () => {
  test('each join records the rule, the value and both hosts; stats count joins per rule', async () => {
    const t = await tempStore();
    try {
      await new Connectors(t.store.sql).register({ name: SUB_A, network: 'corp-lan' });
      await new Connectors(t.store.sql).register({ name: SUB_B, network: 'corp-lan' });
      const records = [
        host({ subscription: SUB_A, ID: 1, DNS_DATA: { FQDN: 'app01.corp' } }),
        host({ subscription: SUB_B, ID: 11, DNS_DATA: { FQDN: 'APP01.corp' } }),
        host({ subscription: SUB_A, ID: 2, IP: '10.1.1.187', OS: UBUNTU }),
        host({ subscription: SUB_B, ID: 12, IP: '10.1.1.187', OS: RHEL }),
        host({ subscription: SUB_A, ID: 3, IP: '10.1.1.234', OS: RHEL }),
        host({ subscription: SUB_B, ID: 13, IP: '10.1.1.234', OS: CISCO }),
      ].map(detectionsRecord);
      const sink = await openDestination(t.store);
      await new SyncConsumer(sink, { commitAtEnd: true }).consume(asLines(records));
      expect(sink.resolver.stats.joinsByRule).toEqual({ fqdn: 1, ipAddress: 1 });
      const merges = await t.store.sql.all(
        `SELECT kind, subscription, host_id, matched_subscription, matched_host_id, rule, value
           FROM asset_merges ORDER BY id`,
      );
      expect(merges).toEqual([
        {
          kind: 'joined',
          subscription: SUB_B,
          host_id: '11',
          matched_subscription: SUB_A,
          matched_host_id: '1',
          rule: 'fqdn',
          value: 'app01.corp',
        },
        {
          kind: 'joined',
          subscription: SUB_B,
          host_id: '12',
          matched_subscription: SUB_A,
          matched_host_id: '2',
          rule: 'ipAddress',
          value: '10.1.1.187',
        },
      ]);
    } finally {
      await t.cleanup();
    }
  });
});

describe('on simulated subscriptions that share machines', () => {
  // Seeds where NetBIOS names and private addresses coincide between hosts that are not shared.
  test.each([11, 21, 31])('seed %i: the rules join exactly the shared machines', async (seed) => {
    const [first, second] = demoSubscriptions(500);
    const a = await startSimulator({ ...first.options, seed });
    const b = await startSimulator({
      ...second.options,
      seed: seed + 1,
      overlapWith: { seed, fraction: 0.3 },
    });
    try {
      const designed = b.dataset.sharedHosts().map((s) => [s.partnerHostId, s.hostId]);
      expect(designed).toHaveLength(150);
      const joined = matchedHosts({ label: 'emea', sim: a }, { label: 'americas', sim: b });
      const key = (p: number[]) => p.join('-');
      expect(joined.map(key).sort()).toEqual(designed.map(key).sort());
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
