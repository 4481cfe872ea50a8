import fs from 'fs';
import path from 'path';

import { loadTransformMap, parseTransformMap } from '../../src/etm/transform-map';
import {
  convertAll,
  detection,
  detectionsRecord,
  host,
  hostsRecord,
  SUB_A,
  tempDir,
  onEachEngine,
} from './helpers';

/** The seed's Data Model Map, row for row (source → the label the seed prints). */
const SEED = [
  ['ID', 'externalAssetId'],
  ['VULNERABILITIES[].QID_INFO.qid.title', 'findingName'],
  ['VULNERABILITIES[].UNIQUE_VULN_ID', 'externalFindingId'],
  ['VULNERABILITIES[].SEVERITY', 'findingSeverity'],
  ['DNS_DATA.HOSTNAME', 'assetName'],
  ['CLOUD_RESOURCE_ID', 'cloudInstanceId'],
  ['CLOUD_PROVIDER', 'cloudProvider'],
  ['VULNERABILITIES[].QID_INFO.qid.cvssTemporal', 'cvss2Temporal'],
  ['VULNERABILITIES[].QID_INFO.qid.cvssBase', 'cvssV2Base'],
  ['VULNERABILITIES[].QID_INFO.qid.cvss3Base', 'cvss3Base'],
  ['VULNERABILITIES[].QID_INFO.qid.cvss3Temporal', 'cvss3Temporal'],
  ['VULNERABILITIES[].QDS.value', 'detectionScore'],
  ['VULNERABILITIES[].QID_INFO.corExploit[].vendorName', 'exploitedByList'],
  ['VULNERABILITIES[].QID_INFO.qid.description', 'findingDescription'],
  ['VULNERABILITIES[].FIRST_FOUND_DATETIME', 'findingFirstFoundOn'],
  ['VULNERABILITIES[].LAST_FOUND_DATETIME', 'findingLastFoundOn'],
  ['VULNERABILITIES[].PORT', 'findingPort'],
  ['VULNERABILITIES[].PROTOCOL', 'findingProtocol'],
  ['VULNERABILITIES[].FIRST_REOPENED_DATETIME', 'findingReopenedOn'],
  ['VULNERABILITIES[].STATUS', 'findingStatus'],
  ['VULNERABILITIES[].TYPE', 'findingSubType'],
  ['DNS_DATA.FQDN', 'fqdn'],
  ['VULNERABILITIES[].IS_IGNORED', 'ignoreFinding'],
  ['VULNERABILITIES[].QID_INFO.qid.consequence', 'impact'],
  ['IP', 'ipAddress'],
  ['VULNERABILITIES[].QID_INFO.qid.patchExist', 'isPatchAvailable'],
  ['NETBIOS', 'netBiosName'],
  ['OS', 'operatingSystemName'],
  ['VULNERABILITIES[].QID_INFO.qid.solution', 'recommendation'],
  ['VULNERABILITIES[].QID', 'sourceVulnerabilityId'],
  ['VULNERABILITIES[].QID_INFO.qid.cvssAccessVector', 'vector'],
  ['VULNERABILITIES[].MITRE_TACTIC_ID', 'id'],
  ['VULNERABILITIES[].MITRE_TACTIC_NAME', 'name'],
  ['VULNERABILITIES[].MITRE_TECHNIQUE_ID', 'id'],
  ['VULNERABILITIES[].MITRE_TECHNIQUE_NAME', 'name'],
  ['VULNERABILITIES[].QID_INFO.qid.cveId', 'cveId'],
];

const DEFAULT_DOC = JSON.parse(
  fs.readFileSync(
    path.resolve(__dirname, '../../resources/transform-maps/vmdr-to-etm.json'),
    'utf8',
  ),
);

