/**
 * What real responses carry beyond the documented structure (test_files/real-captures/README.md
 * and the captures beside it): the comments around and inside the documents, CR LF
 * and entity references inside CDATA, empty CDATA, KB entries without CVSS or with an integer one,
 * BUGTRAQ and COMPLIANCE lists, and hosts out of ID order as a fault. Defaults keep what clients
 * relied on; the rest is opt-in (options evaluation, keepAliveEvery, crlfText, fault unordered_hosts).
 */
import { FaultRule } from '../../src/simulator';
import {
  SMALL,
  XmlNode,
  allPages,
  call,
  child,
  children,
  hostIdsOf,
  path,
  toModel,
  withSimulator,
} from './helpers';

const HOSTS = '/api/4.0/fo/asset/host/?action=list&details=All';
const HLD = '/api/4.0/fo/asset/host/vm/detection/?action=list&show_results=1&show_igs=1';
const KB_ALL = '/api/4.0/fo/knowledge_base/vuln/?action=list&details=All';

const EVALUATION = '<!-- This report was generated with an evaluation version of Qualys //--> \n';
const CONFIDENTIAL =
  '<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service "As Is," ' +
  'without any warranty of any kind. Qualys makes no warranty that the information contained in ' +
  'this report is complete or error-free. Copyright 2025, Qualys, Inc. //--> \n';

function hostsOf(pages: { root: XmlNode }[]): XmlNode[] {
  return pages.flatMap((p) => children(path(p.root, 'RESPONSE', 'HOST_LIST'), 'HOST'));
}

