/**
 * One fo/msp API call, through the checks in the order a call meets them at Qualys:
 *   maintenance fault (front door, no Qualys headers) -> Basic auth (401 SIMPLE_RETURN 2000 "Bad
 *   Login/Password", no limit headers) ->
 *   X-Requested-With (400) -> account expired (200 + 2001) -> 409 storm fault -> concurrency (409
 *   1960) -> rate window (409 1965) -> admitted: slot + window entry -> latency -> 5xx fault ->
 *   parameters (400 1901/1903/1905) -> 200 head, first-byte delay, streamed body.
 * Every response past authentication carries the limit headers (doc §5). The relative order of
 * auth, header and limit checks is not documented [U]; this one never charges a refused call to
 * the rate window.
 */
import http from 'node:http';
import { basicAuthorised } from './auth';
import type { SimulatorCore } from './core';
import {
  DocumentContext,
  aboutDocument,
  writeHldDocument,
  writeHostListDocument,
  writeKbDocument,
} from './documents';
import type { CallFaults } from './faults';
import { ApiLimiter, concurrencyText, waitText } from './limits';
import {
  ParamError,
  ParamPairs,
  parseHldRequest,
  parseHostListRequest,
  parseKbRequest,
} from './params';
import { ResponseBody, sleep } from './response-body';
import type { ApiName } from './stats';
import { SimpleReturn, XML_DECLARATION, escapeText, simpleReturnXml } from './xml-writer';

const XML = 'application/xml';
const TEXT_XML = 'text/xml;charset=UTF-8';

const MAINTENANCE_PAGE =
  '<html><head><title>Scheduled Maintenance</title></head><body><h1>Qualys is undergoing scheduled maintenance.</h1>' +
  '<p>Please try again later.</p></body></html>\n';

function errorPage(status: number): string {
  const reason = http.STATUS_CODES[status] ?? 'Error';
  return `<html><head><title>${status} ${reason}</title></head><body><h1>${reason}</h1></body></html>\n`;
}

/** The internal-error document (doc §5: GENERIC_RETURN with RETURN "Internal error", code 999 [I]). */
function internalErrorXml(
  requestHost: string,
  path: string,
  username: string,
  datetime: string,
): string {
  return (
    XML_DECLARATION +
    `<!DOCTYPE GENERIC_RETURN SYSTEM "http://${requestHost}/generic_return.dtd">\n<GENERIC_RETURN>\n` +
    `  <API name="${escapeText(path)}" username="${escapeText(username)}" at="${datetime}" />\n` +
    '  <RETURN status="FAILED" number="999">Internal error. Please contact customer support.</RETURN>\n' +
    '</GENERIC_RETURN>\n'
  );
}

interface Document {
  contentType: string;
  write: (out: ResponseBody, ctx: DocumentContext) => Promise<void>;
}

export interface ApiTarget {
  api: ApiName;
  /** API version from the path (2-5). */
  version: number;
}

export class ApiCall {
  private readonly faults: CallFaults;
  private readonly limiter: ApiLimiter;
  private readonly requestHost: string;
  private readonly datetime: string;
  private readonly path: string;
  private readonly pairs: ParamPairs;

  constructor(
    private readonly core: SimulatorCore,
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly target: ApiTarget,
    /** Parameters as sent (`name=value`, URL-encoded), query first, then form body. */
    private readonly rawParams: readonly string[],
    private readonly body: string,
  ) {
    this.faults = core.faults.forCall(target.api);
    this.limiter = core.limiters[target.api];
    this.requestHost = req.headers.host ?? '127.0.0.1';
    this.datetime = core.clock.nowIso();
    this.path = new URL(req.url ?? '/', 'http://simulator').pathname;
    this.pairs = rawParams.map((token) => {
      const eq = token.indexOf('=');
      return eq < 0
        ? [decode(token), '']
        : [decode(token.slice(0, eq)), decode(token.slice(eq + 1))];
    });
  }

  async run(): Promise<void> {
    const { stats, options } = this.core;
    this.res.on('close', stats.enter(this.target.api));
    if (this.refusedAtFrontDoor() || this.refusedByChecks()) return;
    this.res.on('close', this.limiter.acquire());
    if (this.faults.latencyMs > 0) stats.fault('latency');
    await sleep(options.latencyMs + this.faults.latencyMs);
    if (this.res.destroyed || this.failedByFault()) return;
    const document = this.document();
    if (document) await this.stream(document);
  }

  private send(
    status: number,
    type: string,
    text: string,
    headers: Record<string, string> = {},
  ): void {
    this.res.writeHead(status, { ...this.limiter.headers(), ...headers, 'Content-Type': type });
    this.res.end(text);
    this.core.stats.served(this.target.api, Buffer.byteLength(text));
  }

  private simple(
    status: number,
    ret: Omit<SimpleReturn, 'datetime'>,
    headers: Record<string, string> = {},
  ): void {
    this.send(
      status,
      TEXT_XML,
      simpleReturnXml(this.requestHost, { datetime: this.datetime, ...ret }),
      headers,
    );
  }

  private refusedAtFrontDoor(): boolean {
    const maintenance = this.faults.maintenance;
    if (!maintenance) return false;
    this.core.stats.fault('maintenance');
    this.res.writeHead(503, {
      'Content-Type': 'text/html',
      'Retry-After': String(maintenance.retryAfterSec),
    });
    this.res.end(MAINTENANCE_PAGE);
    this.core.stats.served(this.target.api, Buffer.byteLength(MAINTENANCE_PAGE));
    return true;
  }

