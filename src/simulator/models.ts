/**
 * Plain models of what the simulator serves, for other engineers' tests ("compare sets, not counts"):
 * Qualys element names, JS types (numbers as numbers, 0|1 flags as booleans, repeatable elements as
 * arrays), the shapes of src/records.ts without the connector-only fields. Each model is the full
 * record, i.e. what the XML carries with every display option switched on (see each type).
 */
import type { Detection, HostRecord, KnowledgeBaseRecord } from '../records';
import { formatDateTime } from './clock';
import type { DetectionState } from './detections';
import { uniqueVulnId } from './detections';
import type { HostState } from './hosts';
import type { KnowledgeBase } from './kb';
import { resultsText } from './results';

/**
 * A Host List HOST as served with details=All, show_asset_id=1, show_tags=1, show_trurisk=1,
 * host_metadata=all, show_cloud_tags=1. An HLD HOST carries the same identity fields, plus
 * LAST_SCAN_DATETIME (= LAST_VULN_SCAN_DATETIME here) and without the score, All-only and
 * COMMENTS fields.
 */
export type HostModel = Omit<HostRecord, 'subscription'>;

/**
 * An HLD DETECTION as served with show_results=1, show_qds=1, show_qds_factors=1,
 * show_reopened_info=1 on /api/3.0 and later (/api/2.0 has no UNIQUE_VULN_ID, QDS or QDS_FACTORS).
 */
export type DetectionModel = Omit<
  Detection,
  | 'QID_INFO'
  | 'MITRE_TACTIC_ID'
  | 'MITRE_TACTIC_NAME'
  | 'MITRE_TECHNIQUE_ID'
  | 'MITRE_TECHNIQUE_NAME'
>;

/**
 * A KB VULN as served with details=All, show_disabled_flag=1, show_qid_change_log=1 and
 * show_supported_modules_info=1 (IS_DISABLED, CHANGE_LOG_LIST and SUPPORTED_MODULES need those flags).
 * Texts are as an XML parser reports them: LF line ends even when served with crlfText, entity
 * references inside CDATA (`&quot;`) as literal text.
 */
export type KbModel = {
  // Key remapping rather than Omit: Omit would collapse a type with an index signature to it.
  [
    K in keyof KnowledgeBaseRecord as K extends 'subscription' | 'CVSS' | 'CVSS_V3' ? never : K
  ]: KnowledgeBaseRecord[K];
} & {
  BUGTRAQ_LIST?: { ID: string; URL: string }[];
  COMPLIANCE_LIST?: { TYPE: string; SECTION: string; DESCRIPTION: string }[];
  CVSS?: {
    BASE: number;
    TEMPORAL: number;
    VECTOR_STRING: string;
    ACCESS: { VECTOR: number; COMPLEXITY: number };
  };
  CVSS_V3?: {
    BASE: number;
    TEMPORAL: number;
    VECTOR_STRING: string;
    CVSS3_VERSION: string;
    ATTACK: { VECTOR: number; COMPLEXITY: number };
  };
};

