/**
 * The Qualys API client: one object per subscription owning the HTTP instance, the call budget,
 * authentication, timeouts and error mapping. A call is a form-encoded POST (no URL length limits,
 * field lessons #7) whose XML is parsed as it arrives; callers receive events one at a time.
 * Streams never touch HTTP: they use the list operations in ./lists.
 *
 * A body is read within bounds whatever the server sends: it is decompressed here (not by axios)
 * so that a compressed body may not inflate beyond MAX_INFLATE_RATIO, no body may exceed
 * MAX_BODY_BYTES, and an HTML page (a proxy's login page) is recognised whatever its Content-Type.
 */
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';

import axios, { AxiosInstance, AxiosResponse } from 'axios';
import { AirbyteLogger } from 'faros-airbyte-cdk';

import { QualysConfig } from '../config';
import { httpAgents } from './agents';
import { Api, API_PATHS, CallBudget } from './budget';
import { QualysError, simpleReturnError, simpleReturnOf } from './errors';
import { DEFAULT_RETRY_TIMING, RetryTiming } from './retry';
import { InvalidValueHandler } from './xml/record-builder';
import {
  HtmlDocumentError,
  ItemsOrReader,
  ListReader,
  ResponseEvent,
  ResponseReader,
} from './xml/response-reader';
import { XmlLimitError, XmlSyntaxError } from './xml/tokenizer';

export type Params = Record<string, string>;

/** Sent as X-Requested-With, which Qualys requires on every call (API doc §1). */
const CLIENT_NAME = 'qualys-vmdr-dataflow';
/**
 * How far a response is read ahead of its parser, in socket reads (up to 64 KB each): enough that
 * a page's last bytes arrive, and its call ends for the server, while the parser is still busy
 * with what came before.
 */
const READ_AHEAD_CHUNKS = 16;
/** Enough of an error body to read its SIMPLE_RETURN or message. */
const MAX_ERROR_BODY = 64 * 1024;
/**
 * The largest body read, decompressed: a page of 1,000 hosts with 50 detections each is about
 * 100 MB. A larger page is refused (with advice to lower the page size) rather than read forever.
 */
export const MAX_BODY_BYTES = 2 * 1024 * 1024 * 1024;
/** XML compresses 10 to 30-fold; a gzip bomb inflates up to 1,000-fold. */
export const MAX_INFLATE_RATIO = 200;
/** The ratio is judged once this much is inflated: small bodies may compress better. */
const INFLATE_RATIO_AFTER = 16 * 1024 * 1024;
/** What to say when the body is an HTML page. */
const HTML_ANSWER =
  'the server answered HTML, not Qualys XML: is base_url the API server or a proxy login page?';
/** TLS failures are configuration problems (wrong host, proxy, CA), not transient ones. */
const TLS_ERROR = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/;

export class QualysClient {
  private static readonly instances = new Map<string, QualysClient>();

  readonly budget: CallBudget;
  /** Retried failures (5xx, resets, truncations, timeouts), for progress logs. */
  retries = 0;
  private invalidValues = 0;

  constructor(
    readonly config: QualysConfig,
    private readonly http: AxiosInstance,
    readonly logger: AirbyteLogger,
    readonly retryTiming: RetryTiming = DEFAULT_RETRY_TIMING,
    budget?: CallBudget,
  ) {
    this.budget = budget ?? new CallBudget(config.max_concurrency, (m) => logger.info(m));
  }

  /** One client per subscription and process, so that all streams share its budget. */
  static instance(config: QualysConfig, logger: AirbyteLogger): QualysClient {
    const key = `${config.base_url}|${config.username}`;
    let client = QualysClient.instances.get(key);
    if (client === undefined) {
      client = new QualysClient(config, QualysClient.httpInstance(config), logger);
      QualysClient.instances.set(key, client);
    }
    return client;
  }

