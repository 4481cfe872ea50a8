/**
 * HOST elements of the Host List (doc §2) and Host List Detection (doc §3) outputs, and their
 * DETECTIONs, written straight from generator state into one string per host (the streaming unit).
 * Child order follows the content models in the doc; note that OS comes after NETBIOS in the Host
 * List but right after TRACKING_METHOD in HLD. This is the hot path of a large response: per-QID
 * fragments are built once per knowledge base and dates shared by a host are formatted once.
 */
import { formatDateTime } from './clock';
import type { DetectionState } from './detections';
import { uniqueVulnId } from './detections';
import type { HostState } from './hosts';
import type { KnowledgeBase } from './kb';
import type { DetectionDisplay, HostDisplay, HostListDetails } from './params';
import { resultsText } from './results';
import { cdata } from './xml-writer';

const I8 = '        ';
const I10 = '          ';
const I12 = '            ';
const I14 = '              ';

interface QidFragments {
  qid: string;
  severity: string;
  qds: string;
  qdsFactors: string;
}

const fragmentCache = new WeakMap<KnowledgeBase, QidFragments[]>();

function fragments(kb: KnowledgeBase): QidFragments[] {
  let cached = fragmentCache.get(kb);
  if (!cached) {
    cached = kb.entries.map((e) => ({
      qid: `${I12}<QID>${e.qid}</QID>\n`,
      severity: `${I12}<SEVERITY>${e.severity}</SEVERITY>\n`,
      qds: e.qds === undefined ? '' : `${I12}<QDS severity="${e.qdsSeverity}">${e.qds}</QDS>\n`,
      qdsFactors:
        e.qds === undefined || e.qdsFactors.length === 0
          ? ''
          : `${I12}<QDS_FACTORS>\n` +
            e.qdsFactors
              .map((f) => `${I14}<QDS_FACTOR name="${f.name}">${cdata(f.value)}</QDS_FACTOR>\n`)
              .join('') +
            `${I12}</QDS_FACTORS>\n`,
    }));
    fragmentCache.set(kb, cached);
  }
  return cached;
}

function dnsXml(state: HostState): string {
  const id = state.identity;
  let out = id.dns ? `${I8}<DNS>${cdata(id.dns)}</DNS>\n` : '';
  if (id.dnsData) {
    out += `${I8}<DNS_DATA>\n`;
    if (id.dnsData.hostname) out += `${I10}<HOSTNAME>${cdata(id.dnsData.hostname)}</HOSTNAME>\n`;
    if (id.dnsData.domain) out += `${I10}<DOMAIN>${cdata(id.dnsData.domain)}</DOMAIN>\n`;
    if (id.dnsData.fqdn) out += `${I10}<FQDN>${cdata(id.dnsData.fqdn)}</FQDN>\n`;
    out += `${I8}</DNS_DATA>\n`;
  }
  return out;
}

function cloudXml(state: HostState): string {
  const cloud = state.identity.cloud;
  if (!cloud) return '';
  let out = `${I8}<CLOUD_PROVIDER>${cloud.provider}</CLOUD_PROVIDER>\n`;
  out += `${I8}<CLOUD_SERVICE>${cloud.service}</CLOUD_SERVICE>\n`;
  out += `${I8}<CLOUD_RESOURCE_ID>${cdata(cloud.resourceId)}</CLOUD_RESOURCE_ID>\n`;
  if (cloud.ec2InstanceId)
    out += `${I8}<EC2_INSTANCE_ID>${cloud.ec2InstanceId}</EC2_INSTANCE_ID>\n`;
  return out;
}