export function hostModel(state: HostState, truRisk: number): HostModel {
  const id = state.identity;
  const model: HostModel = { ID: state.id, ASSET_ID: state.assetId, IP: id.ip };
  if (id.ipv6) model.IPV6 = id.ipv6;
  model.TRURISK_SCORE = truRisk;
  model.ASSET_CRITICALITY_SCORE = state.acs;
  model.TRACKING_METHOD = id.trackingMethod;
  if (id.dns) model.DNS = id.dns;
  if (id.dnsData) {
    const { hostname, domain, fqdn } = id.dnsData;
    model.DNS_DATA = {};
    if (hostname) model.DNS_DATA.HOSTNAME = hostname;
    if (domain) model.DNS_DATA.DOMAIN = domain;
    if (fqdn) model.DNS_DATA.FQDN = fqdn;
  }
  if (id.cloud) {
    model.CLOUD_PROVIDER = id.cloud.provider;
    model.CLOUD_SERVICE = id.cloud.service;
    model.CLOUD_RESOURCE_ID = id.cloud.resourceId;
    if (id.cloud.ec2InstanceId) model.EC2_INSTANCE_ID = id.cloud.ec2InstanceId;
  }
  if (id.netbios) model.NETBIOS = id.netbios;
  model.OS = id.os;
  if (id.agentId) {
    model.QG_HOSTID = id.agentId;
    if (state.lastBootSec !== undefined) model.LAST_BOOT = formatDateTime(state.lastBootSec);
    model.SERIAL_NUMBER = id.serialNumber;
    model.HARDWARE_UUID = id.hardwareUuid;
  }
  model.FIRST_FOUND_DATE = formatDateTime(state.firstFoundSec);
  if (id.agentId) model.LAST_ACTIVITY = formatDateTime(state.processedSec);
  model.TAGS = state.tags.map((t) => ({ TAG_ID: t.id, NAME: t.name }));
  if (id.cloud) {
    const synced = formatDateTime(state.metadataSec);
    model.METADATA = {
      [id.cloud.metadataKind]: id.cloud.metadata.map((m) =>
        m.failed
          ? {
              NAME: m.name,
              LAST_STATUS: 'Error',
              VALUE: '',
              LAST_ERROR_DATE: synced,
              LAST_ERROR: 'Not Found',
            }
          : { NAME: m.name, LAST_STATUS: 'Success', VALUE: m.value, LAST_SUCCESS_DATE: synced },
      ),
    };
    if (id.cloud.tags.length > 0) {
      model.CLOUD_PROVIDER_TAGS = id.cloud.tags.map((t) => ({
        NAME: t.name,
        VALUE: t.value,
        LAST_SUCCESS_DATE: synced,
      }));
    }
  }
  model.LAST_VULN_SCAN_DATETIME = formatDateTime(state.processedSec);
  model.LAST_VM_SCANNED_DATE = formatDateTime(state.scanSec);
  model.LAST_VM_SCANNED_DURATION = state.scanDuration;
  if (state.authScanned) {
    model.LAST_VM_AUTH_SCANNED_DATE = formatDateTime(state.scanSec);
    model.LAST_VM_AUTH_SCANNED_DURATION = state.authDuration;
  }
  if (state.comments) model.COMMENTS = state.comments;
  return model;
}

export function detectionModel(
  d: DetectionState,
  hostId: number,
  kb: KnowledgeBase,
): DetectionModel {
  const entry = kb.entries[d.qidIndex];
  const model: DetectionModel = {
    UNIQUE_VULN_ID: uniqueVulnId(hostId, d.slot),
    QID: entry.qid,
    TYPE: d.type,
    SEVERITY: entry.severity,
  };
  if (d.port !== undefined) {
    model.PORT = d.port;
    model.PROTOCOL = d.protocol;
  }
  if (d.fqdn) model.FQDN = d.fqdn;
  model.SSL = d.ssl;
  model.RESULTS = resultsText(entry, d.resultsSeed);
  if (d.status) model.STATUS = d.status;
  model.FIRST_FOUND_DATETIME = formatDateTime(d.firstFoundSec);
  model.LAST_FOUND_DATETIME = formatDateTime(d.lastFoundSec);
  if (entry.qds !== undefined) {
    model.QDS = { value: entry.qds, severity: entry.qdsSeverity };
    if (entry.qdsFactors.length > 0) model.QDS_FACTORS = entry.qdsFactors.map((f) => ({ ...f }));
  }
  model.TIMES_FOUND = d.timesFound;
  model.LAST_TEST_DATETIME = formatDateTime(d.lastTestSec);
  model.LAST_UPDATE_DATETIME = formatDateTime(d.lastUpdateSec);
  if (d.lastFixedSec !== undefined) model.LAST_FIXED_DATETIME = formatDateTime(d.lastFixedSec);
  if (d.timesReopened > 0) {
    model.FIRST_REOPENED_DATETIME = formatDateTime(d.firstReopenedSec ?? 0);
    model.LAST_REOPENED_DATETIME = formatDateTime(d.lastReopenedSec ?? 0);
    model.TIMES_REOPENED = d.timesReopened;
  }
  model.IS_IGNORED = d.ignored;
  model.IS_DISABLED = d.disabled;
  model.LAST_PROCESSED_DATETIME = formatDateTime(d.lastProcessedSec);
  return model;
}

