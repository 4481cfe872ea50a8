/**
 * The `detections` converter (src/etm/converters/detections.ts) into a real store, on both
 * engines: a flat detection is the finding host_detections makes of it, under the same key; it
 * never re-identifies a host the store holds; knowledge_base records give its per-QID attributes
 * whenever they arrive; its deletion record purges the host as the hosts stream's does.
 */
import { Detections } from '../../src/etm/converters/detections';
import { Detection, detectionKey } from '../../src/records';
import { ConsumerProgress, SyncConsumer } from '../../src/etm/sync/consumer';
import { EtmStore } from '../../src/etm/store/database';
import { WriteStats } from '../../src/etm/store/writer';
import {
  asLines,
  assets,
  convertAll,
  destination,
  detection,
  detectionsRecord,
  findings,
  host,
  hostsRecord,
  onEachEngine,
  recordMessage,
  stateMessage,
  SUB_A,
  SUB_B,
  tempStore,
} from './helpers';

const DELETED_AT = '2025-06-02T03:27:58Z';
const MITRE = {
  MITRE_TACTIC_ID: ['TA0002'],
  MITRE_TACTIC_NAME: ['Execution'],
  MITRE_TECHNIQUE_ID: ['T1203'],
  MITRE_TECHNIQUE_NAME: ['Exploitation for Client Execution'],
};

/** A host_detections detection (QID_INFO and MITRE joined by the source). */
const nested = (overrides: Record<string, unknown>): Record<string, unknown> =>
  detection({ ...MITRE, ...overrides });

/** The KB record the source joined into `nested(...)`'s QID_INFO, MITRE on it. */
const kb = (QID: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  subscription: SUB_A,
  QID,
  TITLE: `QID ${QID}`,
  LAST_SERVICE_MODIFICATION_DATETIME: '2025-02-27T10:14:02Z',
  ...MITRE,
  ...extra,
});

/** The `detections` record the source makes of a nested detection of this host. */
function flat(hostFields: Record<string, unknown>, d: Record<string, unknown>): string {
  const { ID, ...fields } = hostFields;
  const own = Object.fromEntries(
    Object.entries(d).filter(([k]) => k !== 'QID_INFO' && !k.startsWith('MITRE_')),
  );
  return recordMessage('detections', {
    subscription: SUB_A,
    HOST_ID: ID,
    ...fields,
    ...own,
    DETECTION_KEY: detectionKey(d as unknown as Detection),
  });
}

const flatDeletion = (HOST_ID: number, subscription = SUB_A): string =>
  recordMessage('detections', {
    subscription,
    HOST_ID,
    DETECTION_KEY: '*',
    _ab_cdc_deleted_at: DELETED_AT,
    LAST_SCAN_DATETIME: DELETED_AT,
  });

/** Runs messages through a fresh destination, as one sync does; returns what it counted. */
async function sync(store: EtmStore, lines: string[]): Promise<WriteStats> {
  const dest = destination(store);
  const result = await new SyncConsumer(dest).consume(asLines(lines));
  expect(result.failures).toEqual([]);
  return dest.writer.stats;
}