  /** Credentials, required header, account state and limits; true when the call was answered. */
  private refusedByChecks(): boolean {
    const { options, stats } = this.core;
    if (!basicAuthorised(this.req.headers.authorization, options.username, options.password)) {
      // As recorded (real-captures simple-return-2000-j1-qg3-2020-09.xml): CODE 2000 (the code
      // the API doc marks unknown), an XML declaration, and no rate-limit headers.
      const body = simpleReturnXml(this.requestHost, {
        datetime: this.datetime,
        code: 2000,
        text: 'Bad Login/Password',
      });
      this.res.writeHead(401, {
        'Content-Type': TEXT_XML,
        'WWW-Authenticate': 'Basic realm="Qualys API"',
      });
      this.res.end(XML_DECLARATION + body);
      stats.served(this.target.api, Buffer.byteLength(XML_DECLARATION + body));
      return true;
    }
    if (this.req.headers['x-requested-with'] === undefined) {
      // The real answer to a missing header is not documented [U]; 400 + SIMPLE_RETURN is the guess.
      this.simple(400, {
        text: 'The X-Requested-With header is required for API calls using basic authentication.',
      });
      return true;
    }
    if (options.accountExpired) {
      this.simple(200, { code: 2001, text: 'This account has expired.' });
      return true;
    }
    const storm = this.faults.conflict;
    if (storm) {
      stats.fault('conflict');
      stats.conflict(storm.code);
      if (storm.code === 1960) {
        this.simple(
          409,
          { code: 1960, text: concurrencyText(1), items: [['CALLS_TO_FINISH', 1]] },
          {
            'X-Concurrency-Limit-Running': String(options.concurrencyLimit),
          },
        );
      } else {
        this.simple(
          409,
          {
            code: 1965,
            text: waitText(storm.secondsToWait),
            items: [['SECONDS_TO_WAIT', storm.secondsToWait]],
          },
          {
            'X-RateLimit-ToWait-Sec': String(storm.secondsToWait),
            'X-RateLimit-Remaining': '0',
          },
        );
      }
      return true;
    }
    const verdict = this.limiter.check();
    if (verdict.allowed) return false;
    stats.conflict(verdict.code);
    if (verdict.code === 1960) {
      const n = verdict.callsToFinish;
      this.simple(409, { code: 1960, text: concurrencyText(n), items: [['CALLS_TO_FINISH', n]] });
    } else {
      const wait = verdict.secondsToWait;
      this.simple(409, { code: 1965, text: waitText(wait), items: [['SECONDS_TO_WAIT', wait]] });
    }
    return true;
  }

  private failedByFault(): boolean {
    const status = this.faults.httpError;
    if (!status) return false;
    this.core.stats.fault('http_error');
    if (status === 500) {
      this.send(
        500,
        XML,
        internalErrorXml(this.requestHost, this.path, this.core.options.username, this.datetime),
      );
    } else {
      this.send(status, 'text/html', errorPage(status));
    }
    return true;
  }

  /** Parses the parameters into the document to serve, or answers 400 and returns undefined. */
  private document(): Document | undefined {
    const nowSec = this.core.clock.nowSeconds();
    try {
      switch (this.target.api) {
        case 'host_list': {
          const request = parseHostListRequest(this.pairs, nowSec);
          return {
            contentType: XML,
            write: (out, ctx) => writeHostListDocument(out, ctx, request),
          };
        }
        case 'hld': {
          const request = parseHldRequest(this.pairs, nowSec);
          return { contentType: XML, write: (out, ctx) => writeHldDocument(out, ctx, request) };
        }
        case 'kb': {
          const request = parseKbRequest(this.pairs);
          return { contentType: TEXT_XML, write: (out, ctx) => writeKbDocument(out, ctx, request) };
        }
        case 'about':
          return {
            contentType: TEXT_XML,
            write: (out) => out.write(aboutDocument(this.requestHost)),
          };
      }
    } catch (error) {
      if (!(error instanceof ParamError)) throw error;
      this.simple(400, { code: error.code, text: error.message });
      return undefined;
    }
  }

  private async stream(document: Document): Promise<void> {
    const { options, stats } = this.core;
    const { api } = this.target;
    this.res.writeHead(200, { ...this.limiter.headers(), 'Content-Type': document.contentType });
    this.res.flushHeaders();
    if (this.faults.firstByteMs > 0) stats.fault('first_byte');
    await sleep(options.firstByteMs + this.faults.firstByteMs);
    if (this.faults.bytesPerSec) stats.fault('bandwidth');
    if (this.faults.swapHostsEvery) stats.fault('unordered_hosts');
    const rates = [options.bytesPerSec, this.faults.bytesPerSec ?? 0].filter((r) => r > 0);
    const out = new ResponseBody(this.res, {
      bytesPerSec: rates.length > 0 ? Math.min(...rates) : undefined,
      resetAfterBytes: this.faults.resetAfterBytes,
      truncateAfterBytes: this.faults.truncateAfterBytes,
      onBytes: (n) => stats.served(api, n),
      onFault: (type) => stats.fault(type),
    });
    const echo = this.pairs.some(([name, value]) => name === 'echo_request' && value === '1');
    await document.write(out, {
      dataset: this.core.dataset,
      datetime: this.datetime,
      requestHost: this.requestHost,
      version: this.target.version,
      path: this.path,
      rawParams: this.rawParams,
      warningUrl: options.warningUrl,
      echo: echo
        ? {
            datetime: this.datetime,
            userLogin: options.username,
            resource: this.path,
            params: this.pairs,
            postData: this.req.method === 'POST' ? this.body : undefined,
          }
        : undefined,
      poisonHostIds: this.core.faults.poisonHostIds,
      evaluation: options.evaluation,
      keepAliveEvery: options.keepAliveEvery,
      crlfText: options.crlfText,
      swapHostPairsEvery: this.faults.swapHostsEvery ?? 0,
    });
    await out.end();
  }
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
