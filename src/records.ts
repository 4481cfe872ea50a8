/**
 * The record shapes the source emits and the ETM converter reads: the contract between the two
 * halves (etm never imports streams; both import this). Field names are Qualys element names;
 * resources/schemas/*.json describe the same records for Airbyte and drive the XML reader.
 * Absent Qualys elements are absent fields; repeatable elements are always arrays.
 */

/**
 * Every stream of the source. The ETM converter reads either detection stream (`etm sync` reads
 * hosts, detections and knowledge_base: src/etm/sync/catalog.ts).
 */
export const SOURCE_STREAM_NAMES = [
  'hosts',
  'host_detections',
  'knowledge_base',
  'detections',
] as const;

export interface DnsData {
  HOSTNAME?: string;
  DOMAIN?: string;
  FQDN?: string;
}

export interface Tag {
  TAG_ID?: number;
  NAME?: string;
  COLOR?: string;
  BACKGROUND_COLOR?: string;
}

export interface MetadataAttribute {
  NAME?: string;
  LAST_STATUS?: string;
  VALUE?: string;
  LAST_SUCCESS_DATE?: string;
  LAST_ERROR_DATE?: string;
  LAST_ERROR?: string;
}

export interface CloudTag {
  NAME?: string;
  VALUE?: string;
  LAST_SUCCESS_DATE?: string;
}

export interface VulnCount {
  qds_severity?: string;
  value?: number;
}

/** Fields common to a Host List HOST and a Host List Detection HOST. */
export interface HostCommon {
  subscription: string;
  ID: number;
  ASSET_ID?: number;
  IP?: string;
  IPV6?: string;
  TRACKING_METHOD?: string;
  NETWORK_ID?: number;
  DNS?: string;
  DNS_DATA?: DnsData;
  CLOUD_PROVIDER?: string;
  CLOUD_SERVICE?: string;
  CLOUD_RESOURCE_ID?: string;
  EC2_INSTANCE_ID?: string;
  NETBIOS?: string;
  OS?: string;
  QG_HOSTID?: string;
  TAGS?: Tag[];
  METADATA?: {
    EC2?: MetadataAttribute[];
    AZURE?: MetadataAttribute[];
    GOOGLE?: MetadataAttribute[];
  };
  CLOUD_PROVIDER_TAGS?: CloudTag[];
  LAST_VM_SCANNED_DATE?: string;
  LAST_VM_SCANNED_DURATION?: number;
  LAST_VM_AUTH_SCANNED_DATE?: string;
  LAST_VM_AUTH_SCANNED_DURATION?: number;
}

/** `hosts` stream: Host List API. */
export interface HostRecord extends HostCommon {
  /** Only on a deletion record: the host is no longer listed (see streams/host-deletions). */
  _ab_cdc_deleted_at?: string;
  ASSET_RISK_SCORE?: number;
  TRURISK_SCORE?: number;
  ASSET_CRITICALITY_SCORE?: number;
  ARS_FACTORS?: { ARS_FORMULA?: string; VULN_COUNT?: VulnCount[] };
  TRURISK_SCORE_FACTORS?: { TRURISK_SCORE_FORMULA?: string; VULN_COUNT?: VulnCount[] };
  LAST_BOOT?: string;
  SERIAL_NUMBER?: string;
  HARDWARE_UUID?: string;
  FIRST_FOUND_DATE?: string;
  LAST_ACTIVITY?: string;
  AGENT_STATUS?: string;
  CLOUD_AGENT_RUNNING_ON?: string;
  LAST_VULN_SCAN_DATETIME?: string;
  LAST_COMPLIANCE_SCAN_DATETIME?: string;
  LAST_SCAP_SCAN_DATETIME?: string;
  OWNER?: string;
  COMMENTS?: string;
  USER_DEF?: Record<string, string>;
  ASSET_GROUP_IDS?: string;
}

/** The knowledge-base join on a detection (names are the seed transform map's source paths). */
export interface QidInfo {
  qid: {
    qid?: number;
    title?: string;
    /** KB DIAGNOSIS (Qualys' "Threat"). */
    description?: string;
    consequence?: string;
    solution?: string;
    cvssBase?: number;
    cvssTemporal?: number;
    cvss3Base?: number;
    cvss3Temporal?: number;
    /** CVSS v2 access vector code: 1 local, 2 adjacent network, 3 network. */
    cvssAccessVector?: number;
    patchExist?: boolean;
    cveId: string[];
    category?: string;
    vulnType?: string;
    severityLevel?: number;
    threatIntel: string[];
    publishedDate?: string;
    lastServiceModified?: string;
  };
  corExploit: {
    vendorName?: string;
    exploits: { ref?: string; description?: string; link?: string }[];
  }[];
}

