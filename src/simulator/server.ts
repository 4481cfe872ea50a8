/**
 * The HTTP front: reads the request, routes it to an API call (api-call.ts), the gateway token
 * endpoint, the admin routes or a 404, and counts it.
 */
import http from 'node:http';
import { handleAdmin } from './admin';
import { ApiCall } from './api-call';
import { basicAuthorised, credentialsMatch, issueToken } from './auth';
import type { SimulatorCore } from './core';
import type { ApiName, Endpoint } from './stats';

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

/** `a=1&b=2` into its raw `name=value` tokens (kept encoded for the WARNING URL). */
function splitParams(text: string): string[] {
  return text.split('&').filter((token) => token !== '');
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
    await new ApiCall(core, req, res, target, raw, body).run();
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
