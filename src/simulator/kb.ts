/**
 * The simulated KnowledgeBase (API doc §4): one entry per QID, covering every QID a detection can
 * carry. Scoring fields (type, severity, CVSS, threat intel, QDS) are generated eagerly because every
 * detection needs them; the long texts (title, HTML, CVEs, exploits) are regenerated on demand from
 * (seed, QID index) so a 50,000-QID knowledge base stays small in memory.
 */
import { Rng, Stream, hash32 } from './random';
import {
  COMPLIANCE_ITEMS,
  CONSEQUENCE_TEMPLATES,
  DIAGNOSIS_TEMPLATES,
  EXPLOIT_SOURCES,
  KB_CATEGORIES,
  KbCategory,
  KbTitle,
  MONTHS,
  PACKAGES,
  Platform,
  SOLUTION_TEMPLATES,
  THREAT_INTEL,
  VulnType,
} from './vocabulary';

export type QdsSeverity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface NameValue {
  name: string;
  value: string;
}

export interface CvssV2 {
  base: number;
  temporal: number;
  vectorString: string;
  /** 1 local, 2 adjacent network, 3 network (doc §4, [I]). */
  accessVector: number;
  accessComplexity: number;
}

export interface CvssV3 {
  base: number;
  temporal: number;
  vectorString: string;
  attackVector: number;
  attackComplexity: number;
}

/** What every detection of the QID needs; generated once per QID at start-up. */
export interface KbEntry {
  index: number;
  qid: number;
  category: KbCategory;
  /** The category's title this QID is an instance of (its service, product and platforms). */
  title: KbTitle;
  vulnType: VulnType;
  severity: number;
  /** Reported on a port: then detections carry one of `ports` that the host runs. */
  portBased: boolean;
  ports: readonly number[];
  /** The only platforms the QID is found on; undefined = any. */
  platforms?: readonly Platform[];
  /** Disabled QIDs make their detections IS_DISABLED=1 (filtered unless include_disabled=1). */
  disabled: boolean;
  patchable: boolean;
  pciFlag: boolean;
  publishedSec: number;
  codeModifiedSec: number;
  baseModifiedSec: number;
  /**
   * Served CVSS scores. QIDs published from 2023 have no CVSS v2 (NVD stopped v2 scoring in July
   * 2022), those before 2016 no CVSS v3 (published December 2015), and a few neither.
   */
  cvss?: CvssV2;
  cvss3?: CvssV3;
  threatIntel: readonly { id: number; name: string }[];
  /** QDS 1-100 and its band (doc §6); absent for Information Gathered QIDs. */
  qds?: number;
  qdsSeverity?: QdsSeverity;
  qdsFactors: readonly NameValue[];
}

export interface KbExploit {
  ref: string;
  desc: string;
  link: string;
}

/** The long-form parts of a KB entry, regenerated on demand. */
export interface KbDetails {
  title: string;
  /** SecurityFocus BIDs of older QIDs; a URL may be empty (real-captures kb-demisto-2024-02.xml). */
  bugtraq: readonly { id: string; url: string }[];
  software: readonly { product: string; vendor: string }[];
  vendorReferences: readonly { id: string; url: string }[];
  cves: readonly string[];
  diagnosis: string;
  consequence: string;
  solution: string;
  compliance: readonly { type: string; section: string; description: string }[];
  exploitSources: readonly { name: string; exploits: readonly KbExploit[] }[];
  remote: boolean;
  authTypes: readonly string[];
  additionalInfo?: string;
  supportedModules: string;
}

export interface KbChange {
  date: number;
  comments: string;
}

const CHANGE_COMMENTS = [
  'CVSS temporal score updated.',
  'Detection logic updated to cover new versions.',
  'Solution updated with the vendor advisory link.',
  'Threat intelligence updated: exploit published.',
];

export function qdsBand(qds: number): QdsSeverity {
  if (qds >= 90) return 'CRITICAL';
  if (qds >= 70) return 'HIGH';
  if (qds >= 40) return 'MEDIUM';
  return 'LOW';
}

const V3_AV = ['P', 'L', 'A', 'N'];
const V2_AV = ['', 'L', 'A', 'N'];

