import {
  convertAll,
  consume,
  detection,
  detectionsRecord,
  findings,
  host,
  stateMessage,
  SUB_A,
  SUB_B,
  tempStore,
  onEachEngine,
} from './helpers';

const onA = (vulns: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  host({
    subscription: SUB_A,
    ID: 1,
    DNS_DATA: { FQDN: 'app01.corp' },
    VULNERABILITIES: vulns,
    ...extra,
  });
const onB = (vulns: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  host({
    subscription: SUB_B,
    ID: 77,
    DNS_DATA: { FQDN: 'APP01.corp' },
    VULNERABILITIES: vulns,
    ...extra,
  });

onEachEngine('finding deduplication', () => {
  test('the same finding from two subscriptions is one record; the latest LAST_FOUND wins', async () => {
    const { assets, findings } = await convertAll([
      detectionsRecord(
        onA([detection({ STATUS: 'Active', LAST_FOUND_DATETIME: '2025-03-14T09:00:00Z' })]),
      ),
      detectionsRecord(
        onB([detection({ STATUS: 'Fixed', LAST_FOUND_DATETIME: '2025-03-10T09:00:00Z' })]),
      ),
    ]);
    expect(assets).toHaveLength(1);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      subscription: SUB_A,
      qualysHostId: '1',
      findingStatus: 'ACTIVE',
      findingLastFoundOn: '2025-03-14T09:00:00.000Z',
    });
  });

  test('which report wins does not depend on arrival order', async () => {
    const a = detectionsRecord(
      onA([detection({ LAST_FOUND_DATETIME: '2025-03-14T09:00:00Z', STATUS: 'New' })]),
    );
    const b = detectionsRecord(
      onB([detection({ LAST_FOUND_DATETIME: '2025-03-14T09:00:00Z', STATUS: 'Active' })]),
    );
    const one = await convertAll([a, b]);
    const other = await convertAll([b, a]);
    // Asset keys come from the host that founded the asset; everything else must agree.
    const unkeyed = (fs: Record<string, unknown>[]) =>
      fs.map(({ assetKey: _a, findingKey: _f, ...rest }) => rest);
    expect(unkeyed(one.findings)).toEqual(unkeyed(other.findings));
    // A tie on LAST_FOUND goes to the first subscription by name.
    expect(one.findings[0].subscription).toBe(SUB_A);
  });

  test('the same finding in two syncs is one record; the later report updates it', async () => {
    const t = await tempStore();
    try {
      await consume(t.store, [
        detectionsRecord(onA([detection({ STATUS: 'Active' })])),
        stateMessage({ n: 1 }),
      ]);
      const fixed = detection({ STATUS: 'Fixed', LAST_FOUND_DATETIME: '2025-03-13T22:18:40Z' });
      await consume(t.store, [detectionsRecord(onA([fixed])), stateMessage({ n: 2 })]);
      const [only, ...rest] = await findings(t.store);
      expect(rest).toHaveLength(0);
      // Same LAST_FOUND, new status: Qualys keeps LAST_FOUND when a detection is fixed.
      expect(only.findingStatus).toBe('FIXED');
    } finally {
      await t.cleanup();
    }
  });

  test('an older report replayed by an overlapping sync changes nothing', async () => {
    const t = await tempStore();
    try {
      const newer = detection({ STATUS: 'Fixed', LAST_FOUND_DATETIME: '2025-03-20T00:00:00Z' });
      const older = detection({ STATUS: 'Active', LAST_FOUND_DATETIME: '2025-03-01T00:00:00Z' });
      await consume(t.store, [detectionsRecord(onA([newer])), stateMessage({ n: 1 })]);
      await consume(t.store, [detectionsRecord(onA([older])), stateMessage({ n: 2 })]);
      expect(await findings(t.store)).toMatchObject([
        { findingStatus: 'FIXED', findingLastFoundOn: '2025-03-20T00:00:00.000Z' },
      ]);
    } finally {
      await t.cleanup();
    }
  });

  test('never merges across ports, protocols, SSL, FQDN or instance', async () => {
    const { findings } = await convertAll([
      detectionsRecord(
        onA([
          detection({ QID: 38794, PORT: 443, PROTOCOL: 'tcp', SSL: true }),
          detection({ QID: 38794, PORT: 8443, PROTOCOL: 'tcp', SSL: true }),
          detection({ QID: 38794, PORT: 443, PROTOCOL: 'udp', SSL: true }),
          detection({ QID: 38794, PORT: 443, PROTOCOL: 'tcp', SSL: false }),
          detection({ QID: 38794, PORT: 443, PROTOCOL: 'tcp', SSL: true, FQDN: 'vhost.corp' }),
          detection({ QID: 19832, INSTANCE: 'oracle11:1:1521' }),
          detection({ QID: 19832, INSTANCE: 'oracle12:1:1522' }),
          detection({ QID: 19832 }),
        ]),
      ),
    ]);
    expect(findings.map((f) => (f.findingKey as string).replace(/^vmdr-[0-9a-f]+\//, ''))).toEqual([
      '19832///0//',
      '19832///0//oracle11%3A1%3A1521',
      '19832///0//oracle12%3A1%3A1522',
      '38794/443/tcp/0//',
      '38794/443/tcp/1//',
      '38794/443/tcp/1/vhost.corp/',
      '38794/443/udp/1//',
      '38794/8443/tcp/1//',
    ]);
  });

  test('protocol and detection FQDN compare without case', async () => {
    const { findings } = await convertAll([
      detectionsRecord(
        onA([
          detection({
            PORT: 443,
            PROTOCOL: 'TCP',
            FQDN: 'VHost.corp',
            LAST_FOUND_DATETIME: '2025-03-01T00:00:00Z',
          }),
          detection({
            PORT: 443,
            PROTOCOL: 'tcp',
            FQDN: 'vhost.corp',
            LAST_FOUND_DATETIME: '2025-03-02T00:00:00Z',
          }),
        ]),
      ),
    ]);
    expect(findings).toHaveLength(1);
    expect(findings[0].findingLastFoundOn).toBe('2025-03-02T00:00:00.000Z');
  });

  test('findings of a QID on different assets stay separate', async () => {
    const { findings } = await convertAll([
      detectionsRecord(host({ ID: 1, VULNERABILITIES: [detection()] })),
      detectionsRecord(host({ ID: 2, VULNERABILITIES: [detection()] })),
    ]);
    expect(findings).toHaveLength(2);
  });
});
