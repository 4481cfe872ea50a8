/*
 * The ETM console's page: a read-only single-page app over the console's JSON API
 * (src/etm/console/server.ts). Routes live in the URL hash, so every view can be bookmarked:
 * #/overview, #/inventory?q=…&sort=…&offset=…, #/findings?…, #/asset/KEY, #/finding?key=…,
 * #/connectors. Text from the store is always set as text, never as HTML.
 */
'use strict';

const PAGE_SIZE = 50;
const LISTS = {
  inventory: {
    title: 'Inventory',
    noun: 'assets',
    query: 'inventory: (source: VMDR)',
    sort: 'truRiskScore:desc',
    examples: [
      'inventory: (truRiskBand: SEVERE)',
      'inventory: (assetName: web-*) and finding.findingStatus: REOPENED',
      'inventory: (subscriptions: emea and assetCriticalityScore >= 4)',
    ],
  },
  findings: {
    title: 'Findings',
    noun: 'findings',
    query: 'finding.vendorProductName: VMDR',
    sort: 'detectionScore:desc',
    examples: [
      'finding.findingSeverity >= 4 and finding.findingStatus != FIXED',
      'finding.findingStatus: REOPENED',
      'finding.cveId: CVE-2024-*',
    ],
  },
};
const BANDS = ['SEVERE', 'HIGH', 'MEDIUM', 'LOW'];
const COLORS = {
  SEVERE: '#b3122b',
  HIGH: '#e0561b',
  MEDIUM: '#d9a106',
  LOW: '#4f8a3a',
  NEW: '#1f5fbf',
  ACTIVE: '#e0561b',
  REOPENED: '#b3122b',
  FIXED: '#4f8a3a',
};
const main = document.getElementById('main');
let refreshTimer = null;
let charts = [];

/** An element with attributes (on* are listeners) and children (strings become text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, params) {
  const url = params ? `${path}?${new URLSearchParams(params)}` : path;
  const r = await fetch(url, { credentials: 'same-origin' });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

const count = (n) => Number(n).toLocaleString('en-US');

/** A value as text: lists joined, {id, name} objects as "id name", missing as an em dash. */
function text(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) {
    if (v.length === 0) return '—';
    return v
      .map((x) => (x && typeof x === 'object' ? Object.values(x).join(' ') : String(x)))
      .join(', ');
  }
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(1);
  return String(v);
}

const when = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');
const badge = (cls, value) => h('span', { className: `badge ${cls}` }, text(value));
const assetLink = (key, label) => h('a', { href: `#/asset/${encodeURIComponent(key)}` }, label);
const findingLink = (key, label) =>
  h('a', { href: `#/finding?${new URLSearchParams({ key })}` }, label);
const assetLabel = (r) => r.assetName || r.fqdn || r.ipAddress || r.netBiosName || r.assetKey;

/** One cell of a list, linked or badged by what the column is. */
function cellOf(column, value, row, model) {
  switch (column) {
    case 'assetName':
      return assetLink(
        row.assetKey,
        text(value === null ? (row.cells.ipAddress ?? row.assetKey) : value),
      );
    case 'assetKey':
      return assetLink(row.assetKey, text(value));
    case 'findingName':
      return findingLink(row.key, text(value));
    case 'truRiskBand':
      return badge(`band-${value}`, value);
    case 'findingSeverity':
      return badge(`sev-${value}`, value);
    case 'findingStatus':
      return badge(`st-${value}`, value);
    default:
      return model === 'etm_Finding' && column === 'sourceVulnerabilityId'
        ? findingLink(row.key, text(value))
        : text(value);
  }
}

