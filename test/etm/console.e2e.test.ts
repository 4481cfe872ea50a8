/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The ETM console in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against `etm serve` on a store synced from the simulator. Loads each page, searches, sorts,
 * pages, opens an asset and a finding, downloads the CSV and compares it with `etm query --format
 * json`, checks the TruRisk explanation against TruRisk worked out from the asset's findings, and
 * leaves screenshots in test-output/console/. Without Chromium it fails with the command that
 * installs it.
 */
import { ChildProcess } from 'child_process';
import fs from 'fs';
import http from 'http';
import path from 'path';
import { Browser, chromium, Page } from 'playwright-core';

import { startSimulator } from '../../src/simulator';
import { connectors, finished, runEtm, sourceConfig, startEtm, waitFor } from './e2e';
import {
  csvText,
  expectedTruRisk,
  jsonRecords,
  parseCsv,
  SyncedStore,
  syncedStore,
} from './console-store';
import { ROOT, tempDir } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-output/console');

let s: SyncedStore;
let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;
let assets: Record<string, unknown>[];
let findings: Record<string, unknown>[];
/** Uncaught errors in the page: none may happen. */
const pageErrors: string[] = [];

/** Starts `etm serve` and resolves with the URL it prints. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = startEtm(['serve', '--db', s.db, '--port', '0', ...args]);
  let out = '';
  const printed = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ETM console on .*: (http:\/\/127\.0\.0\.1:\d+\/\S*) \(Ctrl-C stops it\)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`etm serve exited ${code}: ${out}`)));
  });
  return { child, url: printed };
}

async function stop(child: ChildProcess): Promise<void> {
  const done = finished(child);
  child.kill('SIGTERM');
  await done;
}

const etm = (...args: string[]) => runEtm([args[0], '--db', s.db, ...args.slice(1)]);
const shot = (name: string) =>
  page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const rowKeys = () =>
  page.$$eval('#results table.list tbody tr', (rows) =>
    rows.map((r) => r.getAttribute('data-key')),
  );
const countText = () => page.textContent('#count');
const n = (v: number) => v.toLocaleString('en-US');

function sortedDesc<T extends Record<string, unknown>>(list: T[], field: string): T[] {
  return list
    .map((r, i) => ({ r, i }))
    .sort(
      (a, b) =>
        ((b.r[field] as number) ?? -Infinity) - ((a.r[field] as number) ?? -Infinity) || a.i - b.i,
    )
    .map((e) => e.r);
}

/** Opens a list page and waits for its rows (or its error). */
async function openList(hash: string): Promise<void> {
  await page.goto(`${url}${hash}`);
  await page.waitForSelector('#results table.list, #results #error');
}

/** Waits until the list shows a page other than `before` (a sort or a search landed). */
async function changed(before: string | null): Promise<void> {
  await page.waitForFunction((b) => {
    const t =
      document.querySelector('#count')?.textContent ??
      document.querySelector('#error')?.textContent;
    const first = document.querySelector('#results table.list tbody tr')?.getAttribute('data-key');
    return `${t}|${first}|${location.hash}` !== b;
  }, before);
}
const listState = () =>
  page.evaluate(() => {
    const t =
      document.querySelector('#count')?.textContent ??
      document.querySelector('#error')?.textContent;
    const first = document.querySelector('#results table.list tbody tr')?.getAttribute('data-key');
    return `${t}|${first}|${location.hash}`;
  });

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}; install it (as root): apt-get update && apt-get install -y chromium`,
    );
  }
  fs.mkdirSync(SHOTS, { recursive: true });
  s = await syncedStore(40);
  assets = jsonRecords(
    (await etm('query', '--format', 'json', 'inventory: (source: VMDR)')).stdout,
  );
  findings = jsonRecords(
    (await etm('query', '--format', 'json', 'finding.vendorProductName: VMDR')).stdout,
  );
  ({ child: server, url } = await serve([]));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  page.on('pageerror', (err) => pageErrors.push(err.message));
}, 120000);

afterEach(() => expect(pageErrors).toEqual([]));

afterAll(async () => {
  await browser?.close();
  if (server) await stop(server);
  await s?.close();
});

test('overview: the riskiest assets first, charts of bands, severities and runs', async () => {
  await page.goto(`${url}#/overview`);
  await page.waitForSelector('#riskiest tbody tr');
  const top = sortedDesc(
    [...assets].sort((a, b) => ((a.assetKey as string) < (b.assetKey as string) ? -1 : 1)),
    'truRiskScore',
  ).slice(0, 10);
  const rows = await page.$$eval('#riskiest tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  );
  expect(rows.map((r) => Number(r[5]))).toEqual(top.map((a) => a.truRiskScore));
  expect(rows.map((r) => r[1])).toEqual(top.map((a) => a.ipAddress ?? '—'));
  const bands = await page.evaluate(
    () =>
      (
        window as unknown as {
          Chart: { getChart(id: string): { data: { datasets: { data: number[] }[] } } };
        }
      ).Chart.getChart('chart-bands').data.datasets[0].data,
  );
  expect(bands).toEqual(
    ['SEVERE', 'HIGH', 'MEDIUM', 'LOW'].map(
      (b) => assets.filter((a) => a.truRiskBand === b).length,
    ),
  );
  const runs = await page.evaluate(
    () =>
      (
        window as unknown as { Chart: { getChart(id: string): { data: { labels: string[] } } } }
      ).Chart.getChart('chart-runs').data.labels.length,
  );
  expect(runs).toBe(4);
  await shot('overview');
});

