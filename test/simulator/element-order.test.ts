/**
 * Child order of every emitted element against the content models of the API doc (§2 Host List,
 * §3 HLD, §4 KnowledgeBase, §5 SIMPLE_RETURN), written here as data in DTD notation. An element with
 * no model must be a leaf. The checker itself is validated on the doc's sample documents and must
 * reject a sample with two children swapped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Simulator, startSimulator } from '../../src/simulator';
import { SMALL, XmlNode, call, parseXml, until, withSimulator } from './helpers';

type Models = Record<string, string>;

const REQUEST: Models = {
  REQUEST: 'DATETIME, USER_LOGIN, RESOURCE, PARAM_LIST?, POST_DATA?',
  PARAM_LIST: 'PARAM+',
  PARAM: 'KEY, VALUE',
};
const HOST_COMMON: Models = {
  DNS_DATA: 'HOSTNAME?, DOMAIN?, FQDN?',
  METADATA: '(EC2|GOOGLE|AZURE)+',
  EC2: 'ATTRIBUTE*',
  GOOGLE: 'ATTRIBUTE*',
  AZURE: 'ATTRIBUTE*',
  ATTRIBUTE: 'NAME, LAST_STATUS, VALUE, LAST_SUCCESS_DATE?, LAST_ERROR_DATE?, LAST_ERROR?',
  CLOUD_PROVIDER_TAGS: 'CLOUD_TAG+',
  CLOUD_TAG: 'NAME, VALUE, LAST_SUCCESS_DATE',
  WARNING: 'CODE?, TEXT, URL?',
  ID_SET: '(ID|ID_RANGE)+',
  ...REQUEST,
};

const DOCUMENTS: Record<string, Models> = {
  HOST_LIST_OUTPUT: {
    HOST_LIST_OUTPUT: 'REQUEST?, RESPONSE',
    RESPONSE: 'DATETIME, (HOST_LIST|ID_SET)?, WARNING?, GLOSSARY?',
    HOST_LIST: 'HOST+',
    HOST:
      'ID, ASSET_ID?, IP?, IPV6?, ASSET_RISK_SCORE?, TRURISK_SCORE?, ASSET_CRITICALITY_SCORE?, ARS_FACTORS?, ' +
      'TRURISK_SCORE_FACTORS?, TRACKING_METHOD?, NETWORK_ID?, DNS?, DNS_DATA?, CLOUD_PROVIDER?, CLOUD_SERVICE?, ' +
      'CLOUD_RESOURCE_ID?, EC2_INSTANCE_ID?, NETBIOS?, OS?, QG_HOSTID?, LAST_BOOT?, SERIAL_NUMBER?, HARDWARE_UUID?, ' +
      'FIRST_FOUND_DATE?, LAST_ACTIVITY?, AGENT_STATUS?, CLOUD_AGENT_RUNNING_ON?, TAGS?, METADATA?, CLOUD_PROVIDER_TAGS?, ' +
      'LAST_VULN_SCAN_DATETIME?, LAST_VM_SCANNED_DATE?, LAST_VM_SCANNED_DURATION?, LAST_VM_AUTH_SCANNED_DATE?, ' +
      'LAST_VM_AUTH_SCANNED_DURATION?, LAST_COMPLIANCE_SCAN_DATETIME?, LAST_SCAP_SCAN_DATETIME?, OWNER?, COMMENTS?, ' +
      'USER_DEF?, ASSET_GROUP_IDS?',
    TAGS: 'TAG*',
    TAG: 'TAG_ID?, NAME?',
    ...HOST_COMMON,
  },
  HOST_LIST_VM_DETECTION_OUTPUT: {
    HOST_LIST_VM_DETECTION_OUTPUT: 'REQUEST?, RESPONSE',
    RESPONSE: 'DATETIME, HOST_LIST?, WARNING?',
    HOST_LIST: 'HOST+',
    HOST:
      'ID, ASSET_ID?, IP?, IPV6?, TRACKING_METHOD?, NETWORK_ID?, OS?, OS_CPE?, DNS?, DNS_DATA?, CLOUD_PROVIDER?, ' +
      'CLOUD_SERVICE?, CLOUD_RESOURCE_ID?, EC2_INSTANCE_ID?, NETBIOS?, QG_HOSTID?, LAST_SCAN_DATETIME?, ' +
      'LAST_VM_SCANNED_DATE?, LAST_VM_SCANNED_DURATION?, LAST_VM_AUTH_SCANNED_DATE?, LAST_VM_AUTH_SCANNED_DURATION?, ' +
      'LAST_PC_SCANNED_DATE?, TAGS?, METADATA?, CLOUD_PROVIDER_TAGS?, DETECTION_LIST',
    TAGS: 'TAG+',
    TAG: 'TAG_ID?, NAME, COLOR?, BACKGROUND_COLOR?',
    DETECTION_LIST: 'DETECTION+',
    DETECTION:
      'UNIQUE_VULN_ID?, QID, TYPE, SEVERITY?, PORT?, PROTOCOL?, FQDN?, SSL?, INSTANCE?, RESULTS?, STATUS?, ' +
      'FIRST_FOUND_DATETIME?, LAST_FOUND_DATETIME?, QDS?, QDS_FACTORS?, TIMES_FOUND?, LAST_TEST_DATETIME?, ' +
      'LAST_UPDATE_DATETIME?, LAST_FIXED_DATETIME?, FIRST_REOPENED_DATETIME?, LAST_REOPENED_DATETIME?, TIMES_REOPENED?, ' +
      'SERVICE?, IS_IGNORED?, IS_DISABLED?, AFFECT_RUNNING_KERNEL?, AFFECT_RUNNING_SERVICE?, AFFECT_EXPLOITABLE_CONFIG?, ' +
      'LAST_PROCESSED_DATETIME?, ASSET_CVE?',
    QDS_FACTORS: 'QDS_FACTOR*',
    ...HOST_COMMON,
  },
  KNOWLEDGE_BASE_VULN_LIST_OUTPUT: {
    KNOWLEDGE_BASE_VULN_LIST_OUTPUT: 'REQUEST?, RESPONSE',
    RESPONSE: 'DATETIME, (VULN_LIST|ID_SET)?, WARNING?',
    VULN_LIST: 'VULN*',
    VULN:
      'QID, VULN_TYPE, SEVERITY_LEVEL, TITLE, CATEGORY?, DETECTION_INFO?, LAST_CUSTOMIZATION?, ' +
      'LAST_SERVICE_MODIFICATION_DATETIME?, PUBLISHED_DATETIME, CODE_MODIFIED_DATETIME?, BUGTRAQ_LIST?, PATCHABLE, ' +
      'PATCH_PUBLISHED_DATE?, SOFTWARE_LIST?, VENDOR_REFERENCE_LIST?, CVE_LIST?, DIAGNOSIS?, DIAGNOSIS_COMMENT?, ' +
      'CONSEQUENCE?, CONSEQUENCE_COMMENT?, SOLUTION?, SOLUTION_COMMENT?, COMPLIANCE_LIST?, CORRELATION?, CVSS?, CVSS_V3?, ' +
      'PCI_FLAG?, AUTOMATIC_PCI_FAIL?, PCI_REASONS?, THREAT_INTELLIGENCE?, SUPPORTED_MODULES?, DISCOVERY, IS_DISABLED?, ' +
      'CHANGE_LOG_LIST?',
    BUGTRAQ_LIST: 'BUGTRAQ+',
    BUGTRAQ: 'ID, URL',
    SOFTWARE_LIST: 'SOFTWARE+',
    SOFTWARE: 'PRODUCT, VENDOR',
    COMPLIANCE_LIST: 'COMPLIANCE+',
    COMPLIANCE: 'TYPE, SECTION, DESCRIPTION',
    VENDOR_REFERENCE_LIST: 'VENDOR_REFERENCE+',
    VENDOR_REFERENCE: 'ID, URL',
    CVE_LIST: 'CVE+',
    CVE: 'ID, URL',
    CORRELATION: 'EXPLOITS?, MALWARE?',
    EXPLOITS: 'EXPLT_SRC+',
    EXPLT_SRC: 'SRC_NAME, EXPLT_LIST',
    EXPLT_LIST: 'EXPLT+',
    EXPLT: 'REF, DESC, LINK?',
    CVSS:
      'BASE?, TEMPORAL?, VECTOR_STRING?, ACCESS?, IMPACT?, AUTHENTICATION?, EXPLOITABILITY?, REMEDIATION_LEVEL?, ' +
      'REPORT_CONFIDENCE?',
    ACCESS: 'VECTOR?, COMPLEXITY?',
    IMPACT: 'CONFIDENTIALITY?, INTEGRITY?, AVAILABILITY?',
    CVSS_V3:
      'BASE?, TEMPORAL?, VECTOR_STRING?, CVSS3_VERSION?, ATTACK?, IMPACT?, PRIVILEGES_REQUIRED?, USER_INTERACTION?, ' +
      'SCOPE?, EXPLOIT_CODE_MATURITY?, REMEDIATION_LEVEL?, REPORT_CONFIDENCE?',
    ATTACK: 'VECTOR?, COMPLEXITY?',
    THREAT_INTELLIGENCE: 'THREAT_INTEL+',
    DISCOVERY: 'REMOTE, AUTH_TYPE_LIST?, ADDITIONAL_INFO?',
    AUTH_TYPE_LIST: 'AUTH_TYPE+',
    CHANGE_LOG_LIST: 'CHANGE_LOG_INFO+',
    CHANGE_LOG_INFO: 'CHANGE_DATE, COMMENTS',
    ID_SET: '(ID|ID_RANGE)+',
    WARNING: 'CODE?, TEXT, URL?',
    ...REQUEST,
  },
  SIMPLE_RETURN: {
    SIMPLE_RETURN: 'REQUEST?, RESPONSE',
    RESPONSE: 'DATETIME, CODE?, TEXT, ITEM_LIST?',
    ITEM_LIST: 'ITEM+',
    ITEM: 'KEY, VALUE',
    ...REQUEST,
  },
};

interface Particle {
  names: string[];
  min: number;
  max: number;
}

/** `A, (B|C)?, D*, E+` into particles. */
function particles(model: string): Particle[] {
  return model.split(/,\s*/).map((item) => {
    const m = /^\(?([A-Z0-9_|-]+)\)?([?*+]?)$/.exec(item.trim());
    if (!m) throw new Error(`bad model item ${item}`);
    const suffix = m[2];
    return {
      names: m[1].split('|'),
      min: suffix === '?' || suffix === '*' ? 0 : 1,
      max: suffix === '*' || suffix === '+' ? Infinity : 1,
    };
  });
}