/** Column headings; the attribute name is the tooltip and what sorting sends. */
const LABELS = {
  assetKey: 'asset key',
  assetName: 'asset',
  ipAddress: 'IP address',
  operatingSystemName: 'operating system',
  assetCriticalityScore: 'criticality',
  // The criticality TruRisk used (the hosts' ACS, or the default): what multiplies its score.
  truRiskCriticality: 'criticality',
  truRiskScore: 'TruRisk',
  truRiskBand: 'band',
  sourceVulnerabilityId: 'QID',
  findingName: 'finding',
  findingSeverity: 'severity',
  detectionScore: 'QDS',
  findingStatus: 'status',
  findingPort: 'port',
  findingProtocol: 'protocol',
  cveId: 'CVEs',
};
const NOWRAP = new Set(['assetKey', 'assetName', 'ipAddress', 'truRiskBand', 'findingStatus']);

const NUMERIC = new Set([
  'truRiskScore',
  'truRiskCriticality',
  'assetCriticalityScore',
  'vendorTruRiskScore',
  'findingSeverity',
  'detectionScore',
  'findingPort',
  'cvss3Base',
  'findingTimesFound',
]);

/**
 * A sortable, paged list of a query's records. `state` is {q, sort, offset}; `go(state)` shows
 * another page or sort (by changing the URL, or in place on the asset page).
 */
async function listInto(container, state, go, noun) {
  container.replaceChildren(h('div', { className: 'muted' }, 'Loading…'));
  let page;
  try {
    const params = {
      q: state.q,
      sort: state.sort || '',
      offset: state.offset || 0,
      limit: PAGE_SIZE,
    };
    if (state.columns) params.columns = state.columns;
    page = await api('/api/list', params);
  } catch (err) {
    container.replaceChildren(h('div', { id: 'error', className: 'error' }, err.message));
    return;
  }
  const [sortField, sortDir] = (state.sort || '').split(':');
  const head = page.columns.map((c) => {
    const sorted = c === sortField;
    const next = sorted && sortDir !== 'desc' ? `${c}:desc` : c;
    return h(
      'th',
      {
        className: `sortable${sorted ? ' sorted' : ''}${NUMERIC.has(c) ? ' num' : ''}`,
        'data-field': c,
        title: `${c}: click to sort`,
        onclick: () => go({ ...state, sort: next, offset: 0 }),
      },
      LABELS[c] || c,
      sorted ? (sortDir === 'desc' ? ' ▼' : ' ▲') : '',
    );
  });
  const body = page.rows.map((row) =>
    h(
      'tr',
      { 'data-key': row.key },
      page.columns.map((c) =>
        h(
          'td',
          { className: `${NUMERIC.has(c) ? 'num' : ''}${NOWRAP.has(c) ? ' nowrap' : ''}` },
          cellOf(c, row.cells[c], row, page.model),
        ),
      ),
    ),
  );
  const from = page.total === 0 ? 0 : page.offset + 1;
  const to = page.offset + page.rows.length;
  const exportParams = { q: state.q, sort: state.sort || '' };
  if (state.columns) exportParams.columns = state.columns;
  const exportHref = `/api/export.csv?${new URLSearchParams(exportParams)}`;
  const pager = h(
    'div',
    { className: 'pager' },
    h(
      'button',
      {
        id: 'prev',
        className: 'plain',
        disabled: page.offset === 0,
        onclick: () => go({ ...state, offset: Math.max(0, page.offset - PAGE_SIZE) }),
      },
      '‹ Previous',
    ),
    h(
      'button',
      {
        id: 'next',
        className: 'plain',
        disabled: to >= page.total,
        onclick: () => go({ ...state, offset: page.offset + PAGE_SIZE }),
      },
      'Next ›',
    ),
    h(
      'span',
      { id: 'count', className: 'count' },
      `${count(from)}–${count(to)} of ${count(page.total)} ${noun}`,
    ),
    h(
      'a',
      { id: 'export', className: 'button plain', href: exportHref, download: '' },
      'Export CSV (all)',
    ),
  );
  container.replaceChildren(
    pager,
    h(
      'div',
      { className: 'tablewrap' },
      h('table', { className: 'list' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, body)),
    ),
  );
}