test('inventory: TruRisk order, sort by a column, paging, search, the errors etm query gives', async () => {
  await openList('#/inventory');
  const byRisk = sortedDesc(assets, 'truRiskScore').map((a) => a.assetKey);
  expect(assets.length).toBeGreaterThan(50);
  expect(await countText()).toBe(`1–50 of ${n(assets.length)} assets`);
  expect(await rowKeys()).toEqual(byRisk.slice(0, 50));
  // Headings in words, not attribute names (the attribute is the tooltip).
  const headings = await page.$$eval('#results table.list thead th', (ths) =>
    ths.map((th) => th.textContent?.replace(/[▲▼]/g, '').trim()),
  );
  expect(headings).toEqual([
    'asset key',
    'asset',
    'IP address',
    'operating system',
    'subscriptions',
    'criticality',
    'TruRisk',
    'band',
  ]);
  await shot('inventory');

  let before = await listState();
  await page.click('th[data-field="assetName"]');
  await changed(before);
  const byName = jsonRecords(
    (await etm('query', '--format', 'json', '--sort', 'assetName', 'inventory: (source: VMDR)'))
      .stdout,
  );
  expect(await rowKeys()).toEqual(byName.slice(0, 50).map((a) => a.assetKey));
  before = await listState();
  await page.click('th[data-field="assetName"]');
  await changed(before);
  const byNameDesc = jsonRecords(
    (
      await etm(
        'query',
        '--format',
        'json',
        '--sort',
        'assetName:desc',
        'inventory: (source: VMDR)',
      )
    ).stdout,
  );
  expect(await rowKeys()).toEqual(byNameDesc.slice(0, 50).map((a) => a.assetKey));
  before = await listState();
  await page.click('#next');
  await changed(before);
  expect(await countText()).toBe(`51–${n(assets.length)} of ${n(assets.length)} assets`);
  expect(await rowKeys()).toEqual(byNameDesc.slice(50).map((a) => a.assetKey));

  const query =
    'inventory: (truRiskBand: SEVERE or truRiskBand: HIGH) and finding.findingStatus: REOPENED';
  const expected = jsonRecords(
    (await etm('query', '--format', 'json', '--sort', 'assetName:desc', query)).stdout,
  );
  expect(expected.length).toBeGreaterThan(0);
  before = await listState();
  await page.fill('#query', query);
  await page.click('#search');
  await changed(before);
  expect(await countText()).toBe(`1–${expected.length} of ${expected.length} assets`);
  expect(await rowKeys()).toEqual(expected.map((a) => a.assetKey));
  // Its CSV is etm query's, byte for byte.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  expect(download.suggestedFilename()).toBe('etm-assets.csv');
  const cliCsv = await etm('query', '--format', 'csv', '--sort', 'assetName:desc', query);
  expect(fs.readFileSync(await download.path(), 'utf8')).toBe(cliCsv.stdout);

  const bad = 'inventory: (severity >= 4)';
  const cli = await etm('query', bad);
  before = await listState();
  await page.fill('#query', bad);
  await page.click('#search');
  await changed(before);
  expect(`etm: ${await page.textContent('#error')}\n`).toBe(cli.stderr);
  await shot('inventory-error');
});