/** TAGS, METADATA and CLOUD_PROVIDER_TAGS, as asked for by the display options. */
function tagsAndCloudXml(state: HostState, display: HostDisplay): string {
  let out = '';
  if (display.showTags && state.tags.length > 0) {
    out += `${I8}<TAGS>\n`;
    for (const t of state.tags) {
      out += `${I10}<TAG>\n${I12}<TAG_ID>${t.id}</TAG_ID>\n${I12}<NAME>${cdata(t.name)}</NAME>\n${I10}</TAG>\n`;
    }
    out += `${I8}</TAGS>\n`;
  }
  const cloud = state.identity.cloud;
  if (!cloud) return out;
  const synced = formatDateTime(state.metadataSec);
  const fields = display.metadataFields;
  const attributes =
    display.metadata && display.metadata.has(cloud.metadataKind)
      ? cloud.metadata.filter((m) => !fields || fields.has(m.name))
      : [];
  if (attributes.length > 0) {
    out += `${I8}<METADATA>\n${I10}<${cloud.metadataKind}>\n`;
    for (const m of attributes) {
      out += `${I12}<ATTRIBUTE>\n${I14}<NAME>${cdata(m.name)}</NAME>\n`;
      out += m.failed
        ? `${I14}<LAST_STATUS>${cdata('Error')}</LAST_STATUS>\n${I14}<VALUE></VALUE>\n` +
          `${I14}<LAST_ERROR_DATE>${synced}</LAST_ERROR_DATE>\n${I14}<LAST_ERROR>${cdata('Not Found')}</LAST_ERROR>\n`
        : `${I14}<LAST_STATUS>${cdata('Success')}</LAST_STATUS>\n${I14}<VALUE>${cdata(m.value)}</VALUE>\n` +
          `${I14}<LAST_SUCCESS_DATE>${synced}</LAST_SUCCESS_DATE>\n`;
      out += `${I12}</ATTRIBUTE>\n`;
    }
    out += `${I10}</${cloud.metadataKind}>\n${I8}</METADATA>\n`;
  }
  const tagFields = display.cloudTagFields;
  const cloudTags = display.showCloudTags
    ? cloud.tags.filter((t) => !tagFields || tagFields.has(t.name))
    : [];
  if (cloudTags.length > 0) {
    out += `${I8}<CLOUD_PROVIDER_TAGS>\n`;
    for (const t of cloudTags) {
      out += `${I10}<CLOUD_TAG>\n${I12}<NAME>${cdata(t.name)}</NAME>\n${I12}<VALUE>${cdata(t.value)}</VALUE>\n`;
      out += `${I12}<LAST_SUCCESS_DATE>${synced}</LAST_SUCCESS_DATE>\n${I10}</CLOUD_TAG>\n`;
    }
    out += `${I8}</CLOUD_PROVIDER_TAGS>\n`;
  }
  return out;
}

function scanDatesXml(state: HostState, processedElement: string): string {
  let out = `${I8}<${processedElement}>${formatDateTime(state.processedSec)}</${processedElement}>\n`;
  const scanned = formatDateTime(state.scanSec);
  out += `${I8}<LAST_VM_SCANNED_DATE>${scanned}</LAST_VM_SCANNED_DATE>\n`;
  out += `${I8}<LAST_VM_SCANNED_DURATION>${state.scanDuration}</LAST_VM_SCANNED_DURATION>\n`;
  if (state.authScanned) {
    out += `${I8}<LAST_VM_AUTH_SCANNED_DATE>${scanned}</LAST_VM_AUTH_SCANNED_DATE>\n`;
    out += `${I8}<LAST_VM_AUTH_SCANNED_DURATION>${state.authDuration}</LAST_VM_AUTH_SCANNED_DURATION>\n`;
  }
  return out;
}

export interface HostListHostOptions {
  details: Exclude<HostListDetails, 'None'>;
  display: HostDisplay;
  showTrurisk: boolean;
  showArs: boolean;
}

/**
 * A Host List HOST. details=All adds the agent/inventory fields and COMMENTS to Basic [I: the doc
 * lists the levels, not their fields]. ASSET_CRITICALITY_SCORE accompanies either score.
 */
