/**
 * VULN elements of the KnowledgeBase output (doc §4), in content-model order. details=Basic carries
 * the identifying fields, dates, PATCHABLE, CVSS base/temporal, PCI_FLAG and DISCOVERY (doc: "Basic
 * includes basic elements plus CVSS Base and Temporal scores"; which other fields count as basic is
 * [I]); details=All adds the lists, the HTML texts, correlation, vectors and threat intelligence.
 */
import { formatDateTime } from './clock';
import type { KnowledgeBase } from './kb';
import { cveUrl } from './models';
import type { KbRequest } from './params';
import { cdata } from './xml-writer';

const I6 = '      ';
const I8 = '        ';
const I10 = '          ';
const I12 = '            ';
const I14 = '              ';
const I16 = '                ';

export function vulnXml(kb: KnowledgeBase, index: number, request: KbRequest): string {
  const entry = kb.entries[index];
  const details = kb.details(index);
  const all = request.details === 'All';
  let out = `${I6}<VULN>\n${I8}<QID>${entry.qid}</QID>\n${I8}<VULN_TYPE>${entry.vulnType}</VULN_TYPE>\n`;
  out += `${I8}<SEVERITY_LEVEL>${entry.severity}</SEVERITY_LEVEL>\n${I8}<TITLE>${cdata(details.title)}</TITLE>\n`;
  out += `${I8}<CATEGORY>${entry.category.name}</CATEGORY>\n`;
  out += `${I8}<LAST_SERVICE_MODIFICATION_DATETIME>${formatDateTime(kb.lastServiceModified(index))}</LAST_SERVICE_MODIFICATION_DATETIME>\n`;
  out += `${I8}<PUBLISHED_DATETIME>${formatDateTime(entry.publishedSec)}</PUBLISHED_DATETIME>\n`;
  out += `${I8}<CODE_MODIFIED_DATETIME>${formatDateTime(entry.codeModifiedSec)}</CODE_MODIFIED_DATETIME>\n`;
  out += `${I8}<PATCHABLE>${entry.patchable ? 1 : 0}</PATCHABLE>\n`;
  if (all) {
    if (details.software.length > 0) {
      out += `${I8}<SOFTWARE_LIST>\n`;
      for (const s of details.software) {
        out += `${I10}<SOFTWARE>\n${I12}<PRODUCT>${cdata(s.product)}</PRODUCT>\n${I12}<VENDOR>${cdata(s.vendor)}</VENDOR>\n${I10}</SOFTWARE>\n`;
      }
      out += `${I8}</SOFTWARE_LIST>\n`;
    }
    if (details.vendorReferences.length > 0) {
      out += `${I8}<VENDOR_REFERENCE_LIST>\n`;
      for (const r of details.vendorReferences) {
        out += `${I10}<VENDOR_REFERENCE>\n${I12}<ID>${cdata(r.id)}</ID>\n${I12}<URL>${cdata(r.url)}</URL>\n${I10}</VENDOR_REFERENCE>\n`;
      }
      out += `${I8}</VENDOR_REFERENCE_LIST>\n`;
    }
    if (details.cves.length > 0) {
      out += `${I8}<CVE_LIST>\n`;
      for (const id of details.cves) {
        out += `${I10}<CVE>\n${I12}<ID>${cdata(id)}</ID>\n${I12}<URL>${cdata(cveUrl(id))}</URL>\n${I10}</CVE>\n`;
      }
      out += `${I8}</CVE_LIST>\n`;
    }
    out += `${I8}<DIAGNOSIS>${cdata(details.diagnosis)}</DIAGNOSIS>\n`;
    out += `${I8}<CONSEQUENCE>${cdata(details.consequence)}</CONSEQUENCE>\n`;
    out += `${I8}<SOLUTION>${cdata(details.solution)}</SOLUTION>\n`;
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
  }
  if (entry.cvss) {
    out += `${I8}<CVSS>\n${I10}<BASE source="service">${entry.cvss.base}</BASE>\n${I10}<TEMPORAL>${entry.cvss.temporal}</TEMPORAL>\n`;
    if (all) {
      out += `${I10}<VECTOR_STRING>${entry.cvss.vectorString}</VECTOR_STRING>\n`;
      out += `${I10}<ACCESS>\n${I12}<VECTOR>${entry.cvss.accessVector}</VECTOR>\n${I12}<COMPLEXITY>${entry.cvss.accessComplexity}</COMPLEXITY>\n${I10}</ACCESS>\n`;
    }
    out += `${I8}</CVSS>\n`;
  }
  if (entry.cvss3) {
    out += `${I8}<CVSS_V3>\n${I10}<BASE>${entry.cvss3.base}</BASE>\n${I10}<TEMPORAL>${entry.cvss3.temporal}</TEMPORAL>\n`;
    if (all) {
      out += `${I10}<VECTOR_STRING>${entry.cvss3.vectorString}</VECTOR_STRING>\n${I10}<CVSS3_VERSION>3.1</CVSS3_VERSION>\n`;
      out += `${I10}<ATTACK>\n${I12}<VECTOR>${entry.cvss3.attackVector}</VECTOR>\n${I12}<COMPLEXITY>${entry.cvss3.attackComplexity}</COMPLEXITY>\n${I10}</ATTACK>\n`;
    }
    out += `${I8}</CVSS_V3>\n`;
  }
  out += `${I8}<PCI_FLAG>${entry.pciFlag ? 1 : 0}</PCI_FLAG>\n`;
  if (all && entry.threatIntel.length > 0) {
    out += `${I8}<THREAT_INTELLIGENCE>\n`;
    for (const t of entry.threatIntel)
      out += `${I10}<THREAT_INTEL id="${t.id}">${cdata(t.name)}</THREAT_INTEL>\n`;
    out += `${I8}</THREAT_INTELLIGENCE>\n`;
  }
  if (request.showSupportedModules)
    out += `${I8}<SUPPORTED_MODULES>${cdata(details.supportedModules)}</SUPPORTED_MODULES>\n`;
  out += `${I8}<DISCOVERY>\n${I10}<REMOTE>${details.remote ? 1 : 0}</REMOTE>\n`;
  if (details.authTypes.length > 0) {
    out += `${I10}<AUTH_TYPE_LIST>\n`;
    for (const t of details.authTypes) out += `${I12}<AUTH_TYPE>${t}</AUTH_TYPE>\n`;
    out += `${I10}</AUTH_TYPE_LIST>\n`;
  }
  if (details.additionalInfo)
    out += `${I10}<ADDITIONAL_INFO>${details.additionalInfo}</ADDITIONAL_INFO>\n`;
  out += `${I8}</DISCOVERY>\n`;
  if (request.showDisabledFlag)
    out += `${I8}<IS_DISABLED>${entry.disabled ? 1 : 0}</IS_DISABLED>\n`;
  const log = kb.changeLog(index);
  if (request.showQidChangeLog && log.length > 0) {
    out += `${I8}<CHANGE_LOG_LIST>\n`;
    for (const c of log) {
      out += `${I10}<CHANGE_LOG_INFO>\n${I12}<CHANGE_DATE>${formatDateTime(c.date)}</CHANGE_DATE>\n`;
      out += `${I12}<COMMENTS>${cdata(c.comments)}</COMMENTS>\n${I10}</CHANGE_LOG_INFO>\n`;
    }
    out += `${I8}</CHANGE_LOG_LIST>\n`;
  }
  return out + `${I6}</VULN>\n`;
}
