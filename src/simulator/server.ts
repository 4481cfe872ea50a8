/**
 * The HTTP front. Routes, then for the fo/msp APIs the request pipeline in the order a call meets
 * Qualys' checks:
 *   maintenance fault (front door, no Qualys headers) -> Basic auth (401 "Bad Login/Password") ->
 *   X-Requested-With (400) -> account expired (200 + 2001) -> 409 storm fault -> concurrency (409
 *   1960) -> rate window (409 1965) -> call admitted: slot + window entry -> latency -> 5xx fault ->
 *   parameters (400 1901/1903/1905) -> 200 head, first-byte delay, streamed body.
 * Every fo/msp response past the front door carries the limit headers (doc §5). Which check comes
 * first between auth, header and limits is not documented [U]; this order never charges a
 * rejected call to the rate window.
 */
import http from 'node:http';
import { handleAdmin } from './admin';
import { basicAuthorised, credentialsMatch, issueToken } from './auth';
import type { SimulatorCore } from './core';
import {
  DocumentContext,
  aboutDocument,
  writeHldDocument,
  writeHostListDocument,
  writeKbDocument,
} from './documents';
import {
  ParamError,
  ParamPairs,
  parseHldRequest,
  parseHostListRequest,
  parseKbRequest,
} from './params';
import { ResponseBody, sleep } from './response-body';
import type { ApiName, Endpoint } from './stats';
import { concurrencyText, waitText } from './limits';
import { SimpleReturn, XML_DECLARATION, escapeText, simpleReturnXml } from './xml-writer';

type Route =
  | { kind: 'api'; api: ApiName; version: number }
  | { kind: 'auth' }
  | { kind: 'admin'; action: string }
  | { kind: 'unknown' };

const API_PATH =
  /^\/api\/([2-5])\.0\/fo\/(asset\/host\/vm\/detection|asset\/host|knowledge_base\/vuln)\/?$/;
const API_BY_PATH: Readonly<Record<string, ApiName>> = {
  'asset/host/vm/detection': 'hld',
  'asset/host': 'host_list',
  'knowledge_base/vuln': 'kb',
};
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const XML = 'application/xml';
const TEXT_XML = 'text/xml;charset=UTF-8';

function route(pathname: string): Route {
  const api = API_PATH.exec(pathname);
  if (api) return { kind: 'api', api: API_BY_PATH[api[2]], version: Number(api[1]) };
  if (pathname === '/msp/about.php') return { kind: 'api', api: 'about', version: 2 };
  if (pathname === '/auth') return { kind: 'auth' };
  const admin = /^\/__sim\/([a-z]+)$/.exec(pathname);
  if (admin) return { kind: 'admin', action: admin[1] };
  return { kind: 'unknown' };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** `a=1&b=2` into raw tokens (kept for the WARNING URL) and decoded pairs. */
function splitParams(text: string): string[] {
  return text.split('&').filter((token) => token !== '');
}

function decodePairs(raw: readonly string[]): ParamPairs {
  return raw.map((token) => {
    const eq = token.indexOf('=');
    return eq < 0 ? [decode(token), ''] : [decode(token.slice(0, eq)), decode(token.slice(eq + 1))];
  });
}

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

export function createHttpServer(core: SimulatorCore): http.Server {
  return http.createServer((req, res) => {
    handle(core, req, res).catch((error: Error) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`simulator error: ${error.message}\n`);
      } else {
        res.destroy(error);
      }
    });
  });
}

async function handle(
  core: SimulatorCore,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const target = route(url.pathname);
  const body = req.method === 'POST' ? await readBody(req) : '';
  const endpoint: Endpoint = target.kind === 'api' ? target.api : target.kind;
  core.stats.call(endpoint);
  res.on('close', () => {
    if (res.headersSent) core.stats.status(endpoint, res.statusCode);
  });

  if (target.kind === 'api') {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.writeHead(405, { Allow: 'GET, POST' });
      res.end();
      return;
    }
    const raw = [...splitParams(url.search.slice(1)), ...splitParams(body)];
    await handleApi(core, req, res, target, raw, body);
    return;
  }
  if (target.kind === 'auth') {
    const form = new URLSearchParams(body);
    const ok =
      req.method === 'POST' && credentialsMatch(form, core.options.username, core.options.password);
    const text = ok
      ? issueToken(
          core.options.username,
          `${core.options.seed}:${core.options.password}`,
          Date.now(),
        )
      : 'Unauthorized';
    res.writeHead(ok ? 201 : 401, { 'Content-Type': 'text/plain;charset=UTF-8' });
    res.end(text);
    core.stats.served('auth', Buffer.byteLength(text));
    return;
  }
  if (target.kind === 'admin') {
    if (!basicAuthorised(req.headers.authorization, core.options.username, core.options.password)) {
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': 'Basic realm="qualys-sim"',
      });
      res.end('{"error":"Bad Login/Password"}\n');
      return;
    }
    const form = new URLSearchParams([...url.searchParams, ...new URLSearchParams(body)]);
    const text = handleAdmin(core, target.action, req.method ?? 'GET', form, res);
    core.stats.served('admin', Buffer.byteLength(text));
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not Found\n');
}