function listPage(name, params) {
  const spec = LISTS[name];
  const state = {
    q: params.get('q') ?? spec.query,
    sort: params.get('sort') ?? spec.sort,
    offset: Number(params.get('offset') || 0),
  };
  const go = (s) => {
    location.hash = `#/${name}?${new URLSearchParams({ q: s.q, sort: s.sort || '', offset: s.offset || 0 })}`;
  };
  const input = h('input', {
    id: 'query',
    value: state.q,
    spellcheck: 'false',
    'aria-label': 'query',
  });
  const form = h(
    'form',
    {
      className: 'querybar',
      onsubmit: (e) => {
        e.preventDefault();
        go({ ...state, q: input.value, offset: 0 });
      },
    },
    input,
    h('button', { id: 'search', type: 'submit' }, 'Search'),
  );
  const examples = h(
    'div',
    { className: 'sub' },
    'e.g. ',
    spec.examples.flatMap((q, i) => [
      i ? ' · ' : '',
      h('a', { href: `#/${name}?${new URLSearchParams({ q, sort: state.sort })}` }, q),
    ]),
  );
  const results = h('div', { id: 'results' });
  show(h('h1', {}, spec.title), form, examples, results);
  return listInto(results, state, go, spec.noun);
}

/** Shows these nodes in the page, leaving out absent ones. */
function show(...nodes) {
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

/**
 * Knowledge-base text as plain text: Qualys writes it with a few HTML tags and entities
 * (<P>, <BR>, &lt;). Parsed as an inert document, never inserted as HTML.
 */
function plain(v) {
  if (typeof v !== 'string') return text(v);
  // Only formatting tags are markup; any other "<" is text, such as a payload quoted in the
  // description (<![CDATA[…]]>, <script>), which an HTML parser would swallow.
  const tags =
    /<(?!\/?(?:p|br|b|i|u|em|strong|ul|ol|li|a|pre|code|span|div|font|table|tr|td|th)\b)/gi;
  const breaks = v.replace(tags, '&lt;').replace(/<\s*(br|\/p|p)\s*\/?>/gi, '\n');
  const doc = new DOMParser().parseFromString(breaks, 'text/html');
  return (doc.body.textContent || '').replace(/\n{3,}/g, '\n\n').trim() || '—';
}

function destroyCharts() {
  charts.forEach((c) => c.destroy());
  charts = [];
}

function chart(canvas, config) {
  // No animation: the page is read as it loads (and screenshots are stable).
  config.options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    ...config.options,
  };
  charts.push(new window.Chart(canvas, config));
}