export interface Detection {
  UNIQUE_VULN_ID?: number;
  QID: number;
  TYPE?: string;
  SEVERITY?: number;
  PORT?: number;
  PROTOCOL?: string;
  FQDN?: string;
  SSL?: boolean;
  INSTANCE?: string;
  RESULTS?: string;
  STATUS?: string;
  FIRST_FOUND_DATETIME?: string;
  LAST_FOUND_DATETIME?: string;
  QDS?: { value?: number; severity?: string };
  QDS_FACTORS?: { name?: string; value?: string }[];
  TIMES_FOUND?: number;
  LAST_TEST_DATETIME?: string;
  LAST_UPDATE_DATETIME?: string;
  LAST_FIXED_DATETIME?: string;
  FIRST_REOPENED_DATETIME?: string;
  LAST_REOPENED_DATETIME?: string;
  TIMES_REOPENED?: number;
  SERVICE?: string;
  IS_IGNORED?: boolean;
  IS_DISABLED?: boolean;
  AFFECT_RUNNING_KERNEL?: boolean;
  AFFECT_RUNNING_SERVICE?: boolean;
  AFFECT_EXPLOITABLE_CONFIG?: boolean;
  LAST_PROCESSED_DATETIME?: string;
  ASSET_CVE?: string;
  QID_INFO?: QidInfo;
  MITRE_TACTIC_ID?: string[];
  MITRE_TACTIC_NAME?: string[];
  MITRE_TECHNIQUE_ID?: string[];
  MITRE_TECHNIQUE_NAME?: string[];
}

/** `host_detections` stream: one Host List Detection HOST with all its detections. */
export interface HostDetectionRecord extends HostCommon {
  /** Only on a deletion record: the host is no longer listed (see streams/host-deletions). */
  _ab_cdc_deleted_at?: string;
  OS_CPE?: string;
  LAST_SCAN_DATETIME?: string;
  LAST_PC_SCANNED_DATE?: string;
  VULNERABILITIES: Detection[];
}

/** The host fields a `detections` record carries (the ones people filter on). */
export interface DetectionHost {
  subscription: string;
  HOST_ID: number;
  ASSET_ID?: number;
  IP?: string;
  TRACKING_METHOD?: string;
  DNS?: string;
  NETBIOS?: string;
  OS?: string;
  /** The host's LAST_SCAN_DATETIME: the cursor, as in host_detections. */
  LAST_SCAN_DATETIME?: string;
}

/**
 * `detections` stream: one detection of a Host List Detection HOST, flat, with its host's fields
 * and no QID_INFO (join knowledge_base on QID). A deletion record (a purged host) has only the
 * host's subscription and HOST_ID, DETECTION_KEY `*`, `_ab_cdc_deleted_at` and the cursor.
 */
export type DetectionRecord = DetectionHost &
  Omit<Detection, 'QID' | 'QID_INFO' | `MITRE_${string}`> & {
    QID?: number;
    DETECTION_KEY: string;
    _ab_cdc_deleted_at?: string;
  };

/**
 * A detection's key within its host (the `detections` primary key is subscription, HOST_ID and
 * this): its UNIQUE_VULN_ID where Qualys sends it (API 3.0 on), else — older responses, such as
 * the real /api/2.0 captures — QID, PORT, PROTOCOL, SSL, FQDN and INSTANCE joined by '|', an
 * absent one empty: what tells a host's detections of one QID apart in Qualys.
 */
export function detectionKey(detection: Detection): string {
  if (detection.UNIQUE_VULN_ID !== undefined) return String(detection.UNIQUE_VULN_ID);
  const { QID, PORT, PROTOCOL, SSL, FQDN, INSTANCE } = detection;
  return [QID, PORT, PROTOCOL, SSL, FQDN, INSTANCE].map((part) => part ?? '').join('|');
}

/** `knowledge_base` stream: one KB VULN (details=All); see resources/schemas/knowledge_base.json. */
export interface KnowledgeBaseRecord {
  subscription: string;
  QID: number;
  VULN_TYPE?: string;
  SEVERITY_LEVEL?: number;
  TITLE?: string;
  CATEGORY?: string;
  LAST_SERVICE_MODIFICATION_DATETIME?: string;
  PUBLISHED_DATETIME?: string;
  PATCHABLE?: boolean;
  CVE_LIST?: { ID?: string; URL?: string }[];
  DIAGNOSIS?: string;
  CONSEQUENCE?: string;
  SOLUTION?: string;
  CORRELATION?: {
    EXPLOITS?: {
      SRC_NAME?: string;
      EXPLT_LIST?: { REF?: string; DESC?: string; LINK?: string }[];
    }[];
    MALWARE?: { SRC_NAME?: string; MW_LIST?: Record<string, string>[] }[];
  };
  CVSS?: { BASE?: number; TEMPORAL?: number; VECTOR_STRING?: string; ACCESS?: { VECTOR?: number } };
  CVSS_V3?: { BASE?: number; TEMPORAL?: number; VECTOR_STRING?: string };
  THREAT_INTELLIGENCE?: { id?: string; value?: string }[];
  /** MITRE ATT&CK from THREAT_INTELLIGENCE and CATEGORY (see qualys/mitre). */
  MITRE_TACTIC_ID?: string[];
  MITRE_TACTIC_NAME?: string[];
  MITRE_TECHNIQUE_ID?: string[];
  MITRE_TECHNIQUE_NAME?: string[];
  [element: string]: unknown;
}