  static httpInstance(config: QualysConfig): AxiosInstance {
    return axios.create({
      baseURL: config.base_url,
      auth: { username: config.username, password: config.password },
      headers: {
        'X-Requested-With': CLIENT_NAME,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      responseType: 'stream',
      // Statuses are mapped here; redirects would send credentials elsewhere.
      validateStatus: () => true,
      maxRedirects: 0,
      // The proxy (config or environment) is the agents' (./agents): axios's own does no CONNECT.
      proxy: false,
      ...httpAgents(config),
    });
  }

  /**
   * One call to `api`: yields DATETIME, list items (shaped by `items`, or read by the reader it
   * makes), ID_SET entries and the WARNING as they are parsed. Throws QualysError; `what` starts
   * its message.
   */
  async *call(
    api: Api,
    params: Params,
    what: string,
    items: ItemsOrReader = {},
    timeoutSec = this.config.timeout,
  ): AsyncGenerator<ResponseEvent> {
    const slot = await this.budget.acquire(api);
    const timer = new IdleTimer(timeoutSec * 1000);
    try {
      const response = await this.post(api, params, what, timer);
      slot.observe(response.headers);
      const body = decodedBody(response, what);
      if (response.status !== 200) throw await this.statusError(response, body, what, timer);
      const contentType = String(response.headers['content-type'] ?? '');
      if (contentType && !/xml/i.test(contentType)) {
        body.destroy();
        const answer = /html/i.test(contentType)
          ? HTML_ANSWER
          : `the server answered ${contentType}, not XML: is base_url a Qualys API server?`;
        throw new QualysError('fatal', `${what}: ${answer}`, { status: 200, configError: true });
      }
      // Qualys counts a call as running until it has sent its response: once it has, the slot
      // may go to the next call while this one's tail is still being parsed.
      const received = readAhead(body, () => slot.release());
      const onInvalidValue: InvalidValueHandler = (element, value, expected) =>
        this.reportInvalidValue(element, value, expected);
      const reader =
        typeof items === 'function'
          ? items(onInvalidValue)
          : new ResponseReader(items, onInvalidValue);
      let bytes = 0;
      for await (const chunk of idleGuarded(received, timer, what)) {
        // Bytes the socket already holds are read before this chunk is parsed (parsing runs
        // between socket reads otherwise), so the response's end is seen when it arrives.
        await new Promise(setImmediate);
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) throw bodyTooLarge(what);
        for (const event of parsed(reader, chunk, what)) yield event;
      }
      this.endDocument(reader, what);
    } finally {
      timer.stop();
      slot.release();
    }
  }

  private async post(
    api: Api,
    params: Params,
    what: string,
    timer: IdleTimer,
  ): Promise<AxiosResponse> {
    timer.start();
    try {
      return await this.http.post(API_PATHS[api], new URLSearchParams(params).toString(), {
        signal: timer.signal,
        // Decompressed by decodedBody, within bounds.
        decompress: false,
      });
    } catch (err) {
      throw networkError(err, what, timer.expired, timer.seconds);
    } finally {
      timer.pause();
    }
  }

  private endDocument(reader: ListReader, what: string): void {
    try {
      reader.end();
    } catch (err) {
      throw new QualysError('transient', `${what}: truncated response`, {}, err as Error);
    }
    const other = reader.otherDocument;
    if (other === undefined) return;
    if (other.root === 'SIMPLE_RETURN' || other.root === 'GENERIC_RETURN') {
      const response = other.content.RESPONSE as Record<string, unknown> | undefined;
      throw simpleReturnError(200, simpleReturnOf(response ?? other.content), what);
    }
    throw new QualysError('fatal', `${what}: unexpected <${other.root}> document`, {
      status: 200,
    });
  }

  /** Reads a non-200 response's (small) body and maps it to the error the caller acts on. */
  private async statusError(
    response: AxiosResponse,
    body: Readable,
    what: string,
    timer: IdleTimer,
  ): Promise<QualysError> {
    const status = response.status;
    let text = '';
    try {
      for await (const chunk of idleGuarded(body, timer, what)) {
        text += chunk.toString('utf8');
        if (text.length > MAX_ERROR_BODY) break;
      }
    } catch {
      // The status says enough.
    } finally {
      body.destroy();
    }
    const simpleReturn = parseSimpleReturn(text);
    // 401/403 bodies only say "Bad Login/Password": the advice depends on the status alone.
    if (simpleReturn && status !== 401 && status !== 403) {
      const error = simpleReturnError(status, simpleReturn, what);
      if (error.kind === 'rate' && error.details.secondsToWait === undefined) {
        const toWait = Number(response.headers['x-ratelimit-towait-sec']);
        if (Number.isFinite(toWait) && toWait > 0) error.details.secondsToWait = toWait;
      }
      return error;
    }
    const message =
      simpleReturn?.text ??
      text
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300);
    return httpStatusError(status, message, what, response.headers.location);
  }

  private reportInvalidValue(element: string, value: string, expected: string): void {
    this.invalidValues++;
    // A few examples are enough to diagnose; the count shows the extent.
    if (this.invalidValues <= 5 || this.invalidValues % 1000 === 0) {
      this.logger.warn(
        `Qualys sent <${element}>${value.slice(0, 40)}</${element}>, not a ${expected}: ` +
          `field omitted (${this.invalidValues} such values so far)`,
      );
    }
  }
}