export function hostListHostXml(state: HostState, truRisk: number, o: HostListHostOptions): string {
  const id = state.identity;
  const all = o.details === 'All';
  let out = `      <HOST>\n${I8}<ID>${state.id}</ID>\n`;
  if (o.display.showAssetId) out += `${I8}<ASSET_ID>${state.assetId}</ASSET_ID>\n`;
  out += `${I8}<IP>${id.ip}</IP>\n`;
  if (id.ipv6) out += `${I8}<IPV6>${id.ipv6}</IPV6>\n`;
  if (o.showArs) out += `${I8}<ASSET_RISK_SCORE>${truRisk}</ASSET_RISK_SCORE>\n`;
  if (o.showTrurisk) out += `${I8}<TRURISK_SCORE>${truRisk}</TRURISK_SCORE>\n`;
  if (o.showArs || o.showTrurisk)
    out += `${I8}<ASSET_CRITICALITY_SCORE>${state.acs}</ASSET_CRITICALITY_SCORE>\n`;
  out += `${I8}<TRACKING_METHOD>${id.trackingMethod}</TRACKING_METHOD>\n`;
  out += dnsXml(state) + cloudXml(state);
  if (id.netbios) out += `${I8}<NETBIOS>${cdata(id.netbios)}</NETBIOS>\n`;
  out += `${I8}<OS>${cdata(id.os)}</OS>\n`;
  if (id.agentId) out += `${I8}<QG_HOSTID>${cdata(id.agentId)}</QG_HOSTID>\n`;
  if (all) {
    if (id.agentId) {
      if (state.lastBootSec !== undefined)
        out += `${I8}<LAST_BOOT>${formatDateTime(state.lastBootSec)}</LAST_BOOT>\n`;
      out += `${I8}<SERIAL_NUMBER>${cdata(id.serialNumber ?? '')}</SERIAL_NUMBER>\n`;
      out += `${I8}<HARDWARE_UUID>${cdata(id.hardwareUuid ?? '')}</HARDWARE_UUID>\n`;
    }
    out += `${I8}<FIRST_FOUND_DATE>${formatDateTime(state.firstFoundSec)}</FIRST_FOUND_DATE>\n`;
    if (id.agentId)
      out += `${I8}<LAST_ACTIVITY>${formatDateTime(state.processedSec)}</LAST_ACTIVITY>\n`;
  }
  out += tagsAndCloudXml(state, o.display);
  out += scanDatesXml(state, 'LAST_VULN_SCAN_DATETIME');
  if (all && state.comments) out += `${I8}<COMMENTS>${cdata(state.comments)}</COMMENTS>\n`;
  return out + '      </HOST>\n';
}

export interface HldHostOptions {
  /** UNIQUE_VULN_ID is written from API 3.0 on (documents.ts). */
  uniqueVulnId: boolean;
  /** Gives the keep-alive comment due after each DETECTION, if any. */
  keepAlive: { next(): string };
}

/** An HLD HOST with the given (already filtered, non-empty) detections. */
export function hldHostXml(
  state: HostState,
  detections: readonly DetectionState[],
  kb: KnowledgeBase,
  display: HostDisplay,
  detectionDisplay: DetectionDisplay,
  options: HldHostOptions,
): string {
  const id = state.identity;
  let out = `      <HOST>\n${I8}<ID>${state.id}</ID>\n`;
  if (display.showAssetId) out += `${I8}<ASSET_ID>${state.assetId}</ASSET_ID>\n`;
  out += `${I8}<IP>${id.ip}</IP>\n`;
  if (id.ipv6) out += `${I8}<IPV6>${id.ipv6}</IPV6>\n`;
  out += `${I8}<TRACKING_METHOD>${id.trackingMethod}</TRACKING_METHOD>\n`;
  out += `${I8}<OS>${cdata(id.os)}</OS>\n`;
  out += dnsXml(state) + cloudXml(state);
  if (id.netbios) out += `${I8}<NETBIOS>${cdata(id.netbios)}</NETBIOS>\n`;
  if (id.agentId) out += `${I8}<QG_HOSTID>${cdata(id.agentId)}</QG_HOSTID>\n`;
  out += scanDatesXml(state, 'LAST_SCAN_DATETIME');
  out += tagsAndCloudXml(state, display);
  const frags = fragments(kb);
  const scanText = formatDateTime(state.scanSec);
  const processedText = formatDateTime(state.processedSec);
  const date = (t: number): string =>
    t === state.scanSec ? scanText : t === state.processedSec ? processedText : formatDateTime(t);
  const parts = [out, `${I8}<DETECTION_LIST>\n`];
  for (const d of detections) {
    parts.push(
      detectionXml(
        d,
        state.id,
        kb,
        frags[d.qidIndex],
        detectionDisplay,
        date,
        options.uniqueVulnId,
      ),
    );
    const comment = options.keepAlive.next();
    if (comment) parts.push(comment);
  }
  parts.push(`${I8}</DETECTION_LIST>\n      </HOST>\n`);
  return parts.join('');
}