async function overview() {
  const o = await api('/api/overview');
  const open = ['NEW', 'ACTIVE', 'REOPENED'].reduce((a, s) => a + (o.findingsByStatus[s] || 0), 0);
  const tile = (n, label, href) =>
    h(
      'a',
      { className: 'tile', href },
      h('div', { className: 'n' }, count(n)),
      h('div', { className: 'l' }, label),
    );
  const tiles = h(
    'div',
    { className: 'tiles' },
    tile(o.assets, 'assets', '#/inventory'),
    tile(
      o.assetsByBand.SEVERE || 0,
      'SEVERE assets (TruRisk ≥ 850)',
      `#/inventory?${new URLSearchParams({ q: 'inventory: (truRiskBand: SEVERE)', sort: 'truRiskScore:desc' })}`,
    ),
    tile(o.findings, 'findings', '#/findings'),
    tile(
      open,
      'open findings (NEW, ACTIVE, REOPENED)',
      `#/findings?${new URLSearchParams({ q: 'finding.findingStatus: NEW or finding.findingStatus: ACTIVE or finding.findingStatus: REOPENED', sort: 'detectionScore:desc' })}`,
    ),
  );
  const riskiest = h(
    'table',
    { id: 'riskiest', className: 'list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'asset',
          'IP address',
          'operating system',
          'subscriptions',
          'criticality',
          'TruRisk',
          'band',
        ].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      o.riskiest.map((a) =>
        h(
          'tr',
          {},
          h('td', {}, assetLink(a.assetKey, text(assetLabel(a)))),
          h('td', {}, text(a.ipAddress)),
          h('td', {}, text(a.operatingSystemName)),
          h('td', {}, text(a.subscriptions)),
          h('td', { className: 'num' }, text(a.assetCriticalityScore)),
          h('td', { className: 'num' }, h('b', {}, text(a.truRiskScore))),
          h('td', {}, badge(`band-${a.truRiskBand}`, a.truRiskBand)),
        ),
      ),
    ),
  );
  const bandCanvas = h('canvas', { id: 'chart-bands' });
  const severityCanvas = h('canvas', { id: 'chart-severity' });
  const runsCanvas = h('canvas', { id: 'chart-runs' });
  show(
    h('h1', {}, 'Overview'),
    h(
      'div',
      { className: 'sub' },
      'Every VMDR asset and finding in the store, deduplicated across subscriptions.',
    ),
    tiles,
    h(
      'div',
      { className: 'panel' },
      h('h2', { style: null }, 'Riskiest assets — open one to see why it scores what it does'),
      riskiest,
    ),
    h(
      'div',
      { className: 'grid' },
      h(
        'div',
        { className: 'panel' },
        h('h2', {}, 'Assets by TruRisk band'),
        h('div', { className: 'chart' }, bandCanvas),
      ),
      h(
        'div',
        { className: 'panel' },
        h('h2', {}, 'Findings by severity and status'),
        h('div', { className: 'chart' }, severityCanvas),
      ),
      h(
        'div',
        { className: 'panel' },
        h('h2', {}, 'Detections new, fixed and reopened per run'),
        h('div', { className: 'chart' }, runsCanvas),
      ),
    ),
  );
  if (!window.Chart) return;
  chart(bandCanvas, {
    type: 'bar',
    data: {
      labels: BANDS,
      datasets: [
        {
          label: 'assets',
          data: BANDS.map((b) => o.assetsByBand[b] || 0),
          backgroundColor: BANDS.map((b) => COLORS[b]),
        },
      ],
    },
    options: { plugins: { legend: { display: false } } },
  });
  const severities = Object.keys(o.findingsBySeverity).sort();
  const statuses = ['NEW', 'ACTIVE', 'REOPENED', 'FIXED'];
  chart(severityCanvas, {
    type: 'bar',
    data: {
      labels: severities.map((s) => `severity ${s}`),
      datasets: statuses.map((s) => ({
        label: s,
        data: severities.map((sev) => o.findingsBySeverity[sev][s] || 0),
        backgroundColor: COLORS[s],
      })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true } } },
  });
  chart(runsCanvas, {
    type: 'bar',
    data: {
      labels: o.runs.map(
        (r) => `#${r.id} ${r.connector} ${(r.finishedAt || '').slice(5, 16).replace('T', ' ')}`,
      ),
      datasets: [
        { label: 'new', data: o.runs.map((r) => r.new), backgroundColor: COLORS.NEW },
        { label: 'fixed', data: o.runs.map((r) => r.fixed), backgroundColor: COLORS.FIXED },
        {
          label: 'reopened',
          data: o.runs.map((r) => r.reopened),
          backgroundColor: COLORS.REOPENED,
        },
      ],
    },
    // A first sync's thousands of new detections would flatten an incremental run's dozens.
    options: {
      scales: {
        y: {
          type: 'logarithmic',
          min: 0.5,
          title: { display: true, text: 'detections (log scale)' },
          ticks: { callback: (v) => (Number.isInteger(Math.log10(v)) ? count(v) : '') },
        },
      },
    },
  });
}

function facts(pairs) {
  return h(
    'dl',
    { className: 'facts' },
    pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : text(v))]),
  );
}

