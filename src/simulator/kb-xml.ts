/**
 * VULN elements of the KnowledgeBase output (doc §4), in content-model order. details=Basic carries
 * the identifying fields, dates, PATCHABLE, CVSS base/temporal, PCI_FLAG and DISCOVERY (doc: "Basic
 * includes basic elements plus CVSS Base and Temporal scores"; which other fields count as basic is
 * [I]); details=All adds the lists, the HTML texts, correlation, vectors and threat intelligence.
 */
import { formatDateTime } from './clock';
import type { KbChange, KbDetails, KbEntry, KnowledgeBase } from './kb';
import { cveUrl } from './models';
import type { KbRequest } from './params';
import { cdata } from './xml-writer';

const I6 = '      ';
const I8 = '        ';
const I10 = '          ';
const I12 = '            ';
const I14 = '              ';
const I16 = '                ';

/** `<LIST>` of `<ITEM>` elements with CDATA children, omitted when empty. */
function listXml(
  list: string,
  item: string,
  rows: readonly (readonly [string, string][])[],
): string {
  if (rows.length === 0) return '';
  let out = `${I8}<${list}>\n`;
  for (const fields of rows) {
    out += `${I10}<${item}>\n`;
    for (const [name, value] of fields) out += `${I12}<${name}>${cdata(value)}</${name}>\n`;
    out += `${I10}</${item}>\n`;
  }
  return out + `${I8}</${list}>\n`;
}

/** How KB texts are written: `crlf` gives multi-line texts CR LF line ends (option crlfText). */
export interface KbTextStyle {
  crlf: boolean;
}

/**
 * A KB text in CDATA. With CR LF line ends for one QID in three, as QID 11's DIAGNOSIS in
 * real-captures kb-qualysapi-2015-09.xml; an XML parser turns them back into LF (XML 1.0 §2.11).
 */
function textXml(text: string, qid: number, style: KbTextStyle): string {
  return cdata(style.crlf && qid % 3 === 0 ? text.replace(/\n/g, '\r\n') : text);
}

/** The details=All block between PATCHABLE and CVSS: lists, HTML texts, exploit correlation. */
function detailsXml(details: KbDetails, qid: number, style: KbTextStyle): string {
  let out = listXml(
    'SOFTWARE_LIST',
    'SOFTWARE',
    details.software.map((s) => [
      ['PRODUCT', s.product],
      ['VENDOR', s.vendor],
    ]),
  );
  out += listXml(
    'VENDOR_REFERENCE_LIST',
    'VENDOR_REFERENCE',
    details.vendorReferences.map((r) => [
      ['ID', r.id],
      ['URL', r.url],
    ]),
  );
  out += listXml(
    'CVE_LIST',
    'CVE',
    details.cves.map((id) => [
      ['ID', id],
      ['URL', cveUrl(id)],
    ]),
  );
  out += `${I8}<DIAGNOSIS>${textXml(details.diagnosis, qid, style)}</DIAGNOSIS>\n`;
  out += `${I8}<CONSEQUENCE>${textXml(details.consequence, qid, style)}</CONSEQUENCE>\n`;
  out += `${I8}<SOLUTION>${textXml(details.solution, qid, style)}</SOLUTION>\n`;
  if (details.compliance.length > 0) {
    out += `${I8}<COMPLIANCE_LIST>\n`;
    for (const c of details.compliance) {
      out += `${I10}<COMPLIANCE>\n${I12}<TYPE>${c.type}</TYPE>\n${I12}<SECTION>${cdata(c.section)}</SECTION>\n`;
      out += `${I12}<DESCRIPTION>${textXml(c.description, qid, style)}</DESCRIPTION>\n${I10}</COMPLIANCE>\n`;
    }
    out += `${I8}</COMPLIANCE_LIST>\n`;
  }
  if (details.exploitSources.length > 0) {
    out += `${I8}<CORRELATION>\n${I10}<EXPLOITS>\n`;
    for (const source of details.exploitSources) {
      out += `${I12}<EXPLT_SRC>\n${I14}<SRC_NAME>${cdata(source.name)}</SRC_NAME>\n${I14}<EXPLT_LIST>\n`;
      for (const e of source.exploits) {
        out += `${I16}<EXPLT>\n${I16}  <REF>${cdata(e.ref)}</REF>\n${I16}  <DESC>${cdata(e.desc)}</DESC>\n`;
        out += `${I16}  <LINK>${cdata(e.link)}</LINK>\n${I16}</EXPLT>\n`;
      }
      out += `${I14}</EXPLT_LIST>\n${I12}</EXPLT_SRC>\n`;
    }
    out += `${I10}</EXPLOITS>\n${I8}</CORRELATION>\n`;
  }
  return out;
}