/**
 * One DETECTION. Built as a single template literal: V8 then produces one flat string, where a chain
 * of `+=` would build a rope that costs more to flatten (when encoded to bytes) than to build.
 */
function detectionXml(
  d: DetectionState,
  hostId: number,
  kb: KnowledgeBase,
  f: QidFragments,
  o: DetectionDisplay,
  date: (t: number) => string,
  withUniqueVulnId: boolean,
): string {
  const port =
    d.port === undefined
      ? ''
      : `${I12}<PORT>${d.port}</PORT>\n${I12}<PROTOCOL>${d.protocol}</PROTOCOL>\n`;
  const fqdn = d.fqdn ? `${I12}<FQDN>${cdata(d.fqdn)}</FQDN>\n` : '';
  const results = o.showResults
    ? `${I12}<RESULTS>${cdata(resultsText(kb.entries[d.qidIndex], d.resultsSeed))}</RESULTS>\n`
    : '';
  const status = d.status ? `${I12}<STATUS>${d.status}</STATUS>\n` : '';
  const fixed =
    d.lastFixedSec === undefined
      ? ''
      : `${I12}<LAST_FIXED_DATETIME>${date(d.lastFixedSec)}</LAST_FIXED_DATETIME>\n`;
  const reopened =
    o.showReopenedInfo && d.timesReopened > 0
      ? `${I12}<FIRST_REOPENED_DATETIME>${date(d.firstReopenedSec ?? 0)}</FIRST_REOPENED_DATETIME>\n` +
        `${I12}<LAST_REOPENED_DATETIME>${date(d.lastReopenedSec ?? 0)}</LAST_REOPENED_DATETIME>\n` +
        `${I12}<TIMES_REOPENED>${d.timesReopened}</TIMES_REOPENED>\n`
      : '';
  const id = withUniqueVulnId
    ? `${I12}<UNIQUE_VULN_ID>${uniqueVulnId(hostId, d.slot)}</UNIQUE_VULN_ID>\n`
    : '';
  return `${I10}<DETECTION>
${id}${f.qid}${I12}<TYPE>${d.type}</TYPE>
${f.severity}${port}${fqdn}${I12}<SSL>${d.ssl ? 1 : 0}</SSL>
${results}${status}${I12}<FIRST_FOUND_DATETIME>${date(d.firstFoundSec)}</FIRST_FOUND_DATETIME>
${I12}<LAST_FOUND_DATETIME>${date(d.lastFoundSec)}</LAST_FOUND_DATETIME>
${o.showQds ? f.qds : ''}${o.showQdsFactors ? f.qdsFactors : ''}${I12}<TIMES_FOUND>${d.timesFound}</TIMES_FOUND>
${I12}<LAST_TEST_DATETIME>${date(d.lastTestSec)}</LAST_TEST_DATETIME>
${I12}<LAST_UPDATE_DATETIME>${date(d.lastUpdateSec)}</LAST_UPDATE_DATETIME>
${fixed}${reopened}${I12}<IS_IGNORED>${d.ignored ? 1 : 0}</IS_IGNORED>
${I12}<IS_DISABLED>${d.disabled ? 1 : 0}</IS_DISABLED>
${I12}<LAST_PROCESSED_DATETIME>${date(d.lastProcessedSec)}</LAST_PROCESSED_DATETIME>
${I10}</DETECTION>
`;
}
