/**
 * The ETM console's HTTP server (fastify): the page and its assets (resources/console/, Chart.js
 * from node_modules — nothing from a CDN) and a read-only JSON API over the read model. Lists
 * are paged in SQL; a CSV export streams the whole result. It listens on loopback by default;
 * on any other address every request must carry the token (the printed URL's ?token=, kept in
 * a cookie by the browser, or an `Authorization: Bearer` header).
 */
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { Readable } from 'stream';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VError } from 'verror';

import { csvLine } from '../query/output';
import {
  chosenColumns,
  ListedRecord,
  listedValue,
  listModel,
  ReadModel,
} from '../query/read-model';
import { FINDING } from '../models';
import { EtmStore } from '../store/database';

export interface ConsoleOptions {
  readonly db: string;
  readonly host: string;
  readonly port: number;
  /** Required when `host` is not a loopback address. */
  readonly token?: string;
}

export interface RunningConsole {
  /** The address to open, with the token when one is needed. */
  readonly url: string;
  close(): Promise<void>;
}

const PAGE_DIR = path.resolve(__dirname, '../../../resources/console');
const PAGE_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
};
// The browser build of Chart.js, which the package does not export: found beside its main file.
const CHART_JS = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const MAX_PAGE = 500;
const COOKIE = 'etm_console_token';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const token = options.token;
  if (!isLoopback(options.host) && !token) {
    throw new VError(
      'the console listens on %s, beyond this machine: give it a token (--token or ETM_CONSOLE_TOKEN)',
      options.host,
    );
  }
  const store = await EtmStore.open(options.db, { readonly: true });
  const reader = new ReadModel(store);
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:");
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    // Without a token the console trusts loopback callers only; a page from another site that
    // resolves its own name to 127.0.0.1 (DNS rebinding) arrives with its own Host and is refused.
    if (!token && !isLoopback(hostName(req.headers.host ?? ''))) {
      await reply.code(403).send({ error: 'this console answers only to 127.0.0.1 and localhost' });
      return;
    }
    if (token && !authorised(req, reply, token)) {
      await reply
        .code(401)
        .send({ error: 'this console needs its token: open the URL etm serve printed' });
    }
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number }, _req, reply) => {
    // Query, sort and column errors are the user's to fix: say what is wrong, as etm query does.
    const status = err instanceof VError ? 400 : (err.statusCode ?? 500);
    await reply.code(status).send({ error: err.message });
  });
  routes(app, reader);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await store.close();
    throw new VError(err as Error, 'cannot listen on %s:%d', options.host, options.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  return {
    url,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

/** `127.0.0.1:8080` → `127.0.0.1`, `[::1]:8080` → `::1`. */
function hostName(header: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(header);
  return bracketed ? bracketed[1] : header.replace(/:\d+$/, '');
}

/** The token from the query (then kept as a cookie), the cookie, or a bearer header. */
function authorised(req: FastifyRequest, reply: FastifyReply, token: string): boolean {
  const same = (given: string | undefined): boolean =>
    given !== undefined &&
    given.length === token.length &&
    crypto.timingSafeEqual(Buffer.from(given), Buffer.from(token));
  const fromQuery = (req.query as Record<string, string | undefined>).token;
  if (same(fromQuery)) {
    reply.header(
      'Set-Cookie',
      `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
    );
    return true;
  }
  const cookie = /(?:^|;\s*)etm_console_token=([^;]*)/.exec(req.headers.cookie ?? '');
  if (cookie && same(decodeURIComponent(cookie[1]))) return true;
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return same(bearer?.[1]);
}

interface ListQuery {
  q?: string;
  sort?: string;
  offset?: string;
  limit?: string;
  columns?: string;
}

function routes(app: FastifyInstance, reader: ReadModel): void {
  for (const [route, file] of Object.entries(PAGE_FILES)) {
    app.get(route, async (_req, reply) =>
      reply
        .type(TYPES[path.extname(file)])
        .header('Cache-Control', 'no-cache')
        .send(fs.createReadStream(path.join(PAGE_DIR, file))),
    );
  }
  app.get('/vendor/chart.umd.js', async (_req, reply) =>
    reply.type(TYPES['.js']).send(fs.createReadStream(CHART_JS)),
  );
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/api/overview', async () => reader.overview());
  app.get('/api/connectors', async () => ({
    now: new Date().toISOString(),
    connectors: await reader.connectors(),
  }));
  app.get('/api/list', async (req) => {
    const q = req.query as ListQuery;
    const request = listRequest(q);
    const model = listModel(request);
    const columns = chosenColumns(model, q.columns);
    const page = await reader.page(request);
    return {
      model: page.model,
      total: page.total,
      offset: page.offset,
      columns,
      rows: page.rows.map((r) => listedRow(r, columns)),
    };
  });
  app.get('/api/export.csv', async (req, reply) => {
    const q = req.query as ListQuery;
    const request = { query: q.q ?? '', sort: q.sort };
    const model = listModel(request);
    const columns = chosenColumns(model, q.columns);
    const rows = reader.records(request);
    const lines = (async function* () {
      yield `${csvLine(columns)}\n`;
      for await (const r of rows) yield `${csvLine(columns.map((c) => listedValue(r, c)))}\n`;
    })();
    const name = model === FINDING ? 'etm-findings.csv' : 'etm-assets.csv';
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${name}"`)
      .send(Readable.from(lines));
  });
  app.get('/api/asset', async (req, reply) => {
    const key = (req.query as { key?: string }).key ?? '';
    const view = await reader.asset(key);
    if (!view) return reply.code(404).send({ error: `no asset ${key}` });
    return view;
  });
  app.get('/api/finding', async (req, reply) => {
    const key = (req.query as { key?: string }).key ?? '';
    const view = await reader.finding(key);
    if (!view) return reply.code(404).send({ error: `no finding ${key}` });
    return view;
  });
}

function listRequest(q: ListQuery): {
  query: string;
  sort?: string;
  offset: number;
  limit: number;
} {
  const offset = q.offset === undefined ? 0 : Number(q.offset);
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  if (!Number.isInteger(offset) || offset < 0) throw new VError('offset must be a whole number');
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new VError('limit must be a whole number from 1 to %d', MAX_PAGE);
  }
  return { query: q.q ?? '', sort: q.sort || undefined, offset, limit };
}

function listedRow(r: ListedRecord, columns: string[]): Record<string, unknown> {
  return {
    key: r.record[r.model === FINDING ? 'findingKey' : 'assetKey'],
    assetKey: r.record.assetKey,
    cells: Object.fromEntries(columns.map((c) => [c, listedValue(r, c)])),
  };
}