export class KnowledgeBase {
  readonly entries: readonly KbEntry[];
  private readonly indexByQid = new Map<number, number>();
  /** Service modification times per QID index, appended by scan cycles. */
  private readonly changes = new Map<number, KbChange[]>();

  constructor(
    private readonly seed: number,
    qidCount: number,
    private readonly startSec: number,
  ) {
    this.entries = this.generateEntries(qidCount);
    this.entries.forEach((e) => this.indexByQid.set(e.qid, e.index));
  }

  get size(): number {
    return this.entries.length;
  }

  indexOf(qid: number): number | undefined {
    return this.indexByQid.get(qid);
  }

  lastServiceModified(index: number): number {
    const log = this.changes.get(index);
    return log ? log[log.length - 1].date : this.entries[index].baseModifiedSec;
  }

  changeLog(index: number): readonly KbChange[] {
    return this.changes.get(index) ?? [];
  }

  /** Records a service modification (a scan cycle moved LAST_SERVICE_MODIFICATION_DATETIME). */
  modify(index: number, date: number): void {
    const log = this.changes.get(index) ?? [];
    log.push({
      date,
      comments: CHANGE_COMMENTS[hash32(this.seed, index, log.length) % CHANGE_COMMENTS.length],
    });
    this.changes.set(index, log);
  }

  /** QIDs per category, cumulative rounding so the counts add up exactly to `qidCount`. */
  private generateEntries(qidCount: number): KbEntry[] {
    const entries: KbEntry[] = [];
    let cumulativeShare = 0;
    let assigned = 0;
    for (const category of KB_CATEGORIES) {
      cumulativeShare += category.share;
      const upTo = Math.round((cumulativeShare / 100) * qidCount);
      const count = upTo - assigned;
      assigned = upTo;
      const maxGap = Math.max(
        1,
        Math.floor((category.lastQid - category.firstQid + 1) / Math.max(count, 1)),
      );
      const rng = Rng.keyed(this.seed, Stream.knowledgeBase, category.firstQid);
      let qid = category.firstQid + rng.int(0, maxGap - 1);
      for (let k = 0; k < count; k++) {
        entries.push(this.generateEntry(entries.length, qid, category));
        qid += rng.int(1, maxGap);
      }
    }
    return entries;
  }

  private generateEntry(index: number, qid: number, category: KbCategory): KbEntry {
    const rng = Rng.keyed(this.seed, Stream.knowledgeBase, qid, 1);
    const ig = category.informationGathered;
    const vulnType: VulnType = ig
      ? 'Information Gathered'
      : (
          [
            'Vulnerability',
            'Potential Vulnerability',
            'Vulnerability or Potential Vulnerability',
          ] as const
        )[rng.weighted([80, 13, 7])];
    const severity = ig ? (rng.chance(0.8) ? 1 : 2) : 1 + rng.weighted([5, 15, 35, 30, 15]);
    const title = kbTitle(category, hash32(this.seed, Stream.knowledgeBase, qid, 3));
    const portBased = title.ports ? true : rng.chance(category.portBased);
    const publishedSec = this.startSec - rng.int(30, 3650) * 86400 - rng.int(0, 86399);
    const latest = this.startSec - 3 * 3600;
    const baseModifiedSec = publishedSec + Math.floor(rng.float() * (latest - publishedSec));
    const codeModifiedSec =
      publishedSec + Math.floor(rng.float() * (baseModifiedSec - publishedSec));
    const entry: KbEntry = {
      index,
      qid,
      category,
      title,
      vulnType,
      severity,
      portBased,
      ports: portBased ? (title.ports ?? category.ports) : [],
      platforms: title.platforms ?? category.platforms,
      disabled: rng.chance(0.02),
      patchable: !ig && rng.chance(0.85),
      pciFlag: !ig && severity >= 3,
      publishedSec,
      codeModifiedSec,
      baseModifiedSec,
      threatIntel: [],
      qdsFactors: [],
    };
    if (!ig) this.score(rng, entry);
    return entry;
  }