/** CVSS and CVSS_V3: base and temporal always, vectors and sub-scores with details=All. */
function cvssXml(entry: KbEntry, all: boolean): string {
  let out = '';
  if (entry.cvss) {
    const c = entry.cvss;
    out += `${I8}<CVSS>\n${I10}<BASE source="service">${c.base}</BASE>\n${I10}<TEMPORAL>${c.temporal}</TEMPORAL>\n`;
    if (all) {
      out += `${I10}<VECTOR_STRING>${c.vectorString}</VECTOR_STRING>\n${I10}<ACCESS>\n`;
      out += `${I12}<VECTOR>${c.accessVector}</VECTOR>\n${I12}<COMPLEXITY>${c.accessComplexity}</COMPLEXITY>\n${I10}</ACCESS>\n`;
    }
    out += `${I8}</CVSS>\n`;
  }
  if (entry.cvss3) {
    const c = entry.cvss3;
    out += `${I8}<CVSS_V3>\n${I10}<BASE>${c.base}</BASE>\n${I10}<TEMPORAL>${c.temporal}</TEMPORAL>\n`;
    if (all) {
      out += `${I10}<VECTOR_STRING>${c.vectorString}</VECTOR_STRING>\n${I10}<CVSS3_VERSION>3.1</CVSS3_VERSION>\n${I10}<ATTACK>\n`;
      out += `${I12}<VECTOR>${c.attackVector}</VECTOR>\n${I12}<COMPLEXITY>${c.attackComplexity}</COMPLEXITY>\n${I10}</ATTACK>\n`;
    }
    out += `${I8}</CVSS_V3>\n`;
  }
  return out;
}

function discoveryXml(details: KbDetails): string {
  let out = `${I8}<DISCOVERY>\n${I10}<REMOTE>${details.remote ? 1 : 0}</REMOTE>\n`;
  if (details.authTypes.length > 0) {
    out += `${I10}<AUTH_TYPE_LIST>\n`;
    for (const t of details.authTypes) out += `${I12}<AUTH_TYPE>${t}</AUTH_TYPE>\n`;
    out += `${I10}</AUTH_TYPE_LIST>\n`;
  }
  if (details.additionalInfo)
    out += `${I10}<ADDITIONAL_INFO>${details.additionalInfo}</ADDITIONAL_INFO>\n`;
  return out + `${I8}</DISCOVERY>\n`;
}

function changeLogXml(log: readonly KbChange[]): string {
  if (log.length === 0) return '';
  let out = `${I8}<CHANGE_LOG_LIST>\n`;
  for (const c of log) {
    out += `${I10}<CHANGE_LOG_INFO>\n${I12}<CHANGE_DATE>${formatDateTime(c.date)}</CHANGE_DATE>\n`;
    out += `${I12}<COMMENTS>${cdata(c.comments)}</COMMENTS>\n${I10}</CHANGE_LOG_INFO>\n`;
  }
  return out + `${I8}</CHANGE_LOG_LIST>\n`;
}

export function vulnXml(
  kb: KnowledgeBase,
  index: number,
  request: KbRequest,
  style: KbTextStyle,
): string {
  const entry = kb.entries[index];
  const details = kb.details(index);
  const all = request.details === 'All';
  let out = `${I6}<VULN>\n${I8}<QID>${entry.qid}</QID>\n${I8}<VULN_TYPE>${entry.vulnType}</VULN_TYPE>\n`;
  out += `${I8}<SEVERITY_LEVEL>${entry.severity}</SEVERITY_LEVEL>\n${I8}<TITLE>${cdata(details.title)}</TITLE>\n`;
  out += `${I8}<CATEGORY>${entry.category.name}</CATEGORY>\n`;
  const modified = formatDateTime(kb.lastServiceModified(index));
  out += `${I8}<LAST_SERVICE_MODIFICATION_DATETIME>${modified}</LAST_SERVICE_MODIFICATION_DATETIME>\n`;
  out += `${I8}<PUBLISHED_DATETIME>${formatDateTime(entry.publishedSec)}</PUBLISHED_DATETIME>\n`;
  out += `${I8}<CODE_MODIFIED_DATETIME>${formatDateTime(entry.codeModifiedSec)}</CODE_MODIFIED_DATETIME>\n`;
  if (all) {
    out += listXml(
      'BUGTRAQ_LIST',
      'BUGTRAQ',
      details.bugtraq.map((b) => [
        ['ID', b.id],
        ['URL', b.url],
      ]),
    );
  }
  out += `${I8}<PATCHABLE>${entry.patchable ? 1 : 0}</PATCHABLE>\n`;
  if (all) out += detailsXml(details, entry.qid, style);
  out += cvssXml(entry, all);
  out += `${I8}<PCI_FLAG>${entry.pciFlag ? 1 : 0}</PCI_FLAG>\n`;
  if (all && entry.threatIntel.length > 0) {
    out += `${I8}<THREAT_INTELLIGENCE>\n`;
    for (const t of entry.threatIntel)
      out += `${I10}<THREAT_INTEL id="${t.id}">${cdata(t.name)}</THREAT_INTEL>\n`;
    out += `${I8}</THREAT_INTELLIGENCE>\n`;
  }
  if (request.showSupportedModules) {
    out += `${I8}<SUPPORTED_MODULES>${cdata(details.supportedModules)}</SUPPORTED_MODULES>\n`;
  }
  out += discoveryXml(details);
  if (request.showDisabledFlag)
    out += `${I8}<IS_DISABLED>${entry.disabled ? 1 : 0}</IS_DISABLED>\n`;
  if (request.showQidChangeLog) out += changeLogXml(kb.changeLog(index));
  return out + `${I6}</VULN>\n`;
}