async function handleApi(
  core: SimulatorCore,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: { api: ApiName; version: number },
  rawParams: readonly string[],
  body: string,
): Promise<void> {
  const { api } = target;
  const { options, stats } = core;
  res.on('close', stats.enter(api));
  const faults = core.faults.forCall(api);
  const limiter = core.limiters[api];
  const requestHost = req.headers.host ?? '127.0.0.1';
  const datetime = core.clock.nowIso();
  const path = new URL(req.url ?? '/', 'http://simulator').pathname;

  const send = (
    status: number,
    type: string,
    text: string,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { ...limiter.headers(), ...headers, 'Content-Type': type });
    res.end(text);
    stats.served(api, Buffer.byteLength(text));
  };
  const simple = (
    status: number,
    ret: Omit<SimpleReturn, 'datetime'>,
    headers: Record<string, string> = {},
  ): void => send(status, TEXT_XML, simpleReturnXml(requestHost, { datetime, ...ret }), headers);

  if (faults.maintenance) {
    stats.fault('maintenance');
    res.writeHead(503, {
      'Content-Type': 'text/html',
      'Retry-After': String(faults.maintenance.retryAfterSec),
    });
    res.end(MAINTENANCE_PAGE);
    stats.served(api, Buffer.byteLength(MAINTENANCE_PAGE));
    return;
  }
  if (!basicAuthorised(req.headers.authorization, options.username, options.password)) {
    // The doc quotes the text [V S23]; the CODE is unverified [U], so none is sent.
    simple(401, { text: 'Bad Login/Password' }, { 'WWW-Authenticate': 'Basic realm="Qualys API"' });
    return;
  }
  if (req.headers['x-requested-with'] === undefined) {
    // The real answer to a missing header is not documented [U]; 400 + SIMPLE_RETURN is the guess.
    simple(400, {
      text: 'The X-Requested-With header is required for API calls using basic authentication.',
    });
    return;
  }
  if (options.accountExpired) {
    simple(200, { code: 2001, text: 'This account has expired.' });
    return;
  }
  if (faults.conflict) {
    stats.fault('conflict');
    stats.conflict(faults.conflict.code);
    if (faults.conflict.code === 1960) {
      simple(
        409,
        { code: 1960, text: concurrencyText(1), items: [['CALLS_TO_FINISH', 1]] },
        {
          'X-Concurrency-Limit-Running': String(options.concurrencyLimit),
        },
      );
    } else {
      const wait = faults.conflict.secondsToWait;
      simple(
        409,
        { code: 1965, text: waitText(wait), items: [['SECONDS_TO_WAIT', wait]] },
        {
          'X-RateLimit-ToWait-Sec': String(wait),
          'X-RateLimit-Remaining': '0',
        },
      );
    }
    return;
  }
  const verdict = limiter.check();
  if (!verdict.allowed) {
    stats.conflict(verdict.code);
    if (verdict.code === 1960) {
      const n = verdict.callsToFinish;
      simple(409, { code: 1960, text: concurrencyText(n), items: [['CALLS_TO_FINISH', n]] });
    } else {
      const wait = verdict.secondsToWait;
      simple(409, { code: 1965, text: waitText(wait), items: [['SECONDS_TO_WAIT', wait]] });
    }
    return;
  }
  res.on('close', limiter.acquire());

  if (faults.latencyMs > 0) stats.fault('latency');
  await sleep(options.latencyMs + faults.latencyMs);
  if (res.destroyed) return;
  if (faults.httpError) {
    stats.fault('http_error');
    const status = faults.httpError;
    if (status === 500)
      send(500, XML, internalErrorXml(requestHost, path, options.username, datetime));
    else send(status, 'text/html', errorPage(status));
    return;
  }

  const nowSec = core.clock.nowSeconds();
  const pairs = decodePairs(rawParams);
  let write: (out: ResponseBody, ctx: DocumentContext) => Promise<void>;
  let contentType = XML;
  try {
    if (api === 'host_list') {
      const request = parseHostListRequest(pairs, nowSec);
      write = (out, ctx) => writeHostListDocument(out, ctx, request);
    } else if (api === 'hld') {
      const request = parseHldRequest(pairs, nowSec);
      write = (out, ctx) => writeHldDocument(out, ctx, request);
    } else if (api === 'kb') {
      const request = parseKbRequest(pairs);
      contentType = TEXT_XML;
      write = (out, ctx) => writeKbDocument(out, ctx, request);
    } else {
      contentType = TEXT_XML;
      write = (out) => out.write(aboutDocument(requestHost));
    }
  } catch (error) {
    if (!(error instanceof ParamError)) throw error;
    simple(400, { code: error.code, text: error.message });
    return;
  }
  const echo = pairs.some(([name, value]) => name === 'echo_request' && value === '1');

  res.writeHead(200, { ...limiter.headers(), 'Content-Type': contentType });
  res.flushHeaders();
  if (faults.firstByteMs > 0) stats.fault('first_byte');
  await sleep(options.firstByteMs + faults.firstByteMs);
  const rates = [options.bytesPerSec, faults.bytesPerSec ?? 0].filter((r) => r > 0);
  if (faults.bytesPerSec) stats.fault('bandwidth');
  const out = new ResponseBody(res, {
    bytesPerSec: rates.length > 0 ? Math.min(...rates) : undefined,
    resetAfterBytes: faults.resetAfterBytes,
    truncateAfterBytes: faults.truncateAfterBytes,
    onBytes: (n) => stats.served(api, n),
    onFault: (type) => stats.fault(type),
  });
  await write(out, {
    dataset: core.dataset,
    datetime,
    requestHost,
    version: target.version,
    path,
    rawParams,
    warningUrl: options.warningUrl,
    echo: echo
      ? {
          datetime,
          userLogin: options.username,
          resource: path,
          params: pairs,
          postData: req.method === 'POST' ? body : undefined,
        }
      : undefined,
    poisonHostIds: core.faults.poisonHostIds,
  });
  await out.end();
}
