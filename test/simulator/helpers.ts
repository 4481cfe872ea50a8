/**
 * Shared helpers of the simulator tests: real HTTP calls to a simulator on 127.0.0.1, an ordered XML
 * tree (element order matters to these tests), pagination that follows the WARNING URL, and the
 * conversion of served XML into the model shapes the dataset accessors return.
 */
import http from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { Simulator, SimulatorOptions, startSimulator } from '../../src/simulator';

export const SMALL: SimulatorOptions = { hosts: 40, detectionsPerHost: 6, qids: 80, seed: 7 };

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  form?: string;
  auth?: string | false;
  requestedWith?: boolean;
  host?: string;
}

export function basic(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}

/** One request; `pathOrUrl` is a path on the simulator or a full URL (e.g. a WARNING URL). */
export function call(sim: Simulator, pathOrUrl: string, options: CallOptions = {}): Promise<Reply> {
  const url = new URL(pathOrUrl, sim.baseUrl);
  expect(url.hostname).toBe('127.0.0.1');
  const headers: Record<string, string> = {};
  const auth = options.auth ?? basic(sim.username, sim.password);
  if (auth) headers.authorization = auth;
  if (options.requestedWith ?? true) headers['x-requested-with'] = 'simulator-test';
  if (options.host) headers.host = options.host;
  if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.form);
  });
}

export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
  comments: string[];
}

type Ordered = Record<string, unknown>[];

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  commentPropName: '#comment',
  trimValues: false,
});

function toNode(name: string, content: Ordered, attrs: Record<string, string>): XmlNode {
  const node: XmlNode = { name, attrs, children: [], text: '', comments: [] };
  for (const item of content) {
    if ('#text' in item) node.text += String(item['#text']);
    else if ('#comment' in item)
      node.comments.push(String((item['#comment'] as Ordered)[0]['#text']));
    else {
      const childName = Object.keys(item).find((k) => k !== ':@') as string;
      node.children.push(
        toNode(childName, item[childName] as Ordered, (item[':@'] ?? {}) as Record<string, string>),
      );
    }
  }
  if (node.children.length > 0) node.text = node.text.trim() === '' ? '' : node.text;
  return node;
}

/** The document's root element as an ordered tree (declaration, DOCTYPE and top comments skipped). */
export function parseXml(xml: string): XmlNode {
  const items = parser.parse(xml) as Ordered;
  const root = items.find(
    (item) => !('?xml' in item) && !('#comment' in item) && !('#text' in item),
  );
  if (!root) throw new Error(`no root element in ${xml.slice(0, 200)}`);
  const name = Object.keys(root).find((k) => k !== ':@') as string;
  return toNode(name, root[name] as Ordered, (root[':@'] ?? {}) as Record<string, string>);
}

export function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((c) => c.name === name);
}

export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** Follows a path of single children, e.g. path(root, 'RESPONSE', 'HOST_LIST'). */
export function path(node: XmlNode, ...names: string[]): XmlNode | undefined {
  let current: XmlNode | undefined = node;
  for (const name of names) current = current && child(current, name);
  return current;
}

export interface Page {
  root: XmlNode;
  body: string;
  warning?: { code: string; text: string; url: string };
}

export function pageOf(reply: Reply): Page {
  expect(reply.status).toBe(200);
  const root = parseXml(reply.body);
  const warning = path(root, 'RESPONSE', 'WARNING');
  return {
    root,
    body: reply.body,
    warning: warning && {
      code: path(warning, 'CODE')?.text ?? '',
      text: path(warning, 'TEXT')?.text ?? '',
      url: path(warning, 'URL')?.text ?? '',
    },
  };
}

/** Requests `first` and every page its WARNING URLs lead to. */
export async function allPages(
  sim: Simulator,
  first: string,
  options: CallOptions = {},
): Promise<Page[]> {
  const pages = [pageOf(await call(sim, first, options))];
  for (let page = pages[0]; page.warning; page = pages[pages.length - 1]) {
    expect(pages.length).toBeLessThan(1000);
    pages.push(pageOf(await call(sim, page.warning.url)));
  }
  return pages;
}