/** The events of one chunk; a body that is not Qualys XML, or exceeds a limit, is a fatal error. */
function parsed(reader: ListReader, chunk: Buffer, what: string): ResponseEvent[] {
  try {
    return reader.write(chunk);
  } catch (err) {
    if (err instanceof HtmlDocumentError) {
      throw new QualysError('fatal', `${what}: ${HTML_ANSWER}`, { status: 200, configError: true });
    }
    if (err instanceof XmlLimitError) {
      throw new QualysError('fatal', `${what}: refusing the response`, {}, err);
    }
    // Garbled by a proxy, perhaps once: retried like a truncated body.
    if (err instanceof XmlSyntaxError) {
      throw new QualysError('transient', `${what}: malformed XML`, {}, err);
    }
    throw err;
  }
}

function bodyTooLarge(what: string): QualysError {
  return new QualysError(
    'fatal',
    `${what}: the response exceeds ${MAX_BODY_BYTES / 1024 ** 3} GiB: lower the page size`,
    { configError: true },
  );
}

/**
 * The body, decompressed by its Content-Encoding (axios is told not to): refused when it
 * inflates more than MAX_INFLATE_RATIO-fold or beyond MAX_BODY_BYTES.
 */
function decodedBody(response: AxiosResponse, what: string): Readable {
  const raw = response.data as Readable;
  const encoding = String(response.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (encoding === '' || encoding === 'identity') return raw;
  const inflate =
    encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate'
      ? zlib.createUnzip({ flush: zlib.constants.Z_SYNC_FLUSH, chunkSize: 64 * 1024 })
      : encoding === 'br'
        ? zlib.createBrotliDecompress({ chunkSize: 64 * 1024 })
        : undefined;
  if (inflate === undefined) {
    raw.destroy();
    throw new QualysError('fatal', `${what}: unsupported Content-Encoding ${encoding}`, {
      status: response.status,
    });
  }
  let compressed = 0;
  let inflated = 0;
  raw.on('data', (chunk: Buffer) => (compressed += chunk.length));
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      inflated += chunk.length;
      if (inflated > MAX_BODY_BYTES) return done(bodyTooLarge(what));
      if (inflated > INFLATE_RATIO_AFTER && inflated > compressed * MAX_INFLATE_RATIO) {
        const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
        return done(
          new QualysError(
            'fatal',
            `${what}: the ${encoding} body inflates more than ${MAX_INFLATE_RATIO}-fold ` +
              `(${mib(inflated)} MiB from ${mib(compressed)} MiB): refusing a decompression bomb`,
          ),
        );
      }
      done(null, chunk);
    },
  });
  pipeline(raw, inflate, bounded, () => {
    // Errors are the consumer's, through `bounded`.
  });
  return bounded;
}

function parseSimpleReturn(text: string) {
  if (!/<(SIMPLE|GENERIC)_RETURN\b/.test(text)) return undefined;
  const reader = new ResponseReader({});
  try {
    reader.write(Buffer.from(text, 'utf8'));
    reader.end();
  } catch {
    return undefined;
  }
  const content = reader.otherDocument?.content;
  return content
    ? simpleReturnOf((content.RESPONSE as Record<string, unknown>) ?? content)
    : undefined;
}

