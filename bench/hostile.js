/**
 * A hostile Qualys server, and the bench of bin/main read against it (not a test: the exact
 * behaviour of each case is asserted by test/source/hostile.e2e.test.ts, which uses this server).
 * The server speaks enough Qualys for a host_detections read (ID listing, detection pages with
 * WARNING 1980, knowledge base) on 127.0.0.1, and each case replaces one answer with what an
 * attacker or a broken proxy could send. The bench asserts each case's peak RSS and wall time.
 * Run: npm run build && node bench/hostile.js [--only case-name]
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

const HOSTS = 30;
const FIRST_ID = 101;
const PASSWORD = 'hostile-pw-never-in-output';
const DATETIME = '2025-03-14T09:20:05Z';
/** The bound every case must stay under (issue 14). */
const MAX_RSS_MB = 256;
const MAX_WALL_MS = 10_000;

const ids = Array.from({ length: HOSTS }, (_, i) => FIRST_ID + i);

function host(id, detectionExtra = '', hostExtra = '') {
  return (
    `<HOST><ID>${id}</ID><IP>10.0.0.${id % 250}</IP><TRACKING_METHOD>IP</TRACKING_METHOD>` +
    `${hostExtra}<DETECTION_LIST><DETECTION><UNIQUE_VULN_ID>${id}1</UNIQUE_VULN_ID>` +
    `<QID>${38000 + (id % 3)}</QID><TYPE>Confirmed</TYPE><SEVERITY>3</SEVERITY>` +
    `<STATUS>Active</STATUS>${detectionExtra}</DETECTION></DETECTION_LIST></HOST>`
  );
}

function detectionPage(hostsXml, nextIdMin) {
  const warning =
    nextIdMin === undefined
      ? ''
      : `<WARNING><CODE>1980</CODE><TEXT>10 record limit exceeded.</TEXT><URL><![CDATA[` +
        `https://qualysapi.example.com/api/4.0/fo/asset/host/vm/detection/?action=list&id_min=${nextIdMin}]]></URL></WARNING>`;
  return (
    `<?xml version="1.0" encoding="UTF-8" ?>\n<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE>` +
    `<DATETIME>${DATETIME}</DATETIME><HOST_LIST>${hostsXml}</HOST_LIST>${warning}` +
    `</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>\n`
  );
}

function idListing(entries, datetime = DATETIME) {
  return (
    `<?xml version="1.0" encoding="UTF-8" ?>\n<HOST_LIST_OUTPUT><RESPONSE>` +
    `<DATETIME>${datetime}</DATETIME><ID_SET>${entries}</ID_SET></RESPONSE></HOST_LIST_OUTPUT>\n`
  );
}

function knowledgeBase(qids) {
  const vulns = qids
    .map(
      (qid) =>
        `<VULN><QID>${qid}</QID><VULN_TYPE>Vulnerability</VULN_TYPE><SEVERITY_LEVEL>3</SEVERITY_LEVEL>` +
        `<TITLE><![CDATA[QID ${qid}]]></TITLE></VULN>`,
    )
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8" ?>\n<KNOWLEDGE_BASE_VULN_LIST_OUTPUT><RESPONSE>` +
    `<DATETIME>${DATETIME}</DATETIME><VULN_LIST>${vulns}</VULN_LIST></RESPONSE>` +
    `</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n`
  );
}