  /** CVSS v2/v3, threat intelligence and the QDS derived from them (doc §6: CVSS + exploit maturity). */
  private score(rng: Rng, entry: KbEntry): void {
    const { severity } = entry;
    const accessVector = 1 + rng.weighted([30, 5, 65]);
    const v2base = clampScore(severity * 2 - rng.float() * 1.5);
    entry.cvss = {
      base: v2base,
      temporal: round1(v2base * (0.8 + rng.float() * 0.15)),
      vectorString: `CVSS:2.0/AV:${V2_AV[accessVector]}/AC:${rng.pick(['L', 'M', 'H'])}/Au:N/C:P/I:P/A:${rng.pick(['N', 'P', 'C'])}/E:${rng.pick(['U', 'POC', 'F'])}/RL:OF/RC:C`,
      accessVector,
      accessComplexity: rng.int(1, 3),
    };
    const v3base = clampScore(severity * 2 - rng.float() * 1.2 + 0.3);
    const attackVector = accessVector === 1 ? 1 : accessVector === 2 ? 2 : 3;
    const v3core = `AV:${V3_AV[attackVector]}/AC:${rng.pick(['L', 'H'])}/PR:${rng.pick(['N', 'L', 'H'])}/UI:${rng.pick(['N', 'R'])}/S:U/C:H/I:H/A:${rng.pick(['N', 'L', 'H'])}`;
    entry.cvss3 = {
      base: v3base,
      temporal: round1(v3base * (0.87 + rng.float() * 0.1)),
      vectorString: `CVSS:3.1/${v3core}/E:${rng.pick(['U', 'P', 'F'])}/RL:O/RC:C`,
      attackVector,
      attackComplexity: rng.int(1, 2),
    };

    const kev = severity >= 4 && rng.chance(0.08);
    const intel = THREAT_INTEL.filter((t) => {
      if (t.id === 18) return kev;
      if (t.id === 2) return kev || rng.chance(0.3);
      if (t.id === 8) return !entry.patchable;
      return rng.chance(severity >= 4 ? 0.25 : 0.08);
    });
    entry.threatIntel = intel;
    const maturity =
      kev || rng.chance(0.05) ? 'weaponized' : intel.some((t) => t.id === 2) ? 'poc' : undefined;
    const epss = (rng.float() ** 4).toFixed(5);
    let qds = Math.round(v3base * 10 - 5 + rng.float() * 6);
    if (maturity === 'weaponized') qds += 10;
    else if (maturity === 'poc') qds += 5;
    if (kev) qds = Math.max(qds, 90);
    entry.qds = Math.min(100, Math.max(1, qds));
    entry.qdsSeverity = qdsBand(entry.qds);

    const trending = rng.chance(0.05);
    const year = new Date(entry.publishedSec * 1000).getUTCFullYear();
    const unscored = rng.chance(0.04);
    if (unscored || year >= 2023) entry.cvss = undefined;
    if (unscored || year < 2016) entry.cvss3 = undefined;

    const factors: NameValue[] = [];
    if (intel.length > 0) factors.push({ name: 'RTI', value: intel.map((t) => t.name).join(',') });
    if (maturity) factors.push({ name: 'exploit_maturity', value: maturity });
    if (kev) factors.push({ name: 'CISA_vuln', value: 'YES' });
    const scored = entry.cvss3 ?? entry.cvss;
    if (scored) {
      factors.push({ name: 'CVSS', value: scored.base.toFixed(1) });
      factors.push({ name: 'CVSS_version', value: entry.cvss3 ? 'v3.x' : 'v2' });
    }
    factors.push({ name: 'epss', value: epss });
    if (scored) {
      const vector = entry.cvss3 ? v3core : scored.vectorString.replace(/^CVSS:2\.0\//, '');
      factors.push({ name: 'CVSS_vector', value: vector });
    }
    if (trending) factors.push({ name: 'trending', value: '05152025,05222025' });
    entry.qdsFactors = factors;
  }

  /** The long-form parts of entry `index`, regenerated deterministically. */
  details(index: number): KbDetails {
    const entry = this.entries[index];
    const { category } = entry;
    const rng = Rng.keyed(this.seed, Stream.knowledgeBase, entry.qid, 2);
    const year = new Date(entry.publishedSec * 1000).getUTCFullYear();
    const kb = `KB${rng.int(4000000, 5099999)}`;
    const product = entry.title.product ?? rng.pick(category.products);
    const version = `${rng.int(1, 12)}.${rng.int(0, 9)}.${rng.int(0, 40)}`;
    const fill = (template: string): string =>
      template
        .replace(/\{month\}/g, rng.pick(MONTHS))
        .replace(/\{year\}/g, String(year))
        .replace(/\{kb\}/g, kb)
        .replace(/\{version\}/g, version)
        .replace(/\{package\}/g, rng.pick(PACKAGES))
        .replace(/\{advisory\}/g, String(rng.int(1000, 7999)))
        .replace(/\{product\}/g, product)
        .replace(/\{title\}/g, 'This issue');
    const ig = category.informationGathered;
    const cves: string[] = [];
    if (!ig && rng.chance(0.75)) {
      const n = rng.int(1, 4);
      for (let k = 0; k < n; k++) cves.push(`CVE-${year}-${rng.int(1000, 49999)}`);
    }
    const exploitSources: { name: string; exploits: KbExploit[] }[] = [];
    if (cves.length > 0 && entry.threatIntel.some((t) => t.id === 2)) {
      const sources = rng.int(1, 2);
      for (let s = 0; s < sources; s++) {
        const source = EXPLOIT_SOURCES[(hash32(entry.qid, s) + s) % EXPLOIT_SOURCES.length];
        if (exploitSources.some((e) => e.name === source.name)) continue;
        const exploits: KbExploit[] = [];
        for (let k = rng.int(1, 2); k > 0; k--) {
          const ref = rng.pick(cves);
          const number = rng.int(10000, 52999);
          exploits.push({
            ref,
            desc: `${product} ${version} - Remote Exploit - ${source.name} Ref : ${number}`,
            link: `${source.link}${number}`,
          });
        }
        exploitSources.push({ name: source.name, exploits });
      }
    }
    const bugtraq: { id: string; url: string }[] = [];
    if (!ig && year < 2021 && rng.chance(0.4)) {
      for (let k = rng.int(1, 2); k > 0; k--) {
        const id = String(rng.int(10000, 109999));
        bugtraq.push({ id, url: rng.chance(0.1) ? '' : `http://www.securityfocus.com/bid/${id}` });
      }
    }
    const compliance: (typeof COMPLIANCE_ITEMS)[number][] = [];
    if (category.name === 'Security Policy' || (!ig && year < 2019 && rng.chance(0.15))) {
      const first = rng.int(0, COMPLIANCE_ITEMS.length - 1);
      compliance.push(COMPLIANCE_ITEMS[first]);
      if (rng.chance(0.5)) compliance.push(COMPLIANCE_ITEMS[(first + 1) % COMPLIANCE_ITEMS.length]);
    }
    const auth = category.authTypes.length > 0 && !category.portBased;
    const additional: string[] = [];
    if (entry.patchable) additional.push('Patch Available');
    if (exploitSources.length > 0) additional.push('Exploit Available');
    return {
      title: fill(entry.title.text),
      bugtraq,
      software: ig ? [] : [{ product, vendor: category.vendor }],
      vendorReferences:
        category.vendor === 'microsoft'
          ? [{ id: kb, url: `https://support.microsoft.com/help/${kb.slice(2)}` }]
          : [],
      cves,
      diagnosis: fill(rng.pick(DIAGNOSIS_TEMPLATES)),
      consequence: ig ? 'N/A' : fill(rng.pick(CONSEQUENCE_TEMPLATES)),
      solution: ig ? 'N/A' : fill(rng.pick(SOLUTION_TEMPLATES)),
      compliance,
      exploitSources,
      remote: !auth,
      authTypes: auth ? category.authTypes : [],
      additionalInfo: additional.length > 0 ? additional.join(', ') : undefined,
      supportedModules: auth ? 'VM, CA-Windows Agent, CA-Linux Agent' : 'VM',
    };
  }
}

function kbTitle(category: KbCategory, key: number): KbTitle {
  const title = category.titles[key % category.titles.length];
  return typeof title === 'string' ? { text: title } : title;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function clampScore(x: number): number {
  return Math.min(10, Math.max(0.1, round1(x)));
}