/** Problems found in the tree, as "path: message" strings (empty = valid). */
function check(root: XmlNode): string[] {
  const models = DOCTYPES(root.name);
  const problems: string[] = [];
  const visit = (node: XmlNode, where: string): void => {
    const here = `${where}/${node.name}`;
    const model = models[node.name];
    if (!model) {
      if (node.children.length > 0) problems.push(`${here}: no content model but has children`);
      return;
    }
    const items = particles(model);
    let i = 0;
    let count = 0;
    for (const c of node.children) {
      while (i < items.length && !items[i].names.includes(c.name)) {
        if (count < items[i].min)
          problems.push(`${here}: missing ${items[i].names.join('|')} before ${c.name}`);
        i++;
        count = 0;
      }
      if (i === items.length) {
        problems.push(
          `${here}: ${c.name} out of order or not allowed (children: ${node.children.map((x) => x.name).join(',')})`,
        );
        break;
      }
      if (++count > items[i].max) problems.push(`${here}: too many ${c.name}`);
    }
    for (let k = i + (count > 0 ? 1 : 0); k < items.length; k++) {
      if (items[k].min > 0 && !(k === i && count > 0))
        problems.push(`${here}: missing ${items[k].names.join('|')}`);
    }
    for (const c of node.children) visit(c, here);
  };
  visit(root, '');
  return problems;
}

