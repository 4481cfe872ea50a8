/**
 * Paging (API doc §2-3): truncation_limit counts hosts, WARNING CODE 1980 with a next-page URL that
 * repeats every original parameter plus id_min, hosts ascending and each exactly once; ID_SET
 * listings with ID and ID_RANGE; the escaped-URL variant.
 */
import { Simulator, startSimulator } from '../../src/simulator';
import {
  SMALL,
  allPages,
  call,
  children,
  hostIdsOf,
  parseXml,
  path,
  withSimulator,
} from './helpers';

describe('pagination', () => {
  let sim: Simulator;
  beforeAll(
    async () => (sim = await startSimulator({ ...SMALL, rateLimit: 10_000, concurrencyLimit: 4 })),
  );
  afterAll(() => sim.close());

  test.each([1, 3, 7, 39, 40, 1000, 0])(
    'Host List, truncation_limit=%i: every host once, ascending, pages of at most that many',
    async (limit) => {
      const pages = await allPages(
        sim,
        `/api/4.0/fo/asset/host/?action=list&details=Basic&truncation_limit=${limit}`,
      );
      expect(hostIdsOf(pages)).toEqual(sim.dataset.hostIds());
      const expectedPages = limit === 0 ? 1 : Math.ceil(40 / limit);
      expect(pages).toHaveLength(expectedPages);
      for (const page of pages.slice(0, -1)) {
        expect(children(path(page.root, 'RESPONSE', 'HOST_LIST'), 'HOST')).toHaveLength(limit);
        expect(page.warning?.code).toBe('1980');
        expect(page.warning?.text).toBe(
          `${limit} record limit exceeded. Use URL to get next batch of results.`,
        );
      }
      expect(pages[pages.length - 1].warning).toBeUndefined();
    },
  );

  test.each([1, 4, 1000])(
    'HLD, truncation_limit=%i: every matching host once, ascending',
    async (limit) => {
      const pages = await allPages(
        sim,
        `/api/4.0/fo/asset/host/vm/detection/?action=list&status=New,Re-Opened&severities=3-5&truncation_limit=${limit}`,
      );
      const expected = sim.dataset
        .matchDetections({ status: 'New,Re-Opened', severities: '3-5' })
        .map((h) => h.hostId);
      expect(expected.length).toBeGreaterThan(5);
      expect(expected.length).toBeLessThan(40);
      expect(hostIdsOf(pages)).toEqual(expected);
      expect(pages).toHaveLength(Math.ceil(expected.length / limit));
    },
  );

  test('the WARNING URL repeats every original parameter (POST body included) with id_min', async () => {
    const reply = await call(sim, '/api/4.0/fo/asset/host/vm/detection/?action=list', {
      method: 'POST',
      form: 'show_tags=1&status=New%2CActive&id_min=1&truncation_limit=2',
    });
    const pages = await allPages(
      sim,
      '/api/4.0/fo/asset/host/vm/detection/?action=list&show_tags=1&status=New%2CActive&truncation_limit=2',
    );
    const [first] = pages;
    expect(reply.body).toBe(first.body);
    const ids = hostIdsOf([first]);
    expect(first.warning?.url).toBe(
      `${sim.baseUrl}/api/4.0/fo/asset/host/vm/detection/?action=list&show_tags=1&status=New%2CActive&truncation_limit=2&id_min=${ids[1] + 1}`,
    );
    expect(first.body).toContain('<URL><![CDATA[http://127.0.0.1:');
  });

  test('an id_min already present is replaced, not repeated', async () => {
    const start = sim.dataset.hostIds()[10];
    const reply = await call(
      sim,
      `/api/4.0/fo/asset/host/?action=list&id_min=${start}&truncation_limit=3`,
    );
    const ids = hostIdsOf([{ root: parseXml(reply.body), body: reply.body }]);
    expect(ids).toEqual(sim.dataset.hostIds().slice(10, 13));
    expect(reply.body).toContain(`?action=list&truncation_limit=3&id_min=${ids[2] + 1}]]>`);
  });

  test('details=None lists IDs as ID and ID_RANGE, paged the same way', async () => {
    for (const limit of [0, 6]) {
      const pages = await allPages(
        sim,
        `/api/2.0/fo/asset/host/?action=list&details=None&truncation_limit=${limit}`,
      );
      expect(hostIdsOf(pages)).toEqual(sim.dataset.hostIds());
      const items = pages.flatMap((p) => path(p.root, 'RESPONSE', 'ID_SET')?.children ?? []);
      expect(items.some((i) => i.name === 'ID_RANGE')).toBe(true);
      for (const item of items) {
        const [a, b = a] = item.text.split('-').map(Number);
        expect([item.name, b > a]).toEqual([b > a ? 'ID_RANGE' : 'ID', b > a]);
      }
    }
    const all = sim.dataset.hostIds();
    const [page] = await allPages(
      sim,
      `/api/2.0/fo/asset/host/?action=list&details=None&ids=${all[0]},${all[2]}-${all[3]}`,
    );
    const items = path(page.root, 'RESPONSE', 'ID_SET')?.children.map((i) => [i.name, i.text]);
    expect(items).toEqual([
      ['ID', String(all[0])],
      ['ID_RANGE', `${all[2]}-${all[3]}`],
    ]);
  });

  test('ids lists and ranges, id_min and id_max select hosts', async () => {
    const all = sim.dataset.hostIds();
    const ids = `${all[0]},${all[5]}-${all[8]},${all[30]}`;
    const pages = await allPages(
      sim,
      `/api/4.0/fo/asset/host/?action=list&ids=${ids}&truncation_limit=2`,
    );
    expect(hostIdsOf(pages)).toEqual([all[0], all[5], all[6], all[7], all[8], all[30]]);
    const bounded = await allPages(
      sim,
      `/api/4.0/fo/asset/host/?action=list&id_min=${all[3]}&id_max=${all[20]}`,
    );
    expect(hostIdsOf(bounded)).toEqual(all.slice(3, 21));
    const none = await call(sim, '/api/4.0/fo/asset/host/?action=list&ids=123');
    expect(path(parseXml(none.body), 'RESPONSE')?.children.map((c) => c.name)).toEqual([
      'DATETIME',
    ]);
  });
});

test('warningUrl "escaped" writes the URL as text with &amp;, which parses to the same URL', async () => {
  await withSimulator({ ...SMALL, warningUrl: 'escaped' }, async (sim) => {
    const pages = await allPages(
      sim,
      '/api/4.0/fo/asset/host/?action=list&details=Basic&truncation_limit=15',
    );
    expect(hostIdsOf(pages)).toEqual(sim.dataset.hostIds());
    expect(pages[0].body).toMatch(
      /<URL>http:\/\/127\.0\.0\.1:\d+\/api\/4\.0\/fo\/asset\/host\/\?action=list&amp;details=Basic&amp;truncation_limit=15&amp;id_min=\d+<\/URL>/,
    );
    expect(pages[0].warning?.url).toMatch(
      /\?action=list&details=Basic&truncation_limit=15&id_min=\d+$/,
    );
  });
});