export function kbModel(kb: KnowledgeBase, index: number): KbModel {
  const entry = kb.entries[index];
  const details = kb.details(index);
  const model: KbModel = {
    QID: entry.qid,
    VULN_TYPE: entry.vulnType,
    SEVERITY_LEVEL: entry.severity,
    TITLE: details.title,
    CATEGORY: entry.category.name,
    LAST_SERVICE_MODIFICATION_DATETIME: formatDateTime(kb.lastServiceModified(index)),
    PUBLISHED_DATETIME: formatDateTime(entry.publishedSec),
    CODE_MODIFIED_DATETIME: formatDateTime(entry.codeModifiedSec),
    PATCHABLE: entry.patchable,
  };
  if (details.bugtraq.length > 0) {
    model.BUGTRAQ_LIST = details.bugtraq.map((b) => ({ ID: b.id, URL: b.url }));
  }
  if (details.software.length > 0) {
    model.SOFTWARE_LIST = details.software.map((s) => ({ PRODUCT: s.product, VENDOR: s.vendor }));
  }
  if (details.vendorReferences.length > 0) {
    model.VENDOR_REFERENCE_LIST = details.vendorReferences.map((r) => ({ ID: r.id, URL: r.url }));
  }
  if (details.cves.length > 0)
    model.CVE_LIST = details.cves.map((id) => ({ ID: id, URL: cveUrl(id) }));
  model.DIAGNOSIS = details.diagnosis;
  model.CONSEQUENCE = details.consequence;
  model.SOLUTION = details.solution;
  if (details.compliance.length > 0) {
    model.COMPLIANCE_LIST = details.compliance.map((c) => ({
      TYPE: c.type,
      SECTION: c.section,
      DESCRIPTION: c.description,
    }));
  }
  if (details.exploitSources.length > 0) {
    model.CORRELATION = {
      EXPLOITS: details.exploitSources.map((s) => ({
        SRC_NAME: s.name,
        EXPLT_LIST: s.exploits.map((e) => ({ REF: e.ref, DESC: e.desc, LINK: e.link })),
      })),
    };
  }
  if (entry.cvss) {
    model.CVSS = {
      BASE: entry.cvss.base,
      TEMPORAL: entry.cvss.temporal,
      VECTOR_STRING: entry.cvss.vectorString,
      ACCESS: { VECTOR: entry.cvss.accessVector, COMPLEXITY: entry.cvss.accessComplexity },
    };
  }
  if (entry.cvss3) {
    model.CVSS_V3 = {
      BASE: entry.cvss3.base,
      TEMPORAL: entry.cvss3.temporal,
      VECTOR_STRING: entry.cvss3.vectorString,
      CVSS3_VERSION: '3.1',
      ATTACK: { VECTOR: entry.cvss3.attackVector, COMPLEXITY: entry.cvss3.attackComplexity },
    };
  }
  model.PCI_FLAG = entry.pciFlag;
  if (entry.threatIntel.length > 0) {
    model.THREAT_INTELLIGENCE = entry.threatIntel.map((t) => ({ id: String(t.id), value: t.name }));
  }
  model.SUPPORTED_MODULES = details.supportedModules;
  model.DISCOVERY = {
    REMOTE: details.remote,
    ...(details.authTypes.length > 0 ? { AUTH_TYPE_LIST: [...details.authTypes] } : {}),
    ...(details.additionalInfo ? { ADDITIONAL_INFO: details.additionalInfo } : {}),
  };
  model.IS_DISABLED = entry.disabled;
  const log = kb.changeLog(index);
  if (log.length > 0) {
    model.CHANGE_LOG_LIST = log.map((c) => ({
      CHANGE_DATE: formatDateTime(c.date),
      COMMENTS: c.comments,
    }));
  }
  return model;
}

export function cveUrl(id: string): string {
  return `http://cve.mitre.org/cgi-bin/cvename.cgi?name=${id}`;
}