function DOCTYPES(root: string): Models {
  const models = DOCUMENTS[root];
  if (!models) throw new Error(`no models for document ${root}`);
  return models;
}

// The API doc's sample documents, vendored into the repository (they are identical copies).
const SAMPLES = path.join(__dirname, '../../test_files/qualys');

describe('content-model checker', () => {
  const samples = ['host_list_v4_sample.xml', 'hld_v4_sample.xml', 'kb_v4_sample.xml'];

  test.each(samples)('accepts the doc sample %s', (file) => {
    expect(check(parseXml(fs.readFileSync(`${SAMPLES}/${file}`, 'utf8')))).toEqual([]);
  });

  test('rejects misplaced, missing and unknown children', () => {
    const hld = fs.readFileSync(`${SAMPLES}/hld_v4_sample.xml`, 'utf8');
    const swapped = hld.replace(/(<QID>91234<\/QID>\s*)(<TYPE>Confirmed<\/TYPE>)/, '$2$1');
    expect(swapped).not.toBe(hld);
    expect(check(parseXml(swapped)).join('\n')).toMatch(/DETECTION: QID out of order/);
    const missing = hld.replace('<TYPE>Confirmed</TYPE>', '');
    expect(check(parseXml(missing)).join('\n')).toMatch(/missing TYPE/);
    const unknown = hld.replace('<SSL>0</SSL>', '<SSL>0</SSL><BOGUS><X>1</X></BOGUS>');
    expect(check(parseXml(unknown)).join('\n')).toMatch(/BOGUS out of order or not allowed/);
  });
});