/** A host_detections record with a distinct value under every source path of the map. */
const RICH_HOST = host({
  ID: 148312001,
  IP: '10.20.30.41',
  DNS_DATA: { HOSTNAME: ' app01 ', DOMAIN: 'corp.example.com', FQDN: 'app01.corp.example.com' },
  NETBIOS: 'APP01',
  OS: 'Windows Server 2019',
  CLOUD_PROVIDER: 'AWS',
  CLOUD_RESOURCE_ID: 'i-0a1b2c3d4e5f60718',
  TAGS: [{ TAG_ID: 1, NAME: 'Production' }, { NAME: 'Windows' }],
  LAST_SCAN_DATETIME: '2025-03-13T22:41:07Z',
  VULNERABILITIES: [
    detection({
      UNIQUE_VULN_ID: 7712093388,
      QID: 38794,
      TYPE: 'Potential',
      SEVERITY: 3,
      PORT: 443,
      PROTOCOL: 'TCP',
      SSL: true,
      STATUS: 'Re-Opened',
      FIRST_FOUND_DATETIME: '2025-01-02T03:04:05Z',
      LAST_FOUND_DATETIME: '2025-03-13T22:18:40Z',
      FIRST_REOPENED_DATETIME: '2025-03-01T00:00:00Z',
      QDS: { severity: 'MEDIUM', value: 45 },
      IS_IGNORED: true,
      QID_INFO: {
        qid: {
          qid: 38794,
          title: ' SSL/TLS Server supports TLSv1.1 ',
          description: 'The server supports TLSv1.1.',
          consequence: 'Downgrade attacks.',
          solution: 'Disable TLSv1.1.',
          cvssBase: 4.3,
          cvssTemporal: 3.8,
          cvss3Base: 5.3,
          cvss3Temporal: 4.8,
          cvssAccessVector: 2,
          patchExist: false,
          cveId: ['CVE-2011-3389', 'CVE-2011-3389', 'CVE-2015-0204'],
          threatIntel: [],
        },
        corExploit: [
          { vendorName: 'Metasploit', exploits: [] },
          { vendorName: 'The Exploit-DB', exploits: [] },
        ],
      },
      MITRE_TACTIC_ID: ['TA0006'],
      MITRE_TACTIC_NAME: ['Credential Access'],
      MITRE_TECHNIQUE_ID: ['T1557', 'T1040'],
      MITRE_TECHNIQUE_NAME: ['Adversary-in-the-Middle', 'Network Sniffing'],
    }),
  ],
});

/** Every row of the default map: target → what the rich record must give. */
const EXPECTED: Record<string, unknown> = {
  externalAssetId: '148312001',
  assetName: 'app01',
  cloudInstanceId: 'i-0a1b2c3d4e5f60718',
  cloudProvider: 'AWS',
  fqdn: 'app01.corp.example.com',
  ipAddress: '10.20.30.41',
  netBiosName: 'APP01',
  operatingSystemName: 'Windows Server 2019',
  tags: ['Production', 'Windows'],
  assetCriticalityScore: 4,
  vendorTruRiskScore: 612,
  lastScannedOn: '2025-03-13T22:41:07.000Z',
  findingName: 'SSL/TLS Server supports TLSv1.1',
  externalFindingId: '7712093388',
  findingSeverity: 3,
  cvss2Temporal: 3.8,
  cvssV2Base: 4.3,
  cvss3Base: 5.3,
  cvss3Temporal: 4.8,
  detectionScore: 45,
  exploitedByList: ['Metasploit', 'The Exploit-DB'],
  findingDescription: 'The server supports TLSv1.1.',
  findingFirstFoundOn: '2025-01-02T03:04:05.000Z',
  findingLastFoundOn: '2025-03-13T22:18:40.000Z',
  findingPort: 443,
  findingProtocol: 'tcp',
  findingReopenedOn: '2025-03-01T00:00:00.000Z',
  findingStatus: 'REOPENED',
  findingSubType: 'POTENTIAL',
  ignoreFinding: true,
  impact: 'Downgrade attacks.',
  isPatchAvailable: false,
  recommendation: 'Disable TLSv1.1.',
  sourceVulnerabilityId: '38794',
  vector: 'ADJACENT_NETWORK',
  cveId: ['CVE-2011-3389', 'CVE-2015-0204'],
  mitreTactics: [{ id: 'TA0006', name: 'Credential Access' }],
  mitreTechniques: [
    { id: 'T1557', name: 'Adversary-in-the-Middle' },
    { id: 'T1040', name: 'Network Sniffing' },
  ],
};

async function convertRich(transformMap?: string) {
  const hostList = hostsRecord({
    subscription: SUB_A,
    ID: 148312001,
    ASSET_CRITICALITY_SCORE: 4,
    TRURISK_SCORE: 612,
    LAST_VULN_SCAN_DATETIME: '2025-03-13T22:41:07Z',
  });
  return convertAll([hostList, detectionsRecord(RICH_HOST)], { transformMap });
}