/** Why the asset scores what it does, in one sentence, then term by term. */
function truRiskPanel(t) {
  const top = t.bands.filter((b) => b.count > 0).sort((a, b) => b.term - a.term)[0];
  const why =
    t.openFindings === 0
      ? 'No open finding counts toward TruRisk, so it is 0.'
      : `${t.openFindings} open findings at criticality ${t.criticality}; the ${top.name} band weighs most ` +
        `(${top.count} findings, average QDS ${top.average.toFixed(1)}).`;
  const criticality =
    t.criticalityFrom === 'host'
      ? `the highest ASSET_CRITICALITY_SCORE its hosts report (${t.criticalityHosts.map((x) => `${x.subscription} host ${x.hostId}`).join(', ')})`
      : 'the default: no host reports an ASSET_CRITICALITY_SCORE';
  const rows = t.bands.map((b) =>
    h(
      'tr',
      { 'data-band': b.name },
      h('td', {}, b.name),
      h('td', {}, `QDS ≥ ${b.minScore}`),
      h('td', { className: 'num' }, b.weight.toFixed(1)),
      h('td', { className: 'num' }, String(b.count)),
      h('td', { className: 'num' }, b.average === null ? '—' : b.average.toFixed(2)),
      h('td', { className: 'num' }, b.term.toFixed(2)),
    ),
  );
  return h(
    'div',
    { id: 'trurisk', className: 'panel' },
    h(
      'h2',
      {},
      'Why TruRisk ',
      h('span', { id: 'trurisk-score' }, String(t.score)),
      ' (Qualys TruRisk 1.0)',
    ),
    h('div', { className: 'why' }, why),
    h(
      'div',
      {},
      'Asset criticality (ACS) ',
      h('b', { id: 'trurisk-acs' }, String(t.criticality)),
      `: ${criticality}.`,
    ),
    h(
      'div',
      { className: 'muted' },
      'Open findings: NEW, ACTIVE or REOPENED, not ignored, not information gathered, QDS above 0.',
    ),
    h(
      'table',
      { id: 'trurisk-bands', className: 'list' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'band',
            'QDS',
            'weight',
            'open findings',
            'average QDS',
            `weight × average × count^${t.countExponent}`,
          ].map((c) => h('th', {}, c)),
        ),
      ),
      h('tbody', {}, rows),
    ),
    h('p', {}, 'TruRisk = min(', String(t.maxScore), ', round(ACS × Σ band terms)):'),
    h('div', { id: 'trurisk-formula', className: 'formula' }, t.formula),
    h(
      'p',
      { id: 'vendor-score' },
      `Qualys' own TruRisk for this asset (TRURISK_SCORE): ${text(t.vendorScore)}`,
    ),
  );
}