describe('every served element follows its content model', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ ...SMALL, hosts: 60, concurrencyLimit: 1, rateLimit: 1000 });
    sim.scanCycle({ hostFraction: 0.5, kbFraction: 0.3 });
  });
  afterAll(() => sim.close());

  const GET: [string, string][] = [
    [
      'Host List, everything on, echoed, truncated',
      '/api/4.0/fo/asset/host/?action=list&details=All&show_asset_id=1&show_tags=1&show_trurisk=1&show_ars=1' +
        '&host_metadata=all&show_cloud_tags=1&echo_request=1&truncation_limit=30',
    ],
    ['Host List Basic', '/api/4.0/fo/asset/host/?action=list&truncation_limit=0'],
    [
      'Host List ID_SET, truncated',
      '/api/2.0/fo/asset/host/?action=list&details=None&truncation_limit=7&echo_request=1',
    ],
    ['Host List, empty', '/api/2.0/fo/asset/host/?action=list&ids=1'],
    [
      'HLD, everything on, echoed, truncated',
      '/api/5.0/fo/asset/host/vm/detection/?action=list&show_asset_id=1&show_tags=1&host_metadata=all&show_cloud_tags=1' +
        '&show_results=1&show_qds=1&show_qds_factors=1&show_reopened_info=1&show_igs=1&include_ignored=1' +
        '&include_disabled=1&echo_request=1&truncation_limit=30',
    ],
    ['HLD defaults', '/api/2.0/fo/asset/host/vm/detection/?action=list'],
    [
      'KB All, every flag, echoed',
      '/api/4.0/fo/knowledge_base/vuln/?action=list&details=All&show_disabled_flag=1&show_qid_change_log=1' +
        '&show_supported_modules_info=1&echo_request=1',
    ],
    ['KB Basic', '/api/4.0/fo/knowledge_base/vuln/?action=list'],
    ['KB ID_SET', '/api/4.0/fo/knowledge_base/vuln/?action=list&details=None'],
    ['SIMPLE_RETURN 1905', '/api/4.0/fo/asset/host/?action=list&ids=x'],
  ];

  test.each(GET)('%s', async (_name, url) => {
    const reply = await call(sim, url);
    const root = parseXml(reply.body);
    expect(check(root)).toEqual([]);
    expect(root.children.length).toBeGreaterThan(0);
  });

  test('the echoed REQUEST of a POST carries POST_DATA', async () => {
    const reply = await call(sim, '/api/4.0/fo/knowledge_base/vuln/', {
      method: 'POST',
      form: 'action=list&ids=1&echo_request=1',
    });
    const root = parseXml(reply.body);
    expect(check(root)).toEqual([]);
    expect(root.children[0].children.map((c) => c.name)).toEqual([
      'DATETIME',
      'USER_LOGIN',
      'RESOURCE',
      'PARAM_LIST',
      'POST_DATA',
    ]);
  });

  test('409 SIMPLE_RETURN with ITEM_LIST', async () => {
    // Long enough that the first call still runs when the second arrives, on a loaded machine too.
    await withSimulator({ ...SMALL, concurrencyLimit: 1, latencyMs: 3000 }, async (busy) => {
      const running = call(busy, '/msp/about.php');
      await until(() => busy.stats().maxRunning.about === 1);
      const refused = await call(busy, '/msp/about.php');
      expect(refused.status).toBe(409);
      const root = parseXml(refused.body);
      expect(check(root)).toEqual([]);
      expect(root.children[0].children.map((c) => c.name)).toEqual([
        'DATETIME',
        'CODE',
        'TEXT',
        'ITEM_LIST',
      ]);
      expect((await running).status).toBe(200);
    });
  });
});
