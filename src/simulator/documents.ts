/**
 * The response documents of the list APIs, streamed host by host (doc §2-4): preamble with DOCTYPE,
 * optional echoed REQUEST, RESPONSE/DATETIME from the simulated clock, HOST_LIST / ID_SET /
 * VULN_LIST, and the truncation WARNING (CODE 1980 + next-page URL with id_min). Hosts ascend by ID;
 * HLD leaves out hosts without a matching detection.
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
): Promise<void> {
  const { dataset } = ctx;
  let emitted = 0;
  let lastId = 0;
  let more = false;
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
      await out.stall();
      return;
    }
    await out.write(page.render(state));
    emitted++;
    lastId = state.id;
  }
  let tail = emitted > 0 ? page.close() : '';
  if (more) tail += warningXml(ctx, limit, lastId + 1);
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
      open: '    <HOST_LIST>\n',
      close: () => '    </HOST_LIST>\n',
    };
  }
  await streamHosts(out, ctx, request.filter, request.truncationLimit, page);
  await out.write('  </RESPONSE>\n</HOST_LIST_OUTPUT>\n');
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
  let matching: DetectionState[] = [];
  await streamHosts(out, ctx, request.filter, request.truncationLimit, {
    select: (_state, detections) => {
      matching = detections().filter((d) => detectionMatches(d, request.detectionFilter, kb));
      return matching.length > 0;
    },
    render: (state) => hldHostXml(state, matching, kb, request.display, request.detectionDisplay),
    poisonable: true,
    open: '    <HOST_LIST>\n',
    close: () => '    </HOST_LIST>\n',
  });
  await out.write('  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n');
}

/**
 * KB list. With details=All a keep-alive comment precedes VULN_LIST inside RESPONSE, as seen on the
 * wire (doc §4, S2-har); parsers must skip it.
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
  const idSet = request.details === 'None';
  const runs = new IdRuns('      ');
  let emitted = 0;
  for (let index = 0; index < kb.size && !out.aborted; index++) {
    if (!kbEntryMatches(kb, index, request.filter, () => kb.details(index))) continue;
    if (emitted === 0) {
      const keepAlive =
        request.details === 'All'
          ? '    <!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT  -->\n'
          : '';
      await out.write(idSet ? '    <ID_SET>\n' : `${keepAlive}    <VULN_LIST>\n`);
    }
    await out.write(idSet ? runs.add(kb.entries[index].qid) : vulnXml(kb, index, request));
    emitted++;
  }
  if (emitted > 0)
    await out.write(idSet ? runs.finish() + '    </ID_SET>\n' : '    </VULN_LIST>\n');
  await out.write('  </RESPONSE>\n</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n');
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