async function assetPage(key) {
  const a = await api('/api/asset', { key });
  const r = a.record;
  const t = a.truRisk;
  const rule = a.identifiedBy;
  const hosts = h(
    'table',
    { id: 'hosts', className: 'list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'subscription',
          'host ID',
          'name',
          'IP address',
          'criticality',
          'last scanned',
          'purged',
          'merged on',
        ].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      a.hosts.map((x) =>
        h(
          'tr',
          {},
          h('td', {}, x.subscription),
          h('td', {}, x.hostId),
          h('td', {}, text(x.assetName)),
          h('td', {}, text(x.ipAddress)),
          h('td', { className: 'num' }, text(x.assetCriticalityScore)),
          h('td', {}, when(x.lastScanned)),
          h('td', {}, when(x.purgedAt)),
          h(
            'td',
            {},
            rule && x.identifiers[rule] !== undefined ? `${rule} = ${x.identifiers[rule]}` : '—',
          ),
        ),
      ),
    ),
  );
  const findings = h('div', { id: 'results' });
  show(
    h('h1', {}, text(assetLabel(r))),
    h('div', { className: 'sub' }, `asset ${r.assetKey}`),
    h(
      'div',
      { className: 'panel asset-head' },
      h(
        'div',
        {},
        h('div', { className: 'muted' }, 'TruRisk'),
        h('div', { className: 'score' }, text(r.truRiskScore)),
        badge(`band-${r.truRiskBand}`, r.truRiskBand),
      ),
      facts([
        ['IP address', r.ipAddress],
        ['FQDN', r.fqdn],
        ['NetBIOS', r.netBiosName],
        ['operating system', r.operatingSystemName],
        [
          'cloud',
          [r.cloudProvider, r.cloudService, r.cloudInstanceId].filter(Boolean).join(' ') || null,
        ],
        ['subscriptions', r.subscriptions],
        ['tags', r.tags],
        ['last scanned', when(r.lastScannedOn)],
        ['findings', `${count(a.findings)} (${t.openFindings} open)`],
        [
          'purged',
          r.purgedAt ? `${when(r.purgedAt)}: Qualys no longer lists any of its hosts` : null,
        ],
      ]),
    ),
    truRiskPanel(t),
    h(
      'div',
      { className: 'panel' },
      h('h2', {}, `Qualys hosts merged into this asset (${a.hosts.length})`),
      h(
        'div',
        { className: 'sub' },
        a.hosts.length > 1
          ? `Recognised as one machine by the ${rule} identification rule: the values below are equal.`
          : `One Qualys host; another host with the same ${rule || 'identifier'} would merge into it.`,
      ),
      hosts,
    ),
    h('h2', {}, 'Findings'),
    findings,
  );
  const state = {
    q: `finding.assetKey: \`${r.assetKey}\``,
    sort: 'detectionScore:desc',
    offset: 0,
    columns:
      'sourceVulnerabilityId,findingName,findingSeverity,detectionScore,findingStatus,findingPort,findingProtocol,cveId,subscription',
  };
  const go = (s) => listInto(findings, s, go, 'findings');
  await go(state);
}