test('findings: asset name and IP beside each; the CSV download is etm query --format json', async () => {
  const query = 'finding.findingSeverity >= 4 and finding.findingStatus != FIXED';
  await openList(`#/findings?${new URLSearchParams({ q: query, sort: 'detectionScore:desc' })}`);
  const before = await listState();
  await page.click('th[data-field="detectionScore"]');
  await changed(before);
  expect(await page.evaluate(() => location.hash)).toContain('sort=detectionScore&');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  expect(download.suggestedFilename()).toBe('etm-findings.csv');
  const csv = parseCsv(fs.readFileSync(await download.path(), 'utf8'));
  const json = jsonRecords(
    (await etm('query', '--format', 'json', '--sort', 'detectionScore', query)).stdout,
  );
  const asset = new Map(assets.map((a) => [a.assetKey as string, a]));
  const columns = csv[0];
  expect(columns).toEqual([
    'assetKey',
    'assetName',
    'ipAddress',
    'sourceVulnerabilityId',
    'findingName',
    'findingSeverity',
    'detectionScore',
    'findingStatus',
    'findingPort',
    'findingProtocol',
    'subscription',
  ]);
  expect(json.length).toBeGreaterThan(50);
  expect(csv.slice(1)).toEqual(
    json.map((f) => {
      const a = asset.get(f.assetKey as string) as Record<string, unknown>;
      return columns.map((c) => csvText(c === 'assetName' || c === 'ipAddress' ? a[c] : f[c]));
    }),
  );
  // The page shows the first 50 of them, in that order, with the asset's name and IP.
  expect(await rowKeys()).toEqual(json.slice(0, 50).map((f) => f.findingKey));
  const firstRow = await page.$$eval('#results tbody tr:first-child td', (tds) =>
    tds.map((td) => td.textContent),
  );
  const first = asset.get(json[0].assetKey as string) as Record<string, unknown>;
  expect(firstRow[2]).toBe(first.ipAddress);
  // Pages near the top come from a LIMIT, deep ones from the sorted ids: both are the result's.
  const every = 'finding.vendorProductName: VMDR';
  const sorted = jsonRecords(
    (await etm('query', '--format', 'json', '--sort', 'cvss3Base:desc', every)).stdout,
  );
  expect(sorted.length).toBeGreaterThan(1100);
  for (const offset of [50, 1000, 1050, 50, sorted.length - 10]) {
    const r = await page.request.get(
      `${url}api/list?${new URLSearchParams({ q: every, sort: 'cvss3Base:desc', offset: String(offset), limit: '50' })}`,
    );
    const body = (await r.json()) as { total: number; rows: { key: string }[] };
    expect([offset, body.total, body.rows.map((x) => x.key)]).toEqual([
      offset,
      sorted.length,
      sorted.slice(offset, offset + 50).map((f) => f.findingKey),
    ]);
  }
  await shot('findings');
});

