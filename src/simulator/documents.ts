/**
 * The response documents of the list APIs, streamed host by host (doc §2-4): preamble with DOCTYPE,
 * optional echoed REQUEST, RESPONSE/DATETIME from the simulated clock, HOST_LIST / ID_SET /
 * VULN_LIST, and the truncation WARNING (CODE 1980 + next-page URL with id_min). Hosts ascend by ID
 * (unless the unordered_hosts fault swaps them); HLD leaves out hosts without a matching detection.
 * The comments real responses carry (real-captures/README.md): the CONFIDENTIAL notice after the
 * root, on an evaluation subscription a notice before and after it, and keep-alive comments.
 */
import type { Dataset } from './dataset';
import type { DetectionState } from './detections';
import { candidateIndices, detectionMatches, hostMatches, kbEntryMatches } from './filters';
import type { HostState } from './hosts';
import { hldHostXml, hostListHostXml } from './host-xml';
import { vulnXml } from './kb-xml';
import type { HldRequest, HostFilter, HostListRequest, KbRequest } from './params';
import type { ResponseBody } from './response-body';
import {
  RequestEcho,
  XML_DECLARATION,
  cdata,
  doctype,
  escapeText,
  requestEchoXml,
} from './xml-writer';

export type WarningUrlStyle = 'cdata' | 'escaped';

export interface DocumentContext {
  dataset: Dataset;
  datetime: string;
  requestHost: string;
  /** API version from the path (2-5). */
  version: number;
  path: string;
  /** The request's parameters as sent (`name=value`, still URL-encoded), query first, then body. */
  rawParams: readonly string[];
  warningUrl: WarningUrlStyle;
  echo?: RequestEcho;
  poisonHostIds: ReadonlySet<number>;
  /** An evaluation subscription: its notice before and after the root (option evaluation). */
  evaluation: boolean;
  /** A keep-alive comment after every N-th HOST, DETECTION or VULN; 0 = none (option keepAliveEvery). */
  keepAliveEvery: number;
  /** CR LF line ends in multi-line KB texts (option crlfText). */
  crlfText: boolean;
  /** Every N-th host of a page comes after the next one (fault unordered_hosts); 0 = in ID order. */
  swapHostPairsEvery: number;
}

const EVALUATION_NOTICE =
  '<!-- This report was generated with an evaluation version of Qualys //--> \n';

function confidentialNotice(datetime: string): string {
  return (
    '<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service "As Is," ' +
    'without any warranty of any kind. Qualys makes no warranty that the information contained in ' +
    `this report is complete or error-free. Copyright ${datetime.slice(0, 4)}, Qualys, Inc. //--> \n`
  );
}

function keepAliveComment(root: string): string {
  return `<!-- keep-alive for ${root}  -->\n`;
}

/** Counts list elements and says when a keep-alive comment is due (every N-th; never for N = 0). */
class KeepAlive {
  private count = 0;

  constructor(
    private readonly every: number,
    private readonly comment: string,
  ) {}

  /** The comment to write after one more element, or ''. */
  next(): string {
    return this.every > 0 && ++this.count % this.every === 0 ? this.comment : '';
  }
}

/** The end of a list document: the root's close tag and the comments after it. */
function epilogue(ctx: DocumentContext, root: string): string {
  return (
    `  </RESPONSE>\n</${root}>\n` +
    (ctx.evaluation ? EVALUATION_NOTICE : '') +
    confidentialNotice(ctx.datetime) +
    (ctx.keepAliveEvery > 0 ? keepAliveComment(root) : '')
  );
}

/** Collapses ascending IDs into ID and ID_RANGE elements (ID_SET ((ID|ID_RANGE)+), doc §2). */
class IdRuns {
  private first = -1;
  private last = -1;

  constructor(private readonly indent: string) {}

  /** Adds an ID; returns the XML of the run it closed, if any. */
  add(id: number): string {
    if (this.first >= 0 && id === this.last + 1) {
      this.last = id;
      return '';
    }
    const closed = this.finish();
    this.first = this.last = id;
    return closed;
  }

  finish(): string {
    if (this.first < 0) return '';
    const out =
      this.first === this.last
        ? `${this.indent}<ID>${this.first}</ID>\n`
        : `${this.indent}<ID_RANGE>${this.first}-${this.last}</ID_RANGE>\n`;
    this.first = this.last = -1;
    return out;
  }
}

function preamble(ctx: DocumentContext, root: string, dtdPath: string): string {
  let out =
    XML_DECLARATION +
    doctype(root, ctx.requestHost, `/api/${ctx.version}.0${dtdPath}`) +
    (ctx.evaluation ? EVALUATION_NOTICE : '') +
    `<${root}>\n`;
  if (ctx.echo) out += requestEchoXml(ctx.echo, '  ');
  return out + `  <RESPONSE>\n    <DATETIME>${ctx.datetime}</DATETIME>\n`;
}