async function findingPage(key) {
  const f = await api('/api/finding', { key });
  const r = f.record;
  const objects = (list) =>
    Array.isArray(list) && list.length ? list.map((x) => `${x.id} ${x.name}`).join('\n') : '—';
  const history = h(
    'table',
    { id: 'history', className: 'list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['when', 'run', 'subscription', 'host ID', 'change'].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      f.history.map((x) =>
        h(
          'tr',
          {},
          h('td', {}, when(x.at)),
          h('td', {}, x.run === null ? '—' : `#${x.run} (started ${when(x.runStartedAt)})`),
          h('td', {}, x.subscription),
          h('td', {}, x.hostId),
          h(
            'td',
            {},
            x.from === null
              ? 'first seen as '
              : h('span', {}, badge(`st-${x.from}`, x.from), ' → '),
            badge(`st-${x.to}`, x.to),
          ),
        ),
      ),
    ),
  );
  const reports = h(
    'table',
    { id: 'reports', className: 'list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'subscription',
          'host ID',
          'current',
          'status',
          'first found',
          'last found',
          'last fixed',
          'last reopened',
          'times found',
          'times reopened',
          'host purged',
        ].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      f.reports.map((x) =>
        h(
          'tr',
          {},
          h('td', {}, x.subscription),
          h('td', {}, x.hostId),
          h('td', {}, x.current ? 'yes' : ''),
          h('td', {}, badge(`st-${x.record.findingStatus}`, x.record.findingStatus)),
          h('td', {}, when(x.record.findingFirstFoundOn)),
          h('td', {}, when(x.record.findingLastFoundOn)),
          h('td', {}, when(x.record.findingLastFixedOn)),
          h('td', {}, when(x.record.findingLastReopenedOn || x.record.findingReopenedOn)),
          h('td', { className: 'num' }, text(x.record.findingTimesFound)),
          h('td', { className: 'num' }, text(x.record.findingTimesReopened)),
          h('td', {}, when(x.hostPurgedAt)),
        ),
      ),
    ),
  );
  const section = (title, value) =>
    h(
      'div',
      { className: 'panel' },
      h('h2', {}, title),
      h('pre', { className: 'text' }, plain(value)),
    );
  show(
    h('h1', {}, text(r.findingName)),
    h(
      'div',
      { className: 'sub' },
      'on ',
      assetLink(r.assetKey, text(assetLabel(f.asset))),
      ` · QID ${text(r.sourceVulnerabilityId)} · ${r.findingKey}`,
    ),
    h(
      'div',
      { className: 'grid' },
      h(
        'div',
        { className: 'panel' },
        facts([
          ['status', badge(`st-${r.findingStatus}`, r.findingStatus)],
          ['severity', badge(`sev-${r.findingSeverity}`, r.findingSeverity)],
          ['QDS', r.detectionScore],
          ['port / protocol', `${text(r.findingPort)} / ${text(r.findingProtocol)}`],
          ['type', `${text(r.findingSubType)}${r.ignoreFinding ? ' (ignored)' : ''}`],
          ['category', r.findingCategory],
          ['first found', when(r.findingFirstFoundOn)],
          ['last found', when(r.findingLastFoundOn)],
          ['last fixed', when(r.findingLastFixedOn)],
          ['subscription', `${r.subscription} host ${r.qualysHostId}`],
        ]),
      ),
      h(
        'div',
        { className: 'panel', id: 'vulnerability' },
        facts([
          ['CVEs', r.cveId],
          ['CVSS v3 base / temporal', `${text(r.cvss3Base)} / ${text(r.cvss3Temporal)}`],
          ['CVSS v2 base / temporal', `${text(r.cvssV2Base)} / ${text(r.cvss2Temporal)}`],
          ['access vector', r.vector],
          ['exploits', r.exploitedByList],
          ['threat intelligence', r.threatIntel],
          [
            'patch available',
            r.isPatchAvailable === null || r.isPatchAvailable === undefined
              ? null
              : r.isPatchAvailable
                ? 'yes'
                : 'no',
          ],
          ['published', when(r.vulnerabilityPublishedOn)],
          ['MITRE ATT&CK tactics', h('pre', { className: 'text' }, objects(r.mitreTactics))],
          ['MITRE ATT&CK techniques', h('pre', { className: 'text' }, objects(r.mitreTechniques))],
        ]),
      ),
    ),
    section('Description', r.findingDescription),
    section('Impact', r.impact),
    section('Solution', r.recommendation),
    r.findingResults ? section('Results', r.findingResults) : null,
    h(
      'div',
      { className: 'panel' },
      h('h2', {}, 'Status history across runs'),
      h(
        'div',
        { className: 'sub' },
        'Each status this finding took in the store, oldest first, with the sync run that brought it.',
      ),
      history,
    ),
    h(
      'div',
      { className: 'panel' },
      h('h2', {}, 'Host reports of this finding'),
      h(
        'div',
        { className: 'sub' },
        "Each Qualys host's latest report; the dates and counts are Qualys' own history of the detection.",
      ),
      reports,
    ),
  );
}

