import { compressIds, nextPageIdMin, subtractIntervals } from '../../src/qualys/lists';
import { attackMappingOf } from '../../src/qualys/mitre';
import { qidInfoOf } from '../../src/qualys/qid-info';
import { KnowledgeBaseRecord } from '../../src/records';

describe('list helpers', () => {
  it('compress QIDs into Qualys id lists', () => {
    expect(compressIds([9, 3, 4, 5, 1, 4])).toBe('1,3-5,9');
    expect(compressIds([42])).toBe('42');
  });

  it('subtract finished ranges from a listed ID range', () => {
    const done: [number, number][] = [
      [10, 20],
      [25, 25],
      [40, 60],
    ];
    expect(subtractIntervals(1, 100, done)).toEqual([
      [1, 9],
      [21, 24],
      [26, 39],
      [61, 100],
    ]);
    expect(subtractIntervals(12, 18, done)).toEqual([]);
    expect(subtractIntervals(18, 30, done)).toEqual([
      [21, 24],
      [26, 30],
    ]);
    expect(subtractIntervals(61, 70, done)).toEqual([[61, 70]]);
    expect(subtractIntervals(5, 8, [])).toEqual([[5, 8]]);
  });

  it('take id_min from a WARNING URL', () => {
    expect(
      nextPageIdMin(
        'https://qualysapi.qg2.apps.qualys.com/api/4.0/fo/asset/host/vm/detection/?action=list&truncation_limit=2&id_min=148312058',
      ),
    ).toBe(148312058);
    expect(nextPageIdMin('https://x/?action=list')).toBeUndefined();
    expect(nextPageIdMin(undefined)).toBeUndefined();
  });
});

describe('QID_INFO and ATT&CK', () => {
  const kb: KnowledgeBaseRecord = {
    subscription: 's',
    QID: 91234,
    VULN_TYPE: 'Vulnerability',
    SEVERITY_LEVEL: 5,
    TITLE: 'Microsoft Windows Security Update',
    CATEGORY: 'Windows',
    PATCHABLE: true,
    PUBLISHED_DATETIME: '2025-01-14T19:00:00Z',
    LAST_SERVICE_MODIFICATION_DATETIME: '2025-02-27T10:14:02Z',
    CVE_LIST: [{ ID: 'CVE-2025-00001' }, { ID: 'CVE-2025-00002' }],
    DIAGNOSIS: 'diagnosis',
    CONSEQUENCE: 'consequence',
    SOLUTION: 'solution',
    CORRELATION: {
      EXPLOITS: [
        { SRC_NAME: 'The Exploit-DB', EXPLT_LIST: [{ REF: 'CVE-2025-00001', DESC: 'PoC' }] },
      ],
    },
    CVSS: { BASE: 9.3, TEMPORAL: 7.7, VECTOR_STRING: 'CVSS:2.0/AV:A/AC:M' },
    CVSS_V3: { BASE: 8.8, TEMPORAL: 8.2 },
    THREAT_INTELLIGENCE: [
      { id: '2', value: 'Exploit_Public' },
      { id: '15', value: 'Remote_Code_Execution' },
      { id: '13', value: 'Privilege_Escalation' },
    ],
  };

  it('joins the KB entry under the transform map names (DIAGNOSIS is description)', () => {
    expect(qidInfoOf(kb)).toEqual({
      qid: {
        qid: 91234,
        title: 'Microsoft Windows Security Update',
        description: 'diagnosis',
        consequence: 'consequence',
        solution: 'solution',
        cvssBase: 9.3,
        cvssTemporal: 7.7,
        cvss3Base: 8.8,
        cvss3Temporal: 8.2,
        cvssAccessVector: 2,
        patchExist: true,
        cveId: ['CVE-2025-00001', 'CVE-2025-00002'],
        category: 'Windows',
        vulnType: 'Vulnerability',
        severityLevel: 5,
        threatIntel: ['Exploit_Public', 'Remote_Code_Execution', 'Privilege_Escalation'],
        publishedDate: '2025-01-14T19:00:00Z',
        lastServiceModified: '2025-02-27T10:14:02Z',
      },
      corExploit: [
        {
          vendorName: 'The Exploit-DB',
          exploits: [{ ref: 'CVE-2025-00001', description: 'PoC', link: undefined }],
        },
      ],
    });
  });

  it('maps threat intelligence and category to parallel ATT&CK arrays', () => {
    expect(
      attackMappingOf(
        ['Exploit_Public', 'Remote_Code_Execution', 'Privilege_Escalation'],
        'Windows',
      ),
    ).toEqual({
      MITRE_TACTIC_ID: ['TA0001', 'TA0002', 'TA0004'],
      MITRE_TACTIC_NAME: ['Initial Access', 'Execution', 'Privilege Escalation'],
      MITRE_TECHNIQUE_ID: ['T1190', 'T1203', 'T1068'],
      MITRE_TECHNIQUE_NAME: [
        'Exploit Public-Facing Application',
        'Exploitation for Client Execution',
        'Exploitation for Privilege Escalation',
      ],
    });
    expect(
      attackMappingOf(['Unauthenticated_Exploitation'], 'Web Application').MITRE_TECHNIQUE_ID,
    ).toEqual(['T1190']);
    expect(attackMappingOf([], 'Windows').MITRE_TACTIC_ID).toEqual([]);
  });
});