onEachEngine('the detections converter', () => {
  const HOST = { ID: 1001, IP: '10.0.0.5', OS: 'Windows Server 2019', NETBIOS: 'APP01' };
  const DETECTIONS = [
    nested({ QID: 91234 }),
    // No UNIQUE_VULN_ID (older APIs): the finding key is still the QID, port, protocol, SSL, FQDN.
    nested({
      UNIQUE_VULN_ID: undefined,
      QID: 38170,
      PORT: 443,
      PROTOCOL: 'TCP',
      SSL: true,
      FQDN: 'App01.corp',
    }),
    nested({ UNIQUE_VULN_ID: 7712093342, QID: 38170, PORT: 8443, PROTOCOL: 'tcp', SSL: true }),
  ];

  test('a flat detection is the finding host_detections makes of it, under the same key', async () => {
    const fromNested = await convertAll([
      hostsRecord({ subscription: SUB_A, ...HOST }),
      detectionsRecord(host({ ...HOST, VULNERABILITIES: DETECTIONS })),
      stateMessage({ n: 1 }),
    ]);
    const fromFlat = await convertAll([
      hostsRecord({ subscription: SUB_A, ...HOST }),
      recordMessage('knowledge_base', kb(91234)),
      recordMessage('knowledge_base', kb(38170)),
      ...DETECTIONS.map((d) => flat(HOST, d)),
      stateMessage({ n: 1 }),
    ]);
    expect(fromFlat.result.failures).toEqual([]);
    expect(fromNested.findings.map((f) => f.findingKey)).toEqual([
      `${fromNested.assets[0].assetKey}/38170/443/tcp/1/app01.corp/`,
      `${fromNested.assets[0].assetKey}/38170/8443/tcp/1//`,
      `${fromNested.assets[0].assetKey}/91234///0//`,
    ]);
    expect(fromFlat.findings).toEqual(fromNested.findings);
    expect(fromFlat.findings[0]).toMatchObject({
      findingName: 'QID 38170',
      mitreTactics: [{ id: 'TA0002', name: 'Execution' }],
    });
    expect(fromFlat.assets).toEqual(fromNested.assets);
  });

  test('a finding has its QID without a knowledge_base record, which then leaves it as it is', async () => {
    const alone = await convertAll([
      ...DETECTIONS.map((d) => flat(HOST, d)),
      stateMessage({ n: 1 }),
    ]);
    expect(alone.result.failures).toEqual([]);
    expect(alone.findings.map((f) => [f.sourceVulnerabilityId, f.findingName ?? null])).toEqual([
      ['38170', null],
      ['38170', null],
      ['91234', null],
    ]);
    const withKb = await convertAll([
      ...DETECTIONS.map((d) => flat(HOST, d)),
      stateMessage({ n: 1 }),
      recordMessage('knowledge_base', kb(38170)),
      stateMessage({ n: 2 }),
    ]);
    expect(withKb.findings.map((f) => [f.sourceVulnerabilityId, f.findingName ?? null])).toEqual([
      ['38170', 'QID 38170'],
      ['38170', 'QID 38170'],
      ['91234', null],
    ]);
  });

  test('records re-delivered after a failed attempt change nothing', async () => {
    const lines = [
      recordMessage('knowledge_base', kb(91234)),
      ...DETECTIONS.map((d) => flat(HOST, d)),
      stateMessage({ n: 1 }),
    ];
    const once = await convertAll(lines);
    const again = await convertAll([...lines, ...lines.slice(1)]);
    expect(again.result.failures).toEqual([]);
    expect(again.assets).toEqual(once.assets);
    expect(again.findings).toEqual(once.findings);
  });

  test("a host the store holds keeps its identifiers and attributes; a new one is resolved from the record's fields", async () => {
    const t = await tempStore();
    try {
      await sync(t.store, [
        hostsRecord({ subscription: SUB_A, ...HOST, DNS_DATA: { FQDN: 'app01.corp' } }),
        stateMessage({ n: 1 }),
      ]);
      const stats = await sync(t.store, [
        // The host has moved address since the Host List said where it was.
        flat({ ...HOST, IP: '10.9.9.9' }, DETECTIONS[0]),
        flat({ ID: 2002, IP: '10.0.0.6', OS: 'Ubuntu 22.04', DNS: 'web02' }, DETECTIONS[2]),
        stateMessage({ n: 2 }),
        // Another subscription's host of the same FQDN: still the same machine.
        hostsRecord({ subscription: SUB_B, ID: 77, DNS_DATA: { FQDN: 'APP01.corp' } }),
        stateMessage({ n: 3 }),
      ]);
      expect(stats).toMatchObject({ hosts: 2, findingsNew: 2 });
      const shown = (await assets(t.store)).map((a) => ({
        qualysHosts: a.qualysHosts,
        externalAssetId: a.externalAssetId,
        ipAddress: a.ipAddress,
        operatingSystemName: a.operatingSystemName,
        fqdn: a.fqdn,
        identifiedBy: a.identifiedBy,
      }));
      expect(shown).toEqual([
        {
          qualysHosts: [
            { subscription: SUB_A, hostId: '1001' },
            { subscription: SUB_B, hostId: '77' },
          ],
          externalAssetId: '1001',
          ipAddress: '10.0.0.5',
          operatingSystemName: 'Windows Server 2019',
          fqdn: 'app01.corp',
          identifiedBy: 'fqdn',
        },
        {
          qualysHosts: [{ subscription: SUB_A, hostId: '2002' }],
          externalAssetId: '2002',
          ipAddress: '10.0.0.6',
          operatingSystemName: 'Ubuntu 22.04',
          fqdn: null,
          identifiedBy: 'qualysHostId',
        },
      ]);
      const [first, second] = await assets(t.store);
      expect((await findings(t.store)).map((f) => [f.assetKey, f.qualysHostId])).toEqual([
        [first.assetKey, '1001'],
        [second.assetKey, '2002'],
      ]);
    } finally {
      await t.cleanup();
    }
  });

  test('knowledge that arrives after its detections, in a later checkpoint, is theirs', async () => {
    const knowledge = recordMessage('knowledge_base', kb(91234, { TITLE: 'Windows update' }));
    const t = await tempStore();
    try {
      await sync(t.store, [flat(HOST, DETECTIONS[0]), stateMessage({ n: 1 })]);
      const [before] = await findings(t.store);
      expect(before.findingName).toBeUndefined();
      await sync(t.store, [knowledge, stateMessage({ n: 2 })]);
      const after = await findings(t.store);
      expect(after[0]).toMatchObject({
        findingName: 'Windows update',
        mitreTactics: [{ id: 'TA0002', name: 'Execution' }],
        mitreTechniques: [{ id: 'T1203', name: 'Exploitation for Client Execution' }],
      });
      const knowledgeFirst = await convertAll([
        knowledge,
        flat(HOST, DETECTIONS[0]),
        stateMessage({ n: 1 }),
      ]);
      expect(after).toEqual(knowledgeFirst.findings);
    } finally {
      await t.cleanup();
    }
  });

  test("the deletion record purges the host once, with the hosts stream's deletion or without", async () => {
    for (const deletions of [
      [flatDeletion(1001)],
      [
        flatDeletion(1001),
        hostsRecord({ subscription: SUB_A, ID: 1001, _ab_cdc_deleted_at: DELETED_AT }),
      ],
      [
        hostsRecord({ subscription: SUB_A, ID: 1001, _ab_cdc_deleted_at: DELETED_AT }),
        flatDeletion(1001),
      ],
    ]) {
      const t = await tempStore();
      try {
        await sync(t.store, [...DETECTIONS.map((d) => flat(HOST, d)), stateMessage({ n: 1 })]);
        const stats = await sync(t.store, [
          ...deletions,
          // A deletion of a host the store never held changes nothing.
          flatDeletion(4242),
          stateMessage({ n: 2 }),
        ]);
        expect(stats).toMatchObject({ hostsPurged: 1, findingsClosedByPurge: 3 });
        expect(
          (await findings(t.store)).map((f) => [f.findingStatus, f.findingLastFixedOn]),
        ).toEqual(DETECTIONS.map(() => ['FIXED', '2025-06-02T03:27:58.000Z']));
        expect((await assets(t.store)).map((a) => a.purgedAt)).toEqual([
          '2025-06-02T03:27:58.000Z',
        ]);
      } finally {
        await t.cleanup();
      }
    }
  });

  test('records it cannot read are refused, saying why', async () => {
    const t = await tempStore();
    try {
      const d = destination(t.store);
      const convert = (data: Record<string, unknown>) =>
        new Detections().convert({ stream: 'detections', data }, d.ctx);
      const key = { subscription: SUB_A, HOST_ID: 1001 };
      await expect(convert({ ...key, DETECTION_KEY: '7712093341' })).rejects.toThrow(
        `detections record for host ${SUB_A}/1001 (DETECTION_KEY '7712093341') has no QID`,
      );
      await expect(
        convert({ ...key, DETECTION_KEY: '7712093341', _ab_cdc_deleted_at: DELETED_AT }),
      ).rejects.toThrow(
        `detections deletion record for host ${SUB_A}/1001 has DETECTION_KEY '7712093341': a deletion is of a whole host ('*')`,
      );
      await expect(
        convert({ ...key, DETECTION_KEY: '*', _ab_cdc_deleted_at: 'yesterday' }),
      ).rejects.toThrow(
        `detections deletion record for host ${SUB_A}/1001: _ab_cdc_deleted_at 'yesterday' is not a date-time`,
      );
      await expect(convert({ HOST_ID: 1001, DETECTION_KEY: '*' })).rejects.toThrow(
        'detections record (HOST_ID 1001) has no subscription label',
      );
    } finally {
      await t.cleanup();
    }
  });

  test('progress counts hosts from the host streams only; detections are findings', async () => {
    const t = await tempStore();
    try {
      const seen: ConsumerProgress[] = [];
      const consumer = new SyncConsumer(destination(t.store), {
        onProgress: (p) => seen.push(p),
        progressEveryMs: 0,
      });
      await consumer.consume(
        asLines([
          recordMessage('acme__qualys__hosts', { subscription: SUB_A, ...HOST }),
          ...DETECTIONS.map((d) => flat(HOST, d)),
          flat({ ID: 2002 }, DETECTIONS[0]),
          stateMessage({ n: 1 }),
        ]),
      );
      expect(seen[seen.length - 1]).toEqual({
        records: 5,
        checkpoints: 1,
        findings: 4,
        hosts: 1,
        streams: [
          { name: 'acme__qualys__hosts', records: 1, estimate: null },
          { name: 'detections', records: 4, estimate: null },
        ],
      });
    } finally {
      await t.cleanup();
    }
  });
});