function age(iso, now) {
  if (!iso) return '';
  const s = Math.round((Date.parse(now) - Date.parse(iso)) / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function changes(summary) {
  const c = summary && summary.changes;
  if (!c) return '—';
  const moves = Object.entries(c.statusChanges || {})
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(', ');
  return `${count(c.findingsNew)} new, ${count(c.findingsUpdated)} updated${moves ? `; ${moves}` : ''}${c.hostsPurged ? `; ${count(c.hostsPurged)} hosts purged` : ''}`;
}

async function connectorsPage() {
  const { now, connectors } = await api('/api/connectors');
  const cards = connectors.map((c) => {
    const overdue =
      c.status === 'Scheduled' &&
      (c.processAlive === false ||
        (c.nextRunAt && Date.parse(now) - Date.parse(c.nextRunAt) > 60000));
    const state =
      c.status === 'Processing'
        ? c.interrupted
          ? 'the etm process that ran it is gone: interrupted; the next sync resumes from the last checkpoint'
          : `running for ${age(c.processingAt, now).replace(' ago', '')}; last checkpoint ${c.stateSavedAt && c.stateSavedAt >= c.processingAt ? age(c.stateSavedAt, now) : 'not yet'}; ${count(c.hostsStored)} hosts stored`
        : null;
    const runs = h(
      'table',
      { className: 'list runs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'run',
            'started',
            'finished',
            'status',
            'records',
            'checkpoints',
            'changes',
            'error',
          ].map((x) => h('th', {}, x)),
        ),
      ),
      h(
        'tbody',
        {},
        c.runs.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, `#${r.id}`),
            h('td', {}, when(r.startedAt)),
            h('td', {}, when(r.finishedAt)),
            h('td', {}, badge(`st-${r.status}`, r.status)),
            h('td', { className: 'num' }, r.summary ? count(r.summary.records) : '—'),
            h('td', { className: 'num' }, r.summary ? count(r.summary.checkpoints) : '—'),
            h('td', {}, changes(r.summary)),
            h('td', {}, r.error ? h('pre', { className: 'text' }, r.error) : ''),
          ),
        ),
      ),
    );
    return h(
      'div',
      { className: 'panel connector', 'data-connector': c.name },
      h(
        'h2',
        {},
        c.name,
        ' ',
        badge(`st-${c.status}`, c.interrupted ? 'Processing (interrupted)' : c.status),
        h('span', { className: 'muted' }, ` since ${when(c.statusAt)}`),
      ),
      facts([
        ['Qualys API', c.baseUrl],
        ['user', c.username],
        ['config file', c.configPath],
        ['profile', c.profile],
        ['registered', when(c.registeredAt)],
        ['last processed', when(c.processedAt)],
        ['hosts in store', count(c.hostsStored)],
        [
          'next run',
          c.nextRunAt
            ? `${when(c.nextRunAt)}${overdue ? ' — no scheduler (etm run) is running to start it' : ''}`
            : 'none scheduled',
        ],
        ['sync', state],
      ]),
      c.lastError ? h('div', { className: 'error' }, c.lastError) : null,
      h('h2', {}, 'Last runs'),
      runs,
    );
  });
  show(
    h('h1', {}, 'Connectors'),
    h('div', { className: 'sub' }, `One per Qualys subscription · refreshed ${when(now)}`),
    ...(connectors.length ? cards : [h('p', {}, 'No connector yet: run etm sync or etm run.')]),
  );
  refreshTimer = setTimeout(() => render(true), 3000);
}

async function render(refresh) {
  clearTimeout(refreshTimer);
  destroyCharts();
  const hash = location.hash.replace(/^#\/?/, '') || 'overview';
  const [path, query] = hash.split('?');
  const [page, ...rest] = path.split('/');
  const params = new URLSearchParams(query || '');
  document.querySelectorAll('header nav a').forEach((a) => {
    const active =
      a.dataset.page === page ||
      (page === 'asset' && a.dataset.page === 'inventory') ||
      (page === 'finding' && a.dataset.page === 'findings');
    a.classList.toggle('active', active);
  });
  if (!refresh) show(h('div', { className: 'muted' }, 'Loading…'));
  try {
    if (page === 'inventory' || page === 'findings') await listPage(page, params);
    else if (page === 'asset') await assetPage(decodeURIComponent(rest.join('/')));
    else if (page === 'finding') await findingPage(params.get('key') || '');
    else if (page === 'connectors') await connectorsPage();
    else await overview();
  } catch (err) {
    show(h('div', { id: 'error', className: 'error' }, err.message));
  }
  document.body.dataset.ready = hash;
}

window.addEventListener('hashchange', () => render(false));
render(false);