/** WARNING with the next-page URL: every original parameter, id_min replaced or appended (doc §2). */
function warningXml(ctx: DocumentContext, limit: number, nextIdMin: number): string {
  const params = ctx.rawParams.filter((p) => !/^id_min=/.test(p));
  params.push(`id_min=${nextIdMin}`);
  const url = `http://${ctx.requestHost}${ctx.path}?${params.join('&')}`;
  const urlXml = ctx.warningUrl === 'cdata' ? cdata(url) : escapeText(url);
  return (
    `    <WARNING>\n      <CODE>1980</CODE>\n` +
    `      <TEXT>${limit} record limit exceeded. Use URL to get next batch of results.</TEXT>\n` +
    `      <URL>${urlXml}</URL>\n    </WARNING>\n`
  );
}

/** How one kind of host page decides and renders its hosts. */
interface HostPage {
  /** Whether the host appears in the output (called once per host that passed the host filters). */
  select(state: HostState, detections: () => DetectionState[]): boolean;
  /** The host's output, after select() returned true. */
  render(state: HostState): string;
  /** Whether a poison host stalls this page (ID_SET listings are not affected). */
  poisonable: boolean;
  /** Whether each host is one element (not a run of an ID_SET): keep-alives and swaps apply. */
  hostElements: boolean;
  open: string;
  close(): string;
}

/**
 * Streams the hosts of a page: ascending candidates, host filters, page selection, then render.
 * When `limit` hosts are out, looks ahead for one more selected host to decide on the WARNING [I:
 * the real API may also warn when no further host matches; clients must stop on a missing WARNING
 * either way].
 */
async function streamHosts(
  out: ResponseBody,
  ctx: DocumentContext,
  filter: HostFilter,
  limit: number,
  page: HostPage,
  keepAlive: KeepAlive,
): Promise<void> {
  const { dataset } = ctx;
  let emitted = 0;
  let maxId = 0;
  let more = false;
  // The unordered_hosts fault holds a host back and writes it after the next one.
  let held: string | undefined;
  const write = async (text: string): Promise<void> => {
    await out.write(text + (page.hostElements ? keepAlive.next() : ''));
  };
  for (const index of candidateIndices(dataset.ids, filter)) {
    if (out.aborted) return;
    if (!dataset.isLive(index)) continue;
    const state = dataset.hostState(index);
    let detections: DetectionState[] | undefined;
    const detectionsOf = (): DetectionState[] =>
      (detections ??= dataset.hostDetections(state).list);
    if (!hostMatches(state, filter, () => dataset.truRisk(state, detectionsOf()))) continue;
    if (!page.select(state, detectionsOf)) continue;
    if (limit > 0 && emitted === limit) {
      more = true;
      break;
    }
    if (emitted === 0) await out.write(page.open);
    if (page.poisonable && ctx.poisonHostIds.has(state.id)) {
      if (held !== undefined) await write(held);
      await out.stall();
      return;
    }
    const text = page.render(state);
    emitted++;
    maxId = state.id;
    if (held !== undefined) {
      await write(text);
      await write(held);
      held = undefined;
    } else if (
      page.hostElements &&
      ctx.swapHostPairsEvery > 0 &&
      emitted % ctx.swapHostPairsEvery === 0
    ) {
      held = text;
    } else {
      await write(text);
    }
  }
  if (held !== undefined) await write(held);
  let tail = emitted > 0 ? page.close() : '';
  if (more) tail += warningXml(ctx, limit, maxId + 1);
  await out.write(tail);
}

export async function writeHostListDocument(
  out: ResponseBody,
  ctx: DocumentContext,
  request: HostListRequest,
): Promise<void> {
  await out.write(preamble(ctx, 'HOST_LIST_OUTPUT', '/fo/asset/host/dtd/list/output.dtd'));
  const { dataset } = ctx;
  let page: HostPage;
  if (request.details === 'None') {
    const runs = new IdRuns('      ');
    page = {
      select: () => true,
      render: (state) => runs.add(state.id),
      poisonable: false,
      hostElements: false,
      open: '    <ID_SET>\n',
      close: () => runs.finish() + '    </ID_SET>\n',
    };
  } else {
    const scored = request.showTrurisk || request.showArs;
    let current: DetectionState[] | undefined;
    const options = {
      details: request.details,
      display: request.display,
      showTrurisk: request.showTrurisk,
      showArs: request.showArs,
    };
    page = {
      select: (_state, detections) => {
        current = scored ? detections() : undefined;
        return true;
      },
      render: (state) =>
        hostListHostXml(state, current ? dataset.truRisk(state, current) : 0, options),
      poisonable: true,
      hostElements: true,
      open: '    <HOST_LIST>\n',
      close: () => '    </HOST_LIST>\n',
    };
  }
  const keepAlive = new KeepAlive(ctx.keepAliveEvery, keepAliveComment('HOST_LIST_OUTPUT'));
  await streamHosts(out, ctx, request.filter, request.truncationLimit, page, keepAlive);
  await out.write(epilogue(ctx, 'HOST_LIST_OUTPUT'));
}