function writeMap(doc: unknown): string {
  const file = path.join(tempDir('etm-map-'), 'user-map.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

onEachEngine('default transform map', () => {
  test("holds the seed's Data Model Map row for row, in order", () => {
    const seedRows = DEFAULT_DOC.rows.filter((r: { origin: string }) => r.origin === 'seed');
    expect(seedRows).toHaveLength(SEED.length);
    seedRows.forEach((row: { source: string; target: string }, i: number) => {
      const [source, label] = SEED[i];
      expect(row.source).toBe(source);
      // The MITRE rows' bare id/name become fields of mitreTactics[] / mitreTechniques[].
      expect(row.target === label || row.target.endsWith(`[].${label}`)).toBe(true);
    });
    expect(seedRows.slice(31, 35).map((r: { target: string }) => r.target)).toEqual([
      'mitreTactics[].id',
      'mitreTactics[].name',
      'mitreTechniques[].id',
      'mitreTechniques[].name',
    ]);
  });

  test('loads: VULNERABILITIES[] rows map findings, the others assets', () => {
    const map = loadTransformMap();
    for (const row of map.rows) {
      const detectionPath = row.sources[0].text.startsWith('VULNERABILITIES[]');
      expect(row.model).toBe(detectionPath ? 'etm_Finding' : 'etm_Asset');
    }
  });

  test('every row maps its source to its target through its normaliser', async () => {
    const { assets, findings } = await convertRich();
    expect(assets).toHaveLength(1);
    expect(findings).toHaveLength(1);
    const merged = { ...assets[0], ...findings[0] };
    const targets = new Set(loadTransformMap().rows.map((r) => r.attribute));
    expect([...targets].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [target, value] of Object.entries(EXPECTED)) {
      expect({ target, value: merged[target] }).toEqual({ target, value });
    }
  });

  test('missing source values give null, never "undefined"', async () => {
    const { assets, findings } = await convertAll([
      detectionsRecord(host({ VULNERABILITIES: [{ QID: 11 }] })),
    ]);
    const merged = { ...assets[0], ...findings[0] };
    for (const target of Object.keys(EXPECTED)) {
      if (target === 'externalAssetId' || target === 'sourceVulnerabilityId') continue;
      expect({ target, value: merged[target] }).toEqual({ target, value: null });
    }
    expect(JSON.stringify(merged)).not.toContain('undefined');
  });
});

onEachEngine('user transform maps', () => {
  test('override a row, drop a row, add a row', async () => {
    const file = writeMap({
      name: 'custom',
      rows: [
        { source: 'DNS', target: 'assetName', normaliser: 'text' },
        { target: 'impact', drop: true },
        { source: 'VULNERABILITIES[].RESULTS', target: 'findingResults', normaliser: 'text' },
        { source: 'TRACKING_METHOD', target: 'trackingMethod', normaliser: 'lowercase' },
      ],
    });
    const { assets, findings } = await convertAll(
      [
        detectionsRecord(
          host({
            DNS: 'app01.corp.example.com',
            DNS_DATA: { HOSTNAME: 'app01' },
            TRACKING_METHOD: 'AGENT',
            VULNERABILITIES: [detection({ RESULTS: 'KB5034127 is not installed' })],
          }),
        ),
      ],
      { transformMap: file },
    );
    expect(assets[0].assetName).toBe('app01.corp.example.com');
    expect(assets[0].trackingMethod).toBe('agent');
    expect(findings[0]).not.toHaveProperty('impact');
    expect(findings[0].findingResults).toBe('KB5034127 is not installed');
    expect(findings[0].findingName).toBe('QID 91234');
  });

  const refused: [string, unknown, RegExp][] = [
    [
      'an unknown target attribute',
      { source: 'IP', target: 'ipAddres', normaliser: 'text' },
      /user-map\.json row 2 .*unknown target attribute 'ipAddres' of etm_Asset/,
    ],
    [
      'a finding attribute fed from a host path',
      { source: 'QID', target: 'findingName', normaliser: 'text' },
      /row 2 .*unknown target attribute 'findingName' of etm_Asset \(findingName is an etm_Finding attribute; its source must start with VULNERABILITIES\[\]\)/,
    ],
    [
      'an empty path segment',
      { source: 'DNS_DATA..FQDN', target: 'fqdn', normaliser: 'text' },
      /row 2 .*malformed source path 'DNS_DATA\.\.FQDN'/,
    ],
    [
      'a bad element name',
      { source: 'DNS-DATA.FQDN', target: 'fqdn', normaliser: 'text' },
      /row 2 .*malformed source path/,
    ],
    [
      'an unclosed list',
      { source: 'TAGS[.NAME', target: 'tags', normaliser: 'uniqueStrings' },
      /row 2 .*malformed source path/,
    ],
    [
      'VULNERABILITIES without []',
      { source: 'VULNERABILITIES.QID', target: 'sourceVulnerabilityId', normaliser: 'text' },
      /row 2 .*malformed source path 'VULNERABILITIES\.QID': VULNERABILITIES is a list, write VULNERABILITIES\[\]/,
    ],
    [
      'a detection path naming no field',
      { source: 'VULNERABILITIES[]', target: 'findingName', normaliser: 'text' },
      /row 2 .*name a field of the detection/,
    ],
    [
      'a non-string path',
      { source: 42, target: 'fqdn', normaliser: 'text' },
      /row 2 .*malformed source path 42/,
    ],
    [
      'a normaliser of the wrong type',
      { source: 'VULNERABILITIES[].SEVERITY', target: 'findingSeverity', normaliser: 'text' },
      /row 2 .*normaliser 'text' produces string but findingSeverity is integer/,
    ],
    [
      'an unknown normaliser',
      { source: 'IP', target: 'ipAddress', normaliser: 'ip' },
      /row 2 .*unknown normaliser 'ip'/,
    ],
    [
      'a computed attribute',
      { source: 'ID', target: 'assetKey', normaliser: 'text' },
      /row 2 .*etm_Asset\.assetKey is computed by the destination/,
    ],
    [
      'a list into a one-value normaliser',
      { source: 'TAGS[].NAME', target: 'assetName', normaliser: 'text' },
      /row 2 .*the source yields a list but 'text' takes one value/,
    ],
    [
      'a bare object-list target',
      { source: 'VULNERABILITIES[].MITRE_TACTIC_ID', target: 'mitreTactics', normaliser: 'text' },
      /row 2 .*mitreTactics is a list of \{id, name\}; target one field as mitreTactics\[\]\.<field>/,
    ],
    [
      'a misspelt key',
      { source: 'IP', target: 'ipAddress', normalizer: 'text' },
      /row 2: unknown key 'normalizer'/,
    ],
    [
      'dropping a target the default does not map',
      { target: 'findingResults', drop: true },
      /row 2: drops target 'findingResults'/,
    ],
  ];

  test.each(refused)('refuses %s, naming the row', (_what, row, message) => {
    const file = writeMap({
      rows: [{ source: 'OS', target: 'operatingSystemName', normaliser: 'text' }, row],
    });
    expect(() => loadTransformMap(file)).toThrow(message);
  });

  test('refuses a duplicate target, naming both rows', () => {
    const file = writeMap({
      rows: [
        { source: 'IP', target: 'ipAddress', normaliser: 'text' },
        { source: 'IPV6', target: 'ipAddress', normaliser: 'text' },
      ],
    });
    expect(() => loadTransformMap(file)).toThrow(
      /user-map\.json row 2.*duplicate target 'ipAddress' \(already mapped by row 1\)/,
    );
  });

  test('the MITRE rows are distinct targets, not duplicates', () => {
    expect(() =>
      parseTransformMap(
        {
          rows: [
            {
              source: 'VULNERABILITIES[].MITRE_TACTIC_ID',
              target: 'mitreTactics[].id',
              normaliser: 'text',
            },
            {
              source: 'VULNERABILITIES[].MITRE_TACTIC_NAME',
              target: 'mitreTactics[].name',
              normaliser: 'text',
            },
          ],
        },
        'm.json',
      ),
    ).not.toThrow();
  });

  test('refuses a file that is not a map', () => {
    expect(() => loadTransformMap(writeMap({ mappings: [] }))).toThrow(
      /expected an object with a "rows" array/,
    );
    expect(() => loadTransformMap('/nonexistent/map.json')).toThrow(
      /cannot read transform map \/nonexistent\/map\.json/,
    );
  });
});
