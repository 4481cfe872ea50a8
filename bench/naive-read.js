/**
 * The naive baseline of bench/read: what most Qualys integrations do (field lessons). Pages of the
 * Host List Detection API one after the other (following the WARNING's id_min), each fetched whole
 * as text, parsed with fast-xml-parser into objects; unknown QIDs of the page fetched from the KB
 * the same way; then every host emitted as an Airbyte RECORD with QID_INFO on each detection.
 * Usage: node bench/naive-read.js BASE_URL USERNAME PASSWORD PAGE_SIZE > /dev/null
 */
const axios = require('axios');
const { XMLParser } = require('fast-xml-parser');

const [baseURL, username, password, pageSize] = process.argv.slice(2);
const http = axios.create({
  baseURL,
  auth: { username, password },
  headers: {
    'X-Requested-With': 'naive-bench',
    'Content-Type': 'application/x-www-form-urlencoded',
  },
  responseType: 'text',
  timeout: 600_000,
});
const ARRAYS = new Set([
  'HOST',
  'DETECTION',
  'TAG',
  'QDS_FACTOR',
  'VULN',
  'CVE',
  'EXPLT_SRC',
  'THREAT_INTEL',
]);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  textNodeName: 'value',
  isArray: (name) => ARRAYS.has(name),
});

async function list(path, params) {
  const { data } = await http.post(
    path,
    new URLSearchParams({ action: 'list', ...params }).toString(),
  );
  return parser.parse(data);
}

function qidInfoOf(vuln) {
  return {
    qid: {
      qid: vuln.QID,
      title: vuln.TITLE,
      description: vuln.DIAGNOSIS,
      consequence: vuln.CONSEQUENCE,
      solution: vuln.SOLUTION,
      cvssBase: vuln.CVSS?.BASE,
      cvssTemporal: vuln.CVSS?.TEMPORAL,
      cvss3Base: vuln.CVSS_V3?.BASE,
      cvss3Temporal: vuln.CVSS_V3?.TEMPORAL,
      cvssAccessVector: vuln.CVSS?.ACCESS?.VECTOR,
      patchExist: vuln.PATCHABLE === 1,
      cveId: (vuln.CVE_LIST?.CVE ?? []).map((c) => c.ID),
      category: vuln.CATEGORY,
      vulnType: vuln.VULN_TYPE,
      severityLevel: vuln.SEVERITY_LEVEL,
      threatIntel: (vuln.THREAT_INTELLIGENCE?.THREAT_INTEL ?? []).map((t) => t.value),
    },
    corExploit: (vuln.CORRELATION?.EXPLOITS?.EXPLT_SRC ?? []).map((s) => ({
      vendorName: s.SRC_NAME,
    })),
  };
}

async function main() {
  const kb = new Map();
  let idMin;
  for (;;) {
    const params = {
      truncation_limit: pageSize,
      show_qds: '1',
      show_qds_factors: '1',
      show_reopened_info: '1',
      show_tags: '1',
      show_asset_id: '1',
      status: 'New,Active,Re-Opened,Fixed',
    };
    if (idMin) params.id_min = idMin;
    const page = await list('/api/4.0/fo/asset/host/vm/detection/', params);
    const response = page.HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE;
    const hosts = response.HOST_LIST?.HOST ?? [];
    const unknown = new Set();
    for (const host of hosts) {
      for (const d of host.DETECTION_LIST.DETECTION) if (!kb.has(d.QID)) unknown.add(d.QID);
    }
    if (unknown.size) {
      const vulns = await list('/api/4.0/fo/knowledge_base/vuln/', {
        details: 'All',
        ids: [...unknown].join(','),
      });
      for (const v of vulns.KNOWLEDGE_BASE_VULN_LIST_OUTPUT.RESPONSE.VULN_LIST?.VULN ?? [])
        kb.set(v.QID, qidInfoOf(v));
    }
    for (const host of hosts) {
      const { DETECTION_LIST, ...fields } = host;
      const data = {
        ...fields,
        subscription: 'naive',
        VULNERABILITIES: DETECTION_LIST.DETECTION.map((d) => ({ ...d, QID_INFO: kb.get(d.QID) })),
      };
      process.stdout.write(
        JSON.stringify({
          record: { stream: 'host_detections', emitted_at: Date.now(), data },
          type: 'RECORD',
        }) + '\n',
      );
    }
    const url = response.WARNING?.URL;
    if (!url) return;
    idMin = new URL(url).searchParams.get('id_min');
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