function httpStatusError(
  status: number,
  message: string,
  what: string,
  location: unknown,
): QualysError {
  const detail = message ? `: ${message}` : '';
  if (status === 401) {
    return new QualysError(
      'fatal',
      `${what}: Qualys rejected the credentials (HTTP 401${detail}). Check username and password, ` +
        `that the user has API access, and that base_url is the API server of the user's platform`,
      { status, configError: true },
    );
  }
  if (status === 403) {
    return new QualysError(
      'fatal',
      `${what}: access denied (HTTP 403${detail}): the user needs API access and VM permissions`,
      { status, configError: true },
    );
  }
  if (status === 407) {
    // From the proxy (./agents), answering the CONNECT: Qualys never sent it.
    return new QualysError(
      'fatal',
      `${what}: the proxy refused the tunnel (HTTP 407): check proxy_username and ` +
        `proxy_password (or the credentials in HTTPS_PROXY)`,
      { status, configError: true },
    );
  }
  if (status >= 300 && status < 400) {
    return new QualysError(
      'fatal',
      `${what}: redirected (HTTP ${status}) to ${String(location ?? 'elsewhere')}: ` +
        `base_url should be the Qualys API server, e.g. https://qualysapi.qg2.apps.qualys.com`,
      { status, configError: true },
    );
  }
  if (status === 404) {
    return new QualysError(
      'fatal',
      `${what}: not found (HTTP 404): is base_url a Qualys API server?`,
      { status, configError: true },
    );
  }
  if (status === 409)
    return new QualysError('concurrency', `${what}: HTTP 409${detail}`, { status });
  if (status >= 500)
    return new QualysError('transient', `${what}: HTTP ${status}${detail}`, { status });
  return new QualysError('fatal', `${what}: HTTP ${status}${detail}`, {
    status,
    configError: true,
  });
}

/** Maps a failure without a response (or a broken body) to a QualysError. */
function networkError(err: unknown, what: string, timedOut: boolean, timeout: number): QualysError {
  if (err instanceof QualysError) return err; // a body refused by decodedBody
  if (timedOut) {
    return new QualysError('timeout', `${what}: no data from Qualys for ${timeout} s`);
  }
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const reason = e.message ?? String(err);
  if (TLS_ERROR.test(code)) {
    return new QualysError('fatal', `${what}: TLS failure (${code}): ${reason}`, {
      configError: true,
    });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNREFUSED') {
    // Usually a wrong base_url; retried all the same, in case the network blinked.
    return new QualysError('transient', `${what}: cannot reach the Qualys API server (${code})`, {
      configError: true,
    });
  }
  return new QualysError('transient', `${what}: connection failed: ${reason}`);
}

/**
 * Abandons a request when no byte arrives for `ms` — before the first byte as well as mid-body —
 * but never counts time the consumer spends with a record (field lessons #1).
 */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  expired = false;

  constructor(private readonly ms: number) {}

  get seconds(): number {
    return this.ms / 1000;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(): void {
    this.pause();
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort();
    }, this.ms);
  }

  pause(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.pause();
  }
}

/**
 * `source` read ahead of its consumer by up to READ_AHEAD_CHUNKS; `onReceived` runs when its last
 * byte has arrived. Its errors reach the consumer; destroying what is returned destroys `source`.
 */
function readAhead(source: Readable, onReceived: () => void): Readable {
  // Chunks as objects: a byte stream would join everything buffered into one new Buffer per read.
  const ahead = new PassThrough({
    readableObjectMode: true,
    readableHighWaterMark: READ_AHEAD_CHUNKS,
  });
  source.once('end', onReceived);
  pipeline(source, ahead, () => {
    // Errors are the consumer's, through `ahead`.
  });
  return ahead;
}

/**
 * Reads a body chunk by chunk, with the idle timer running only while waiting for bytes. Once the
 * body has started, the waits add up to at most the timeout: a server that drips a byte just
 * inside each timeout would otherwise hold the call open forever.
 */
async function* idleGuarded(
  body: Readable,
  timer: IdleTimer,
  what: string,
): AsyncGenerator<Buffer> {
  const chunks = body[Symbol.asyncIterator]();
  const onAbort = () => body.destroy(new Error('idle timeout'));
  timer.signal.addEventListener('abort', onAbort);
  let started = false;
  let waitedMs = 0;
  try {
    for (;;) {
      timer.start();
      const waitFrom = Date.now();
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        throw networkError(err, what, timer.expired, timer.seconds);
      } finally {
        timer.pause();
      }
      if (started) waitedMs += Date.now() - waitFrom;
      started = true;
      if (waitedMs > timer.seconds * 1000) {
        throw new QualysError(
          'transient',
          `${what}: Qualys sent the response too slowly (more than ${timer.seconds} s waiting ` +
            'for its bytes after the first)',
        );
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    timer.signal.removeEventListener('abort', onAbort);
    if (!body.destroyed) body.destroy();
  }
}
