/**
 * The QID_INFO join of a detection, built from its knowledge-base entry (KB API, details=All):
 * the names are the seed transform map's source paths (QID_INFO.qid.title, …corExploit[].vendorName),
 * DIAGNOSIS is `description` (API doc §4, "Seed mapping → KB field").
 */
import { KnowledgeBaseRecord, QidInfo } from '../records';
import { SharedJson } from '../shared-json';

/** One per QID, shared by every detection of it: serialized once per sync (record-output). */
class SharedQidInfo extends SharedJson implements QidInfo {
  constructor(
    readonly qid: QidInfo['qid'],
    readonly corExploit: QidInfo['corExploit'],
  ) {
    super();
  }
}

/** The threat-intelligence tags of a KB entry (the values of THREAT_INTELLIGENCE). */
export function threatIntelOf(record: KnowledgeBaseRecord): string[] {
  return (record.THREAT_INTELLIGENCE ?? []).flatMap((t) => (t.value ? [t.value] : []));
}

/** CVSS v2 access vector letters in VECTOR_STRING → Qualys' numeric ACCESS/VECTOR codes. */
const ACCESS_VECTOR_CODES: Record<string, number> = { L: 1, A: 2, N: 3 };

export function qidInfoOf(record: KnowledgeBaseRecord): QidInfo {
  // Kept for the whole sync: copy its texts out of the KB response they were sliced from, which
  // would otherwise stay in memory with them.
  const kb = JSON.parse(JSON.stringify(record)) as KnowledgeBaseRecord;
  const cvss = kb.CVSS;
  const cvss3 = kb.CVSS_V3;
  return new SharedQidInfo(
    {
      qid: kb.QID,
      title: kb.TITLE,
      description: kb.DIAGNOSIS,
      consequence: kb.CONSEQUENCE,
      solution: kb.SOLUTION,
      cvssBase: cvss?.BASE,
      cvssTemporal: cvss?.TEMPORAL,
      cvss3Base: cvss3?.BASE,
      cvss3Temporal: cvss3?.TEMPORAL,
      cvssAccessVector: cvss?.ACCESS?.VECTOR ?? accessVectorOf(cvss?.VECTOR_STRING),
      patchExist: kb.PATCHABLE,
      cveId: (kb.CVE_LIST ?? []).flatMap((cve) => (cve.ID ? [cve.ID] : [])),
      category: kb.CATEGORY,
      vulnType: kb.VULN_TYPE,
      severityLevel: kb.SEVERITY_LEVEL,
      threatIntel: threatIntelOf(kb),
      publishedDate: kb.PUBLISHED_DATETIME,
      lastServiceModified: kb.LAST_SERVICE_MODIFICATION_DATETIME,
    },
    (kb.CORRELATION?.EXPLOITS ?? []).map((source) => ({
      vendorName: source.SRC_NAME,
      exploits: (source.EXPLT_LIST ?? []).map((e) => ({
        ref: e.REF,
        description: e.DESC,
        link: e.LINK,
      })),
    })),
  );
}

/** "CVSS:2.0/AV:N/AC:M/…" → 3 when ACCESS/VECTOR is absent. */
function accessVectorOf(vector: string | undefined): number | undefined {
  const letter = vector?.match(/(?:^|\/)AV:([LAN])/)?.[1];
  return letter ? ACCESS_VECTOR_CODES[letter] : undefined;
}