describe('comments', () => {
  test('by default a list output ends with the CONFIDENTIAL notice and has no other top comment', async () => {
    await withSimulator(SMALL, async (sim) => {
      for (const [url, root] of [
        [HOSTS, 'HOST_LIST_OUTPUT'],
        [HLD, 'HOST_LIST_VM_DETECTION_OUTPUT'],
        [KB_ALL, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT'],
      ]) {
        const { body } = await call(sim, url);
        expect(body.endsWith(`</${root}>\n${CONFIDENTIAL}`)).toBe(true);
        expect(body).toMatch(new RegExp(`\\.dtd">\\n<${root}>\\n`));
        expect(body).not.toContain('evaluation version');
      }
      const error = await call(sim, '/api/4.0/fo/asset/host/?action=list&ids=x');
      expect(error.body).not.toContain('<!--');
    });
  });

  test('an evaluation subscription has its notice before and after the root', async () => {
    await withSimulator({ ...SMALL, evaluation: true }, async (sim) => {
      const { body } = await call(sim, HLD);
      const root = 'HOST_LIST_VM_DETECTION_OUTPUT';
      expect(body).toMatch(new RegExp(`\\.dtd">\\n${escape(EVALUATION)}<${root}>\\n`));
      expect(body.endsWith(`</${root}>\n${EVALUATION}${CONFIDENTIAL}`)).toBe(true);
    });
  });

  test('keep-alive comments between HOSTs and DETECTIONs leave the data as it was', async () => {
    const plain = await withSimulator(SMALL, (sim) => call(sim, HLD));
    await withSimulator({ ...SMALL, keepAliveEvery: 3 }, async (sim) => {
      const { body } = await call(sim, HLD);
      const comment = '<!-- keep-alive for HOST_LIST_VM_DETECTION_OUTPUT  -->\n';
      const hosts = (body.match(/<\/HOST>\n/g) ?? []).length;
      const detections = (body.match(/<\/DETECTION>\n/g) ?? []).length;
      expect(body.split(comment).length - 1).toBe(Math.floor((hosts + detections) / 3) + 1);
      expect(body).toMatch(/<\/DETECTION>\n<!-- keep-alive[^\n]*\n {10}<DETECTION>/);
      expect(body).toMatch(/<\/HOST>\n<!-- keep-alive[^\n]*\n {6}<HOST>/);
      expect(body.endsWith(`${CONFIDENTIAL}${comment}`)).toBe(true);
      expect(portless(body.split(comment).join(''))).toBe(portless(plain.body));
    });
  });

  test('with keep-alives on, the KB has two in a row before VULN_LIST and one after every n-th VULN', async () => {
    const plain = await withSimulator(SMALL, (sim) => call(sim, KB_ALL));
    await withSimulator({ ...SMALL, keepAliveEvery: 10 }, async (sim) => {
      const { body } = await call(sim, KB_ALL);
      const comment = '<!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT  -->\n';
      expect(body).toContain(`</DATETIME>\n${comment}${comment}    <VULN_LIST>`);
      const vulns = (body.match(/<\/VULN>\n/g) ?? []).length;
      expect(vulns).toBe(80);
      expect(body.split(comment).length - 1).toBe(2 + 8 + 1);
      expect(portless(body.split(comment).join(''))).toBe(
        portless(plain.body.split(comment).join('')),
      );
    });
  });
});

/** A body with the simulator's port taken out, to compare two simulators' answers. */
function portless(body: string): string {
  return body.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('KB texts and lists', () => {
  test('crlfText: multi-line texts of every third QID end their lines with CR LF; the data is the same', async () => {
    const plain = await withSimulator(SMALL, (sim) => call(sim, KB_ALL));
    await withSimulator({ ...SMALL, crlfText: true }, async (sim) => {
      const { body } = await call(sim, KB_ALL);
      const withCr = new Set<number>();
      for (const vuln of body.split('<VULN>').slice(1)) {
        const qid = Number(/<QID>(\d+)<\/QID>/.exec(vuln)?.[1]);
        if (vuln.includes('\r\n')) withCr.add(qid);
        // CR only ever comes before LF, inside CDATA, in the QIDs the option picks.
        expect([qid, vuln.includes('\r\n') && qid % 3 !== 0]).toEqual([qid, false]);
        expect(vuln.replace(/\r\n/g, '')).not.toContain('\r');
      }
      expect(withCr.size).toBeGreaterThan(5);
      expect(portless(body.replace(/\r\n/g, '\n'))).toBe(portless(plain.body));
    });
    expect(plain.body).not.toContain('\r');
  });

  test('entity references inside CDATA are literal text in the models', async () => {
    await withSimulator({ ...SMALL, qids: 400, detectionsPerHost: 30 }, async (sim) => {
      const kb = await call(sim, KB_ALL);
      expect(kb.body).toMatch(/<CONSEQUENCE><!\[CDATA\[Exploits such as &quot;[^\]]*&quot;/);
      const literal = sim.dataset
        .kbQids()
        .filter((qid) => /&quot;/.test(sim.dataset.kb(qid)?.CONSEQUENCE ?? ''));
      expect(literal.length).toBeGreaterThan(0);
      const [page] = await allPages(sim, `${HLD}&truncation_limit=0`);
      expect(page.body).toMatch(/<RESULTS><!\[CDATA\[[^\]]*don&apos;t rely on &quot;Server&quot;/);
      const results = sim.dataset
        .hostIds()
        .flatMap((id) => sim.dataset.detections(id) ?? [])
        .map((d) => d.RESULTS ?? '');
      expect(results.some((r) => r.includes('-&gt;&gt;HEADER&lt;&lt;-'))).toBe(true);
    });
  });

  test('CVSS: some entries have none, newer ones no v2, older ones no v3, some an integer base', async () => {
    await withSimulator({ ...SMALL, qids: 2000 }, async (sim) => {
      const { body } = await call(sim, KB_ALL);
      const models = sim.dataset.kbQids().map((qid) => sim.dataset.kb(qid));
      const scored = models.filter((m) => m?.VULN_TYPE !== 'Information Gathered');
      const year = (m: (typeof models)[number]): number =>
        Number(m?.PUBLISHED_DATETIME?.slice(0, 4));
      const neither = scored.filter((m) => !m?.CVSS && !m?.CVSS_V3);
      expect(neither.length).toBeGreaterThan(20);
      expect(scored.filter((m) => year(m) >= 2023).every((m) => m?.CVSS === undefined)).toBe(true);
      expect(scored.filter((m) => year(m) < 2016).every((m) => m?.CVSS_V3 === undefined)).toBe(
        true,
      );
      expect(scored.filter((m) => m?.CVSS && m.CVSS_V3).length).toBeGreaterThan(500);
      const integer = scored.filter((m) => m?.CVSS && Number.isInteger(m.CVSS.BASE));
      expect(integer.length).toBeGreaterThan(0);
      const qid = integer[0]?.QID;
      const vuln = body.split('<VULN>').find((v) => v.includes(`<QID>${qid}</QID>`)) ?? '';
      expect(vuln).toContain(`<BASE source="service">${integer[0]?.CVSS?.BASE}</BASE>`);
    });
  });

  test('BUGTRAQ_LIST (an empty CDATA URL among them) and COMPLIANCE_LIST as served', async () => {
    await withSimulator({ ...SMALL, qids: 2000 }, async (sim) => {
      const { body } = await call(sim, KB_ALL);
      expect(body).toMatch(
        /<BUGTRAQ>\n {12}<ID><!\[CDATA\[\d+\]\]><\/ID>\n {12}<URL><!\[CDATA\[\]\]><\/URL>/,
      );
      const models = sim.dataset.kbQids().map((qid) => sim.dataset.kb(qid));
      const bugtraq = models.flatMap((m) => m?.BUGTRAQ_LIST ?? []);
      expect(bugtraq.some((b) => b.URL === '')).toBe(true);
      expect(bugtraq.some((b) => b.URL === `http://www.securityfocus.com/bid/${b.ID}`)).toBe(true);
      const compliance = models.filter((m) => m?.COMPLIANCE_LIST);
      expect(compliance.some((m) => m?.CATEGORY === 'Security Policy')).toBe(true);
      expect(new Set(compliance.flatMap((m) => m?.COMPLIANCE_LIST?.map((c) => c.TYPE)))).toEqual(
        new Set(['CobIT', 'HIPAA', 'GLBA', 'SOX']),
      );
      const basic = await call(sim, '/api/4.0/fo/knowledge_base/vuln/?action=list');
      expect(basic.body).not.toContain('BUGTRAQ');
      expect(basic.body).not.toContain('COMPLIANCE');
    });
  });
});

describe('fault unordered_hosts', () => {
  const options = (rules: FaultRule[]): typeof SMALL => ({ ...SMALL, faults: { rules } });

  test('every other host of each page comes after the next one; pages and id_min are unchanged', async () => {
    const url = `${HLD}&truncation_limit=7`;
    const plain = await withSimulator(SMALL, (sim) => allPages(sim, url));
    await withSimulator(options([{ type: 'unordered_hosts', endpoint: 'hld' }]), async (sim) => {
      const pages = await allPages(sim, url);
      const next = (p: { warning?: { url: string } }): string => portless(p.warning?.url ?? '');
      expect(pages.map(next)).toEqual(plain.map(next));
      for (let k = 0; k < pages.length; k++) {
        const ascending = hostIdsOf([plain[k]]);
        const swapped = ascending.map((_, i) =>
          i % 2 === 0 ? (ascending[i + 1] ?? ascending[i]) : ascending[i - 1],
        );
        expect(hostIdsOf([pages[k]])).toEqual(swapped);
      }
      const served = hostsOf(pages).map((h) => Number(child(h, 'ID')?.text));
      expect(served.some((id, i) => i > 0 && id < served[i - 1])).toBe(true);
      const byId = new Map(hostsOf(pages).map((h) => [Number(child(h, 'ID')?.text), h]));
      for (const host of hostsOf(plain)) {
        const id = Number(child(host, 'ID')?.text);
        expect(toModel(byId.get(id) as XmlNode)).toEqual(toModel(host));
      }
      expect(sim.stats().faults.unordered_hosts).toBe(pages.length);
    });
  });

  test('swapEvery 3 moves every third host; ID_SET listings and other endpoints keep their order', async () => {
    await withSimulator(
      options([{ type: 'unordered_hosts', swapEvery: 3, endpoint: ['host_list', 'hld'] }]),
      async (sim) => {
        const ids = sim.dataset.hostIds();
        const [page] = await allPages(sim, `${HOSTS}&truncation_limit=0`);
        const expected = [...ids];
        for (let i = 2; i + 1 < expected.length; i += 3)
          [expected[i], expected[i + 1]] = [expected[i + 1], expected[i]];
        expect(hostIdsOf([page])).toEqual(expected);
        const [idSet] = await allPages(
          sim,
          '/api/4.0/fo/asset/host/?action=list&details=None&truncation_limit=0',
        );
        expect(hostIdsOf([idSet])).toEqual(ids);
      },
    );
  });
});