test('asset page: the riskiest asset, its TruRisk worked out, its hosts and findings', async () => {
  await openList('#/inventory');
  await page.click('#results tbody tr:first-child a');
  await page.waitForSelector('#trurisk');
  await page.waitForSelector('#results table.list');
  const top = sortedDesc(assets, 'truRiskScore')[0];
  await checkAsset(top);
  await shot('asset-riskiest');
  // The riskiest asset merged from hosts of both subscriptions.
  const merged = sortedDesc(
    assets.filter((a) => (a.qualysHosts as unknown[]).length > 1),
    'truRiskScore',
  )[0];
  await page.goto(`${url}#/asset/${merged.assetKey}`);
  await page.waitForSelector(`#results table.list`);
  await checkAsset(merged);
  const hosts = await page.$$eval('#hosts tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  );
  expect(hosts.map((h) => [h[0], h[1]])).toEqual(
    (merged.qualysHosts as { subscription: string; hostId: string }[]).map((h) => [
      h.subscription,
      h.hostId,
    ]),
  );
  for (const h of hosts) expect(h[7]).toMatch(new RegExp(`^${merged.identifiedBy} = \\S+`));
  await shot('asset-merged');
});

async function checkAsset(a: Record<string, unknown>): Promise<void> {
  const own = findings.filter((f) => f.assetKey === a.assetKey);
  const t = expectedTruRisk(own, a.assetCriticalityScore as number | null);
  expect(t.score).toBe(a.truRiskScore);
  expect(await page.textContent('h1')).toBe(a.assetName ?? a.fqdn ?? a.ipAddress);
  expect(await page.textContent('#trurisk-score')).toBe(String(t.score));
  expect(await page.textContent('#trurisk-acs')).toBe(String(a.assetCriticalityScore ?? 2));
  const bands = await page.$$eval('#trurisk-bands tbody tr', (trs) =>
    trs.map((tr) => [
      tr.getAttribute('data-band'),
      ...[...tr.querySelectorAll('td')].map((td) => td.textContent),
    ]),
  );
  expect(bands.map((b) => b[0])).toEqual(['critical', 'high', 'medium', 'low']);
  for (const b of bands) {
    const e = t.bands.get(b[0] as string);
    expect([b[4], b[5]]).toEqual(e ? [String(e.count), e.average.toFixed(2)] : ['0', '—']);
  }
  expect(await page.textContent('#trurisk-formula')).toMatch(
    new RegExp(`^min\\(1000, round\\(${a.assetCriticalityScore ?? 2} × .*\\)\\) = ${t.score}$`),
  );
  expect(await page.textContent('#vendor-score')).toContain(
    `(TRURISK_SCORE): ${a.vendorTruRiskScore ?? '—'}`,
  );
  expect(await countText()).toBe(`1–${Math.min(50, own.length)} of ${own.length} findings`);
}

test('finding page: knowledge base, CVEs, CVSS, ATT&CK and every host report', async () => {
  const merged = sortedDesc(
    assets.filter((a) => (a.qualysHosts as unknown[]).length > 1),
    'truRiskScore',
  )[0];
  await page.goto(`${url}#/asset/${merged.assetKey}`);
  await page.waitForSelector('#results table.list');
  const key = (await rowKeys())[0] as string;
  await page.click('#results tbody tr:first-child a[href^="#/finding"]');
  await page.waitForSelector('#reports');
  const f = findings.find((x) => x.findingKey === key) as Record<string, unknown>;
  expect(await page.textContent('h1')).toBe(f.findingName);
  const facts = await page.$$eval('#vulnerability dt', (dts) =>
    Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
  );
  expect(facts.CVEs).toBe((f.cveId as string[]).join(', ') || '—');
  expect(facts['CVSS v3 base / temporal']).toBe(
    `${f.cvss3Base ?? '—'} / ${f.cvss3Temporal ?? '—'}`,
  );
  expect(facts['MITRE ATT&CK techniques']).toBe(
    (f.mitreTechniques as { id: string; name: string }[])
      .map((t) => `${t.id} ${t.name}`)
      .join('\n') || '—',
  );
  const reports = await page.$$eval('#reports tbody tr', (trs) =>
    trs.map((tr) => tr.querySelector('td')?.textContent),
  );
  expect(reports[0]).toBe(f.subscription);
  // The history: first seen in a run, its last change to the status it has now.
  const history = await page.$$eval('#history tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  );
  expect(history[0][1]).toMatch(/^#1 \(started \d{4}-\d\d-\d\d /);
  expect(history[0][4]).toMatch(/^first seen as [A-Z]+$/);
  expect(history[history.length - 1][4]).toMatch(new RegExp(`${f.findingStatus}$`));
  await shot('finding');
});

test('finding page: a payload quoted in the knowledge base shows as text, not swallowed as markup', async () => {
  const f = findings.find((x) => String(x.findingDescription).includes('<![CDATA[')) as Record<
    string,
    unknown
  >;
  expect(f).toBeDefined();
  await page.goto(`${url}#/finding?${new URLSearchParams({ key: f.findingKey as string })}`);
  await page.waitForSelector('#reports');
  const description = await page.$$eval('.panel', (panels) =>
    panels
      .find((p) => p.querySelector('h2')?.textContent === 'Description')
      ?.textContent?.replace(/^Description/, ''),
  );
  const payload = /<!\[CDATA\[.*?\]\]>/.exec(f.findingDescription as string)?.[0] as string;
  expect(description).toContain(payload);
});

test('connectors: states, last runs with their counts; no password anywhere', async () => {
  await page.goto(`${url}#/connectors`);
  await page.waitForSelector('.connector');
  const cards = await page.$$eval('.connector', (els) =>
    els.map((el) => [
      el.getAttribute('data-connector'),
      el.querySelector('.badge')?.textContent,
      el.querySelectorAll('.runs tbody tr').length,
    ]),
  );
  expect(cards).toEqual([
    ['americas', 'Processed', 2],
    ['emea', 'Processed', 2],
  ]);
  const stored = await page.$$eval('.connector', (els) =>
    els.map((el) => {
      const dt = [...el.querySelectorAll('dt')].find((d) => d.textContent === 'hosts in store');
      return dt?.nextElementSibling?.textContent;
    }),
  );
  // Live hosts: an asset lists its live hosts, a purged asset only purged ones.
  const live = (sub: string) =>
    assets
      .filter((a) => !a.purgedAt)
      .flatMap((a) => a.qualysHosts as { subscription: string }[])
      .filter((h) => h.subscription === sub).length;
  expect(stored).toEqual([String(live('americas')), String(live('emea'))]);
  await shot('connectors');
  const bodies = await Promise.all(
    ['/api/connectors', '/api/overview', '/api/list?q=inventory%3A%20(source%3A%20VMDR)', '/'].map(
      async (p) => (await page.request.get(`${url.replace(/\/$/, '')}${p}`)).text(),
    ),
  );
  for (const body of [...bodies, await page.content()]) {
    for (const p of s.passwords) expect(body).not.toContain(p);
  }
});

test('connectors: Failed with the whole error, Processing with its progress while a sync runs', async () => {
  const dir = tempDir('etm-console-states-');
  const db = path.join(dir, 'etm.db');
  const expired = await startSimulator({ hosts: 5, seed: 3, accountExpired: true });
  const slow = await startSimulator({
    hosts: 20,
    detectionsPerHost: 5,
    qids: 50,
    seed: 4,
    latencyMs: 1500,
  });
  let sync: ChildProcess | undefined;
  let ui: { child: ChildProcess; url: string } | undefined;
  try {
    const failed = await runEtm([
      'sync',
      '--config',
      sourceConfig(dir, 'expired', expired),
      '--db',
      db,
    ]);
    expect(failed.status).toBe(1);
    sync = startEtm(['sync', '--config', sourceConfig(dir, 'slow', slow), '--db', db]);
    const synced = finished(sync);
    await waitFor(async () =>
      (await connectors(db)).some((c) => c.name === 'slow' && c.status === 'Processing'),
    );
    ui = await serve(['--db', db]);
    const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await p.goto(`${ui.url}#/connectors`);
    await p.waitForSelector('[data-connector="slow"]');
    const lastError = (await connectors(db)).find((c) => c.name === 'expired')
      ?.last_error as string;
    expect(lastError).toMatch(/expired/i);
    expect(await p.textContent('[data-connector="expired"] .badge')).toBe('Failed');
    expect(await p.textContent('[data-connector="expired"] .error')).toBe(lastError);
    expect(await p.textContent('[data-connector="slow"] .badge')).toBe('Processing');
    const facts = await p.$$eval('[data-connector="slow"] dt', (dts) =>
      Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
    );
    expect(facts.sync).toMatch(
      /^running for \d+ s; last checkpoint (not yet|\d+ s ago); \d+ hosts stored$/,
    );
    await p.screenshot({ path: path.join(SHOTS, 'connectors-states.png'), fullPage: true });
    // The page refreshes itself: the sync's end shows without a reload.
    expect((await synced).status).toBe(0);
    await p.waitForFunction(
      () => document.querySelector('[data-connector="slow"] .badge')?.textContent === 'Processed',
      undefined,
      { timeout: 10000 },
    );
    await p.close();
  } finally {
    if (sync && sync.exitCode === null) sync.kill('SIGTERM');
    if (ui) await stop(ui.child);
    await Promise.all([expired.close(), slow.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 90000);

test('without a token, only requests addressed to loopback are answered (DNS rebinding)', async () => {
  const { port } = new URL(url);
  const status = (host: string) =>
    new Promise<number>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port, path: '/api/overview', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject),
    );
  expect(await status(`127.0.0.1:${port}`)).toBe(200);
  expect(await status(`localhost:${port}`)).toBe(200);
  expect(await status(`attacker.example:${port}`)).toBe(403);
});

test('a token is needed when given, and to listen beyond loopback', async () => {
  const beyond = await etm('serve', '--host', '0.0.0.0', '--port', '0');
  expect(beyond.status).toBe(1);
  expect(beyond.stderr).toBe(
    'etm: the console listens on 0.0.0.0, beyond this machine: give it a token (--token or ETM_CONSOLE_TOKEN)\n',
  );
  const guarded = await serve(['--token', 'tok-3e9c1']);
  try {
    expect(guarded.url).toMatch(/\/\?token=tok-3e9c1$/);
    const base = guarded.url.replace(/\?.*$/, '');
    const context = await browser.newContext();
    const denied = await context.request.get(`${base}api/overview`);
    expect(denied.status()).toBe(401);
    const p = await context.newPage();
    await p.goto(`${guarded.url}#/overview`);
    await p.waitForSelector('#riskiest tbody tr');
    // The cookie set with the page lets its API calls (and later ones) through.
    expect((await context.request.get(`${base}api/overview`)).status()).toBe(200);
    await context.close();
  } finally {
    await stop(guarded.child);
  }
});
