import { KnowledgeBase } from '../../src/etm/converters/knowledge-base';
import {
  convertAll,
  destination,
  detection,
  detectionsRecord,
  host,
  recordMessage,
  SUB_A,
  tempStore,
  onEachEngine,
} from './helpers';

const KB = {
  subscription: SUB_A,
  QID: 91234,
  TITLE: 'Microsoft Windows Security Update (revised)',
  LAST_SERVICE_MODIFICATION_DATETIME: '2025-03-14T08:00:00Z',
  PATCHABLE: true,
  CVE_LIST: [{ ID: 'CVE-2025-00001' }, { ID: 'CVE-2025-00003' }],
  DIAGNOSIS: ' Revised diagnosis. ',
  CONSEQUENCE: 'Remote code execution.',
  SOLUTION: 'Apply KB5034127 or later.',
  CORRELATION: { EXPLOITS: [{ SRC_NAME: 'Metasploit', EXPLT_LIST: [] }] },
  CVSS: { BASE: 9.3, TEMPORAL: 8.1, VECTOR_STRING: 'CVSS:2.0/AV:N/AC:M/Au:N/C:C/I:C/A:C' },
  CVSS_V3: { BASE: 8.8, TEMPORAL: 8.4 },
};

const withMitre = (extra: Record<string, unknown> = {}) =>
  detection({ MITRE_TACTIC_ID: ['TA0002'], MITRE_TACTIC_NAME: ['Execution'], ...extra });

onEachEngine('knowledge_base stream', () => {
  test('emits one etm_Vulnerability with the per-QID attributes its join covers', async () => {
    const t = await tempStore();
    try {
      const d = destination(t.store);
      const out = await new KnowledgeBase().convert({ stream: 'knowledge_base', data: KB }, d.ctx);
      expect(out).toEqual([
        {
          model: 'etm_Vulnerability',
          record: {
            vulnerabilityKey: '91234',
            version: '2025-03-14T08:00:00.000Z',
            sourceVulnerabilityId: '91234',
            findingName: 'Microsoft Windows Security Update (revised)',
            cvss2Temporal: 8.1,
            cvssV2Base: 9.3,
            cvss3Base: 8.8,
            cvss3Temporal: 8.4,
            exploitedByList: ['Metasploit'],
            findingDescription: 'Revised diagnosis.',
            impact: 'Remote code execution.',
            isPatchAvailable: true,
            recommendation: 'Apply KB5034127 or later.',
            // No ACCESS/VECTOR: read from the vector string, as the source's join does.
            vector: 'NETWORK',
            cveId: ['CVE-2025-00001', 'CVE-2025-00003'],
          },
        },
      ]);
    } finally {
      await t.cleanup();
    }
  });

  test('refreshes the text of every finding of that QID and keeps their MITRE mapping', async () => {
    const { findings } = await convertAll([
      detectionsRecord(host({ ID: 1, VULNERABILITIES: [withMitre()] })),
      detectionsRecord(
        host({ ID: 2, VULNERABILITIES: [withMitre({ PORT: 443, PROTOCOL: 'tcp' })] }),
      ),
      recordMessage('knowledge_base', KB),
    ]);
    expect(findings).toHaveLength(2);
    for (const f of findings) {
      expect(f).toMatchObject({
        findingName: 'Microsoft Windows Security Update (revised)',
        findingDescription: 'Revised diagnosis.',
        cveId: ['CVE-2025-00001', 'CVE-2025-00003'],
        mitreTactics: [{ id: 'TA0002', name: 'Execution' }],
        findingStatus: 'ACTIVE',
      });
    }
  });

  test('older knowledge never replaces newer, whichever stream brings it', async () => {
    const stale = {
      ...KB,
      TITLE: 'Stale title',
      LAST_SERVICE_MODIFICATION_DATETIME: '2024-01-01T00:00:00Z',
    };
    const { findings } = await convertAll([
      recordMessage('knowledge_base', KB),
      detectionsRecord(host({ VULNERABILITIES: [withMitre()] })),
      recordMessage('acme__qualys__knowledge_base', stale),
    ]);
    // The detection's QID_INFO (2025-02-27) and the stale KB record are both older than the KB's.
    expect(findings[0].findingName).toBe('Microsoft Windows Security Update (revised)');
    expect(findings[0].mitreTactics).toEqual([{ id: 'TA0002', name: 'Execution' }]);
  });

  test('a KB record without a QID is refused', async () => {
    const t = await tempStore();
    try {
      const d = destination(t.store);
      await expect(
        new KnowledgeBase().convert(
          { stream: 'knowledge_base', data: { subscription: SUB_A } },
          d.ctx,
        ),
      ).rejects.toThrow(/knowledge_base record from subscription .* has no QID/);
    } finally {
      await t.cleanup();
    }
  });
});