/** Host IDs listed by Host List / HLD pages (HOST/ID) or ID_SET pages (ID, ID_RANGE). */
export function hostIdsOf(pages: readonly Page[]): number[] {
  const ids: number[] = [];
  for (const { root } of pages) {
    const response = child(root, 'RESPONSE') as XmlNode;
    for (const host of children(child(response, 'HOST_LIST'), 'HOST'))
      ids.push(Number(path(host, 'ID')?.text));
    for (const item of child(response, 'ID_SET')?.children ?? []) {
      if (item.name === 'ID') ids.push(Number(item.text));
      else {
        const [a, b] = item.text.split('-').map(Number);
        for (let id = a; id <= b; id++) ids.push(id);
      }
    }
  }
  return ids;
}

export async function withSimulator<T>(
  options: SimulatorOptions,
  body: (sim: Simulator) => Promise<T>,
): Promise<T> {
  const sim = await startSimulator(options);
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

// ---- XML -> model conversion (the shapes of src/records.ts) ----

type Value = string | number | boolean | Value[] | { [k: string]: Value };

const NUMBERS = new Set([
  'ID',
  'ASSET_ID',
  'TRURISK_SCORE',
  'ASSET_CRITICALITY_SCORE',
  'LAST_VM_SCANNED_DURATION',
  'LAST_VM_AUTH_SCANNED_DURATION',
  'TAG_ID',
  'UNIQUE_VULN_ID',
  'QID',
  'SEVERITY',
  'PORT',
  'TIMES_FOUND',
  'TIMES_REOPENED',
  'SEVERITY_LEVEL',
  'BASE',
  'TEMPORAL',
  'VECTOR',
  'COMPLEXITY',
]);
const BOOLEANS = new Set(['SSL', 'IS_IGNORED', 'IS_DISABLED', 'PATCHABLE', 'PCI_FLAG', 'REMOTE']);
/** Wrapper element -> repeated child, flattened into an array. */
const LISTS: Record<string, string> = {
  TAGS: 'TAG',
  CLOUD_PROVIDER_TAGS: 'CLOUD_TAG',
  EC2: 'ATTRIBUTE',
  AZURE: 'ATTRIBUTE',
  GOOGLE: 'ATTRIBUTE',
  QDS_FACTORS: 'QDS_FACTOR',
  DETECTION_LIST: 'DETECTION',
  SOFTWARE_LIST: 'SOFTWARE',
  VENDOR_REFERENCE_LIST: 'VENDOR_REFERENCE',
  CVE_LIST: 'CVE',
  EXPLOITS: 'EXPLT_SRC',
  EXPLT_LIST: 'EXPLT',
  THREAT_INTELLIGENCE: 'THREAT_INTEL',
  AUTH_TYPE_LIST: 'AUTH_TYPE',
  CHANGE_LOG_LIST: 'CHANGE_LOG_INFO',
  BUGTRAQ_LIST: 'BUGTRAQ',
  COMPLIANCE_LIST: 'COMPLIANCE',
};

/** Converts an element to the model shape: numbers, 0|1 booleans, lists, attribute+text objects. */
export function toModel(node: XmlNode, parent = ''): Value {
  const list = LISTS[node.name];
  if (list) return node.children.map((c) => toModel(c, node.name));
  const attrs = Object.keys(node.attrs);
  if (node.children.length === 0) {
    // ID is the host ID under HOST, text elsewhere (CVE, vendor reference).
    const numeric = NUMBERS.has(node.name) && (node.name !== 'ID' || parent === 'HOST');
    const value: Value = numeric
      ? Number(node.text)
      : BOOLEANS.has(node.name)
        ? node.text === '1'
        : node.text;
    if (node.name === 'QDS') return { value: Number(node.text), severity: node.attrs.severity };
    if (attrs.length > 0 && node.name !== 'BASE') return { ...node.attrs, value };
    return value;
  }
  const out: { [k: string]: Value } = {};
  for (const c of node.children) out[c.name] = toModel(c, node.name);
  return out;
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