/** "1,3-5" → [1, 3, 4, 5] (small lists only: the KB batches of this server). */
function expandIds(list) {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** The fault-free detection page for id_min..id_max, `limit` hosts at most. */
function honestPage(params, hostXml = (id) => host(id)) {
  const idMin = Number(params.get('id_min'));
  const idMax = Number(params.get('id_max') ?? Infinity);
  const limit = Number(params.get('truncation_limit') || Infinity);
  const inRange = ids.filter((id) => id >= idMin && id <= idMax);
  const page = inRange.slice(0, limit);
  const next = inRange.length > limit ? inRange[limit] : undefined;
  return detectionPage(page.map(hostXml).join(''), next);
}

/** A gzip body: `prefix`, then `megabytes` MiB of spaces (one 1 KB gzip member per MiB), `suffix`. */
function gzipBomb(prefix, megabytes, suffix) {
  const member = zlib.gzipSync(Buffer.alloc(1024 * 1024, ' '), { level: 9 });
  return Buffer.concat([
    zlib.gzipSync(prefix),
    ...Array.from({ length: megabytes }, () => member),
    zlib.gzipSync(suffix),
  ]);
}

/** 50 MB of text in one field, as a server might stream it. */
const HUGE_FIELD_CHARS = 50 * 1000 * 1000;

/**
 * The cases: each replaces what one endpoint answers (`hostList`, `detection`, `knowledgeBase`),
 * returning
 * {status, headers, body} or undefined for the honest answer.
 */
const CASES = {
  'same-page-loop': {
    // Page one again and again, its WARNING always pointing at the same id_min.
    detection: () => ({
      body: detectionPage(
        ids
          .slice(0, 10)
          .map((id) => host(id))
          .join(''),
        ids[5],
      ),
    }),
  },
  'creeping-id-min': {
    // The same page, with an id_min one higher each time: progress in name only.
    detection: (params) => ({
      body: detectionPage(
        ids
          .slice(0, 10)
          .map((id) => host(id))
          .join(''),
        Number(params.get('id_min')) + 1,
      ),
    }),
  },
  'one-new-per-page': {
    // Truncated pages of one host each: every page makes progress, a call per host.
    detection: (params) => {
      const idMin = Number(params.get('id_min'));
      const next = ids.find((id) => id > idMin);
      return { body: detectionPage(host(idMin), next) };
    },
  },
  'many-ranges': {
    // Ten million IDs: a million ranges of 10.
    hostList: () => ({ body: idListing('<ID_RANGE>1-10000000</ID_RANGE>') }),
  },
  'kb-flood': {
    // Every knowledge-base answer also carries 50,000 QIDs nobody asked for.
    knowledgeBase: (params) => ({
      body: knowledgeBase([
        ...expandIds(params.get('ids') ?? ''),
        ...Array.from({ length: 50_000 }, (_, i) => 500000 + i),
      ]),
    }),
  },
  'deep-nesting': {
    detection: (params) =>
      params.get('id_min') === String(FIRST_ID)
        ? {
            body: honestPage(params, (id) =>
              host(id, id === 103 ? `${'<X>'.repeat(10000)}${'</X>'.repeat(10000)}` : ''),
            ),
          }
        : undefined,
  },
  'absurd-id-range': {
    hostList: () => ({ body: idListing('<ID_RANGE>1-9007199254740000</ID_RANGE>') }),
  },
  'descending-id-set': {
    hostList: () => ({
      body: idListing('<ID_RANGE>120-130</ID_RANGE><ID_RANGE>101-119</ID_RANGE>'),
    }),
  },
  'gzip-bomb': {
    detection: (params) => {
      const page = honestPage(params);
      const at = page.indexOf('<HOST_LIST>') + '<HOST_LIST>'.length;
      return {
        headers: { 'content-encoding': 'gzip' },
        body: gzipBomb(page.slice(0, at), 1024, page.slice(at)),
      };
    },
  },
  'unknown-encoding': {
    detection: (params) => ({
      headers: { 'content-encoding': 'zstd-ish' },
      body: honestPage(params),
    }),
  },
  'huge-field': {
    detection: (params) =>
      params.get('id_min') === String(FIRST_ID)
        ? {
            body: honestPage(params, (id) =>
              host(id, id === 104 ? `<RESULTS>${'x'.repeat(HUGE_FIELD_CHARS)}</RESULTS>` : ''),
            ),
          }
        : undefined,
  },
  'endless-tag': {
    // A tag that never ends: 10 MB of one attribute.
    detection: (params) => ({
      body: honestPage(params, (id) =>
        host(id, id === 102 ? `<SERVICE a="${'a'.repeat(10_000_000)}` : ''),
      ),
    }),
  },
  'element-flood': {
    detection: (params) =>
      params.get('id_min') === String(FIRST_ID)
        ? {
            body: honestPage(params, (id) =>
              host(id, '', id === 105 ? '<Y>1</Y>'.repeat(1_000_000) : ''),
            ),
          }
        : undefined,
  },
  'prototype-names': {
    detection: (params) => {
      const names = ['__proto__', 'constructor', 'toString'];
      const hostile = names.map((n) => `<${n}><polluted>yes</polluted></${n}>`).join('');
      return {
        body: honestPage(params, (id) =>
          host(id, id === 106 ? hostile : '', id === 106 ? hostile : ''),
        ),
      };
    },
  },
  // One byte every 400 ms, each well inside the 1 s timeout: the call must still end.
  'slow-drip': {
    config: { timeout: 1, max_retries: 0 },
    detection: (params) => ({ body: honestPage(params), dripMs: 400 }),
  },
  'garbage-datetime': {
    hostList: () => ({
      body: idListing(`<ID_RANGE>${ids[0]}-${ids[ids.length - 1]}</ID_RANGE>`, 'yesterday-ish'),
    }),
  },
  'future-datetime': {
    hostList: () => ({
      body: idListing(
        `<ID_RANGE>${ids[0]}-${ids[ids.length - 1]}</ID_RANGE>`,
        '2999-01-01T00:00:00Z',
      ),
    }),
  },
  'html-as-xml': {
    detection: () => ({
      headers: { 'content-type': 'text/xml;charset=UTF-8' },
      body: '<!DOCTYPE html>\n<html><head><title>Sign in</title><meta charset="utf-8"></head><body><form></form></body></html>\n',
    }),
  },
  'html-as-html': {
    detection: () => ({
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n',
    }),
  },
  'hosts-outside-range': {
    // Each page also carries a host of another range, and one without an ID.
    detection: (params) => {
      const page = honestPage(params);
      const at = page.indexOf('<HOST_LIST>') + '<HOST_LIST>'.length;
      const strays = host(9999) + '<HOST><IP>10.9.9.9</IP></HOST>';
      return { body: page.slice(0, at) + strays + page.slice(at) };
    },
  },
};

/**
 * Starts the server for `caseName` (undefined: no fault) on 127.0.0.1 and a free port; resolves
 * with {baseUrl, username, password, requests, close()}. `requests` counts calls per endpoint.
 */
function startHostileServer(caseName) {
  const hostileCase = caseName === undefined ? {} : CASES[caseName];
  if (!hostileCase) throw new Error(`no hostile case ${caseName}`);
  const requests = { host_list: 0, detection: 0, knowledge_base: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const auth = `Basic ${Buffer.from(`jdoe:${PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== auth) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('Bad Login/Password');
        return;
      }
      let answer;
      if (req.url === '/api/4.0/fo/asset/host/') {
        requests.host_list++;
        answer = hostileCase.hostList?.(params) ?? {
          body: idListing(`<ID_RANGE>${ids[0]}-${ids[ids.length - 1]}</ID_RANGE>`),
        };
      } else if (req.url === '/api/4.0/fo/asset/host/vm/detection/') {
        requests.detection++;
        answer = hostileCase.detection?.(params) ?? { body: honestPage(params) };
      } else if (req.url === '/api/4.0/fo/knowledge_base/vuln/') {
        requests.knowledge_base++;
        answer = hostileCase.knowledgeBase?.(params) ?? {
          body: knowledgeBase(expandIds(params.get('ids') ?? '')),
        };
      } else {
        res.writeHead(404).end();
        return;
      }
      res.on('error', () => undefined);
      res.writeHead(answer.status ?? 200, {
        'content-type': 'text/xml;charset=UTF-8',
        ...answer.headers,
      });
      if (answer.dripMs) drip(res, answer.body, answer.dripMs);
      else res.end(answer.body);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        baseUrl: `http://127.0.0.1:${port}`,
        username: 'jdoe',
        password: PASSWORD,
        requests,
        config: hostileCase.config ?? {},
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The config bin/main reads the hostile server with. */
function hostileConfig(server) {
  return {
    base_url: server.baseUrl,
    username: server.username,
    password: server.password,
    subscription: 'hostile',
    detections_page_size: 10,
    hosts_page_size: 10,
    kb_batch_size: 50,
    max_retries: 1,
    timeout: 20,
    ...server.config,
  };
}

/** Writes the first 100 bytes of `body`, then one byte every `everyMs` until the client goes. */
function drip(res, body, everyMs) {
  const bytes = Buffer.from(body);
  res.write(bytes.subarray(0, 100));
  let at = 100;
  const timer = setInterval(() => {
    if (at >= bytes.length || res.destroyed) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(bytes.subarray(at, ++at));
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

const CATALOG = {
  streams: [
    {
      stream: {
        name: 'host_detections',
        json_schema: {},
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: 'append_dedup',
    },
  ],
};

/** Runs bin/main read against the case's server with bench/rusage.js; returns exit and usage. */
async function benchCase(caseName) {
  const server = await startHostileServer(caseName);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-hostile-'));
  try {
    const config = path.join(dir, 'config.json');
    const catalog = path.join(dir, 'catalog.json');
    fs.writeFileSync(config, JSON.stringify(hostileConfig(server)), { mode: 0o600 });
    fs.writeFileSync(catalog, JSON.stringify(CATALOG));
    const root = path.join(__dirname, '..');
    const child = spawn(
      process.execPath,
      [
        '-r',
        path.join(__dirname, 'rusage.js'),
        path.join(root, 'bin/main'),
        'read',
        '--config',
        config,
        '--catalog',
        catalog,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let records = 0;
    let tail = '';
    child.stdout.on('data', (chunk) => {
      const text = tail + chunk.toString('utf8');
      const lines = text.split('\n');
      tail = lines.pop();
      for (const line of lines) if (line.includes('"type":"RECORD"')) records++;
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    const line = stderr.split('\n').find((l) => l.startsWith('{"rusage"'));
    if (!line) throw new Error(`${caseName}: no rusage line: ${stderr.slice(-1000)}`);
    return { code, records, requests: { ...server.requests }, ...JSON.parse(line).rusage };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
}

async function main() {
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1]
    : undefined;
  const names = only ? [only] : Object.keys(CASES);
  const failures = [];
  console.log(`case                  exit  records  calls(hl/det/kb)  wall ms  peak RSS MB`);
  for (const name of names) {
    const r = await benchCase(name);
    const calls = `${r.requests.host_list}/${r.requests.detection}/${r.requests.knowledge_base}`;
    console.log(
      `${name.padEnd(22)}${String(r.code).padEnd(6)}${String(r.records).padEnd(9)}${calls.padEnd(18)}` +
        `${String(Math.round(r.wallMs)).padEnd(9)}${r.maxRssMb.toFixed(0)}`,
    );
    if (r.maxRssMb > MAX_RSS_MB)
      failures.push(`${name}: peak RSS ${r.maxRssMb.toFixed(0)} MB > ${MAX_RSS_MB} MB`);
    if (r.wallMs > MAX_WALL_MS) failures.push(`${name}: wall ${r.wallMs} ms > ${MAX_WALL_MS} ms`);
  }
  if (failures.length) {
    console.error(`FAILED:\n${failures.join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`every case under ${MAX_RSS_MB} MB peak RSS and ${MAX_WALL_MS / 1000} s`);
  }
}

if (require.main === module) void main();

module.exports = {
  CASES,
  FIRST_ID,
  HOSTS,
  HUGE_FIELD_CHARS,
  PASSWORD,
  hostileConfig,
  ids,
  startHostileServer,
};