export async function writeHldDocument(
  out: ResponseBody,
  ctx: DocumentContext,
  request: HldRequest,
): Promise<void> {
  await out.write(
    preamble(ctx, 'HOST_LIST_VM_DETECTION_OUTPUT', '/fo/asset/host/vm/detection/dtd/output.dtd'),
  );
  const kb = ctx.dataset.knowledgeBase;
  const root = 'HOST_LIST_VM_DETECTION_OUTPUT';
  const keepAlive = new KeepAlive(ctx.keepAliveEvery, keepAliveComment(root));
  // /api/2.0 predates UNIQUE_VULN_ID and QDS: real 2.0 captures have neither (real-captures
  // hld-*.xml; doc §3: UNIQUE_VULN_ID is "in current versions" [V], QDS on 2.0 absent [I]).
  const legacy = ctx.version < 3;
  const display = legacy
    ? { ...request.detectionDisplay, showQds: false, showQdsFactors: false }
    : request.detectionDisplay;
  let matching: DetectionState[] = [];
  await streamHosts(
    out,
    ctx,
    request.filter,
    request.truncationLimit,
    {
      select: (_state, detections) => {
        matching = detections().filter((d) => detectionMatches(d, request.detectionFilter, kb));
        return matching.length > 0;
      },
      render: (state) =>
        hldHostXml(state, matching, kb, request.display, display, {
          uniqueVulnId: !legacy,
          keepAlive,
        }),
      poisonable: true,
      hostElements: true,
      open: '    <HOST_LIST>\n',
      close: () => '    </HOST_LIST>\n',
    },
    keepAlive,
  );
  await out.write(epilogue(ctx, root));
}

/**
 * KB list. With details=All a keep-alive comment precedes VULN_LIST inside RESPONSE, as seen on the
 * wire (doc §4, S2-har; two in a row with keep-alives on, as in real-captures kb-qualysapi-2015-09);
 * parsers must skip them.
 */
export async function writeKbDocument(
  out: ResponseBody,
  ctx: DocumentContext,
  request: KbRequest,
): Promise<void> {
  await out.write(
    preamble(
      ctx,
      'KNOWLEDGE_BASE_VULN_LIST_OUTPUT',
      '/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd',
    ),
  );
  const kb = ctx.dataset.knowledgeBase;
  const root = 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT';
  const comment = keepAliveComment(root);
  const keepAlive = new KeepAlive(ctx.keepAliveEvery, comment);
  const style = { crlf: ctx.crlfText };
  const idSet = request.details === 'None';
  const runs = new IdRuns('      ');
  let emitted = 0;
  for (let index = 0; index < kb.size && !out.aborted; index++) {
    if (!kbEntryMatches(kb, index, request.filter, () => kb.details(index))) continue;
    if (emitted === 0) {
      const opening =
        request.details === 'All' ? comment.repeat(ctx.keepAliveEvery > 0 ? 2 : 1) : '';
      await out.write(idSet ? '    <ID_SET>\n' : `${opening}    <VULN_LIST>\n`);
    }
    await out.write(
      idSet
        ? runs.add(kb.entries[index].qid)
        : vulnXml(kb, index, request, style) + keepAlive.next(),
    );
    emitted++;
  }
  if (emitted > 0)
    await out.write(idSet ? runs.finish() + '    </ID_SET>\n' : '    </VULN_LIST>\n');
  await out.write(epilogue(ctx, root));
}

/**
 * `/msp/about.php`: the cheap credential and limit probe (doc §1). Element names from S5/S13b;
 * the version numbers are illustrative [I].
 */
export function aboutDocument(requestHost: string): string {
  return (
    XML_DECLARATION +
    `<!DOCTYPE ABOUT SYSTEM "http://${requestHost}/about.dtd">\n<ABOUT>\n` +
    '  <API-VERSION MAJOR="2" MINOR="0" />\n  <WEB-VERSION>10.34.1-1</WEB-VERSION>\n' +
    '  <SCANNER-VERSION>13.4.28-1</SCANNER-VERSION>\n  <VULNSIGS-VERSION>2.6.196-2</VULNSIGS-VERSION>\n</ABOUT>\n'
  );
}
