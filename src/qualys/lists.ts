/**
 * The list operations the streams use, with retries: ID listings cut into ranges (Qualys'
 * throughput advice, API doc §5), the records of one ID range page by page (WARNING 1980), and
 * knowledge-base batches. A range that breaks mid-way resumes after its last record instead of
 * starting over; one that times out twice without progress is handed back to be split.
 *
 * Whatever the server sends, work stays bounded and nothing is dropped unsaid: a page that brings
 * no new record ends the range with an error instead of being asked for again, an ID listing may
 * not claim more than MAX_LISTED_IDS IDs (ranges are never expanded into memory), a record out of
 * order is kept and one outside its range is reported, and a RESPONSE/DATETIME that is not a
 * plausible server time is ignored with a warning.
 */
import VError from 'verror';

import { Api } from './budget';
import { Params, QualysClient } from './client';
import { QualysCode, QualysError } from './errors';
import { sinceParams, tagFilterParams } from './params';
import { Attempts, retryDelay, sleep } from './retry';
import { ObjectShape } from './xml/shape';
import { ItemsOrReader } from './xml/response-reader';

/** A run of consecutive listed IDs: `count` IDs from `from` to `to`. */
export interface IdRange {
  from: number;
  to: number;
  count: number;
}

/** A range timed out repeatedly with no record arriving: split it (or skip a single host). */
export class RangeStalledError extends VError {
  constructor(
    readonly resumeFrom: number,
    readonly to: number,
    cause: QualysError,
  ) {
    super({ cause, name: 'RangeStalledError' }, 'no progress on ids %d-%d', resumeFrom, to);
  }
}

/** Fallback wait after a 1965 that says nothing of how long (qualysdk waits a window, 3601 s). */
const UNKNOWN_RATE_WAIT_SEC = 60;
/**
 * More IDs than any subscription holds (the largest have a few million hosts; QIDs are six
 * digits): a listing that claims more is refused rather than cut into ranges.
 */
export const MAX_LISTED_IDS = 50_000_000;
/** Ranges one listing may be cut into (each is a task of about 100 bytes): 250M IDs at 500. */
export const MAX_RANGES = 500_000;
/**
 * Pages a listed range may take: twice what its IDs need at the page size, and two more (hosts
 * added since the listing, a host repeated across pages). A server whose pages bring one new
 * record each would otherwise make a call per record.
 */
function plannedPages(count: number, pageSize: number): number {
  return 2 * Math.ceil(count / pageSize) + 2;
}
/** Server times later than the local clock by more than this are not believed (clock skew aside). */
const MAX_SERVER_CLOCK_AHEAD_MS = 24 * 3600 * 1000;
/** Qualys writes DATETIME as 2025-03-14T09:20:05Z; the offset and fraction are tolerated. */
const SERVER_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Warnings per range about records outside it, before they are only counted. */
const OUT_OF_RANGE_WARNINGS = 3;

/** Runs `attempt` until it succeeds or fails for good, waiting as the failure asks. */
export async function withRetries<T>(
  client: QualysClient,
  api: Api,
  attempt: () => Promise<T>,
  maxRetries = client.config.max_retries,
): Promise<T> {
  const attempts: Attempts = { failures: 0, conflicts: 0 };
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      await waitBeforeRetry(client, api, err, attempts, maxRetries);
    }
  }
}

/** Waits as `err` asks before the next attempt, or rethrows it when it is final. */
export async function waitBeforeRetry(
  client: QualysClient,
  api: Api,
  err: unknown,
  attempts: Attempts,
  maxRetries = client.config.max_retries,
): Promise<void> {
  if (!(err instanceof QualysError)) throw err;
  const delay = retryDelay(err, attempts, maxRetries, client.retryTiming);
  if (delay === undefined) throw err;
  if (err.kind === 'rate') {
    client.budget.blockFor(api, err.details.secondsToWait ?? UNKNOWN_RATE_WAIT_SEC, 'code 1965');
    attempts.conflicts++;
  } else if (err.kind === 'concurrency') {
    client.budget.concurrencyConflict(api);
    attempts.conflicts++;
  } else {
    attempts.failures++;
    client.retries++;
    client.logger.warn(
      `${err.message}; retry ${attempts.failures} of ${maxRetries} ` +
        `in ${(delay / 1000).toFixed(1)} s`,
    );
  }
  await sleep(delay);
}

/**
 * Lists IDs (details=None, truncation_limit=0) and cuts them into ranges of at most `size` IDs,
 * leaving out IDs inside `exclude` (sorted, disjoint [from, to] intervals, e.g. ranges a resumed
 * sync already finished). Returns the server's RESPONSE/DATETIME too: the next incremental cursor.
 */
export async function listIdRanges(
  client: QualysClient,
  api: Api,
  params: Params,
  size: number,
  what: string,
  exclude: [number, number][] = [],
): Promise<{ datetime?: string; ranges: IdRange[]; total: number }> {
  return withRetries(client, api, async () => {
    const ranges: IdRange[] = [];
    let total = 0;
    let current: IdRange | undefined;
    const add = (first: number, last: number) => {
      const room = current === undefined ? 0 : size - current.count;
      if (ranges.length + Math.ceil(Math.max(0, last - first + 1 - room) / size) > MAX_RANGES) {
        throw new QualysError(
          'fatal',
          `${what}: the IDs listed (up to ${first}-${last}) make more than ${MAX_RANGES} ` +
            `ranges of ${size}: raise the page size`,
          { configError: true },
        );
      }
      // An ID_RANGE lists every ID from..to; cut it where a range fills up.
      for (let from = first; from <= last;) {
        if (current === undefined || current.count === size) {
          current = { from, to: from - 1, count: 0 };
          ranges.push(current);
        }
        const take = Math.min(size - current.count, last - from + 1);
        current.to = from + take - 1;
        current.count += take;
        total += take;
        from += take;
      }
    };
    const datetime = await readIdSet(client, api, params, what, (first, last) => {
      for (const [from, to] of subtractIntervals(first, last, exclude)) add(from, to);
    });
    return { datetime, ranges, total };
  });
}

/**
 * One ID listing (details=None, truncation_limit=0): `onEntry` gets each ID_SET entry (an ID is
 * [id, id]) as it is parsed. Returns the server's RESPONSE/DATETIME.
 */
async function readIdSet(
  client: QualysClient,
  api: Api,
  params: Params,
  what: string,
  onEntry: (from: number, to: number) => void,
): Promise<string | undefined> {
  // The KB has no truncation_limit; the host list needs 0 for "no limit" (API doc §2, §4).
  const request: Params = { ...params, action: 'list', details: 'None' };
  if (api !== 'knowledge_base') request.truncation_limit = '0';
  let datetime: string | undefined;
  let listed = 0;
  let last = 0;
  for await (const event of client.call(api, request, what)) {
    if (event.kind === 'datetime') datetime = serverTime(client, event.value, what);
    if (event.kind !== 'id') continue;
    const { from, to } = event;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) {
      throw new QualysError('fatal', `${what}: malformed ID_SET entry ${from}-${to}`);
    }
    // Ranges are cut in the order listed: an entry at or below the last would misplace IDs.
    if (from <= last) {
      throw new QualysError(
        'fatal',
        `${what}: the ID_SET is not in ascending order (${from}-${to} after ${last})`,
      );
    }
    listed += to - from + 1;
    if (listed > MAX_LISTED_IDS) {
      throw new QualysError(
        'fatal',
        `${what}: the ID_SET claims more than ${MAX_LISTED_IDS} IDs (up to ${from}-${to}), ` +
          `more than any subscription holds; refusing to read it`,
      );
    }
    last = to;
    onEntry(from, to);
  }
  return datetime;
}

/**
 * A RESPONSE/DATETIME as the cursor may use it, or undefined (with a warning) when it is not a
 * date, or is later than the local clock by a day: the stream then keeps its previous cursor, so
 * the next sync reads again from there, losing nothing (see README, "How a read works").
 */
export function serverTime(
  client: QualysClient,
  value: string,
  what: string,
  now = Date.now(),
): string | undefined {
  const time = SERVER_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isFinite(time) && time <= now + MAX_SERVER_CLOCK_AHEAD_MS) return value;
  const shown = JSON.stringify(value.slice(0, 40));
  client.logger.warn(
    `${what}: Qualys sent RESPONSE/DATETIME ${shown}, not a plausible server time: ignored; ` +
      `the cursor stays where it was, and the next sync reads again from there`,
  );
  return undefined;
}

/** [from, to] minus the sorted, disjoint intervals of `exclude`. */
export function subtractIntervals(
  from: number,
  to: number,
  exclude: [number, number][],
): [number, number][] {
  const parts: [number, number][] = [];
  let start = from;
  // Binary search for the first interval that ends at or after `from`.
  let lo = 0;
  for (let hi = exclude.length; lo < hi;) {
    const mid = (lo + hi) >> 1;
    if (exclude[mid][1] < from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < exclude.length; i++) {
    const [a, b] = exclude[i];
    if (a > to) break;
    if (a > start) parts.push([start, a - 1]);
    start = Math.max(start, b + 1);
    if (start > to) return parts;
  }
  if (start <= to) parts.push([start, to]);
  return parts;
}

export interface RangeRequest {
  api: Api;
  params: Params;
  /** Item element and its shape, {HOST: shape} or {VULN: shape}, or the reader to use. */
  items: ItemsOrReader;
  /** The record field holding the ID the range is over (ID for hosts, QID for the KB). */
  idField: string;
  /** truncation_limit; omitted for the KB, which has none. */
  pageSize?: number;
  /** Timeouts without progress before the range is handed back to be split. */
  stallsToSplit: number;
  what: string;
}

/**
 * The records of one ID range, each once, in the order the server sends them: pages follow the
 * WARNING's id_min; a record the server repeats (across pages, or on a page read again) is
 * emitted once; a failure resumes after the last record delivered, or at the page's start when
 * the page was not in ascending order (Qualys usually sends ascending IDs, but real responses
 * exist that do not: see test_files/real-captures). A truncated page that brings no new record
 * is an error: asking again would loop. Throws RangeStalledError after `stallsToSplit` timeouts
 * without progress.
 */
export async function* rangeRecords(
  client: QualysClient,
  request: RangeRequest,
  range: { from: number; to: number; count?: number },
): AsyncGenerator<Record<string, unknown>> {
  const { api, items, idField, pageSize, what } = request;
  // Ranges from a listing know their IDs (split ranges do not: the progress rule bounds those).
  const maxPages =
    range.count !== undefined && pageSize !== undefined
      ? plannedPages(range.count, pageSize)
      : Infinity;
  let pages = 0;
  const emitted = new Set<number>();
  const outside = { count: 0 };
  let idMin = range.from;
  let stalls = 0;
  const attempts: Attempts = { failures: 0, conflicts: 0 };
  while (idMin <= range.to) {
    const params: Params = { ...request.params, action: 'list', id_min: String(idMin) };
    params.id_max = String(range.to);
    if (pageSize !== undefined) params.truncation_limit = String(pageSize);
    const pageWhat = `${what} for ids ${idMin}-${range.to}`;
    const page = { nextIdMin: undefined as number | undefined, lastId: idMin - 1, ascending: true };
    const emittedBefore = emitted.size;
    try {
      for await (const event of client.call(api, params, pageWhat, items)) {
        if (event.kind === 'record') {
          const id = event.record[idField] as number;
          if (!inRange(client, id, range, pageWhat, idField, outside)) continue;
          if (id <= page.lastId) page.ascending = false;
          else page.lastId = id;
          if (emitted.has(id)) continue;
          emitted.add(id);
          yield event.record;
        } else if (event.kind === 'warning' && event.code === QualysCode.TRUNCATED) {
          page.nextIdMin = nextPageIdMin(event.url) ?? page.lastId + 1;
        }
      }
      if (page.nextIdMin === undefined) return;
      if (emitted.size === emittedBefore) {
        throw new QualysError(
          'fatal',
          `${pageWhat}: the server sent a truncated page with no new record ` +
            `(next id_min ${page.nextIdMin}); asking again would loop`,
        );
      }
      if (++pages >= maxPages) {
        throw new QualysError(
          'fatal',
          `${pageWhat}: ${pages} truncated pages for ${range.count} listed IDs at ` +
            `${pageSize} per page, and the server asks for more; stopping`,
        );
      }
      // Follow the server's id_min, but always move forward.
      if (page.nextIdMin > idMin) idMin = page.nextIdMin;
      else idMin = page.ascending ? page.lastId + 1 : idMin + 1;
      attempts.failures = attempts.conflicts = 0;
    } catch (err) {
      const progressed = emitted.size > emittedBefore;
      if (progressed) {
        attempts.failures = attempts.conflicts = stalls = 0;
      }
      if (page.ascending) idMin = Math.max(idMin, page.lastId + 1);
      if (err instanceof QualysError && err.kind === 'timeout' && !progressed) {
        if (++stalls >= request.stallsToSplit) throw new RangeStalledError(idMin, range.to, err);
      }
      if (idMin > range.to) return;
      await waitBeforeRetry(client, api, err, attempts);
    }
  }
}

/** Whether a record's ID is in the range asked for; one outside it is reported, not emitted. */
function inRange(
  client: QualysClient,
  id: unknown,
  range: { from: number; to: number },
  what: string,
  idField: string,
  outside: { count: number },
): id is number {
  if (typeof id === 'number' && id >= range.from && id <= range.to) return true;
  // Another range's reader emits a record of its range; one without an ID has no range at all.
  if (++outside.count <= OUT_OF_RANGE_WARNINGS) {
    const record = id === undefined ? `a record without ${idField}` : `${idField} ${String(id)}`;
    client.logger.warn(
      `${what}: Qualys sent ${record}, outside the range asked for: not emitted ` +
        `(${outside.count} such records in this range so far)`,
    );
  }
  return false;
}

/** The id_min of a WARNING URL, CDATA or &amp;-escaped text alike (the tokenizer decoded it). */
export function nextPageIdMin(url: string | undefined): number | undefined {
  if (!url) return undefined;
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : url;
  const value = new URLSearchParams(query).get('id_min');
  const id = value === null ? NaN : Number(value);
  return Number.isSafeInteger(id) ? id : undefined;
}

/**
 * Fetches the KB entries of `qids` (details=All), retrying the whole batch on failure. Only the
 * QIDs asked for are kept, once each: a server cannot fill memory with entries nobody asked for.
 */
export async function knowledgeBaseBatch(
  client: QualysClient,
  qids: number[],
  kbShape: ObjectShape,
): Promise<Record<string, unknown>[]> {
  const ids = compressIds(qids);
  const asked = new Set(qids);
  const what = `Failed to fetch ${qids.length} QIDs from the knowledge base`;
  return withRetries(client, 'knowledge_base', async () => {
    const vulns = new Map<number, Record<string, unknown>>();
    const params = { action: 'list', details: 'All', ids };
    const others = { count: 0 };
    for await (const event of client.call('knowledge_base', params, what, { VULN: kbShape })) {
      if (event.kind !== 'record') continue;
      const qid = event.record.QID as number;
      if (!asked.has(qid)) unasked(client, qid, what, others);
      else if (!vulns.has(qid)) vulns.set(qid, event.record);
    }
    return [...vulns.values()];
  });
}

function unasked(client: QualysClient, qid: unknown, what: string, others: { count: number }) {
  if (++others.count <= OUT_OF_RANGE_WARNINGS) {
    client.logger.warn(
      `${what}: Qualys sent QID ${String(qid)}, which was not asked for: not kept ` +
        `(${others.count} such entries in this batch so far)`,
    );
  }
}

/** Sorted IDs as Qualys' compact list: "1,3-5,9". */
export function compressIds(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface IdListing {
  /** The incremental lower bound (vm_processed_after / last_modified_after). */
  since: string | undefined;
  /** Intervals already read by an interrupted sync. */
  exclude: [number, number][];
  /** IDs per range. */
  size: number;
  /** Only IDs in [from, to] (to split a range). */
  within?: { from: number; to: number };
}

/** What is listed where: host IDs from the Host List (with the tag filter), QIDs from the KB. */
const ID_LISTINGS = {
  host_list: {
    what: 'Failed to list host IDs',
    params: (config: QualysClient['config'], since?: string) => ({
      ...tagFilterParams(config),
      ...sinceParams('hosts', since),
    }),
  },
  knowledge_base: {
    what: 'Failed to list knowledge base QIDs',
    params: (_config: QualysClient['config'], since?: string) =>
      sinceParams('knowledge_base', since),
  },
};

/** The host IDs (host_list) or QIDs (knowledge_base) to read (details=None), as ranges. */
export function listIds(
  client: QualysClient,
  api: keyof typeof ID_LISTINGS,
  listing: IdListing,
): Promise<{ datetime?: string; ranges: IdRange[]; total: number }> {
  const { what, params } = ID_LISTINGS[api];
  return listIdRanges(
    client,
    api,
    { ...params(client.config, listing.since), ...withinParams(listing.within) },
    listing.size,
    what,
    listing.exclude,
  );
}

/**
 * Every ID `api` lists now, whatever changed when (the connection's filters still apply), as
 * the ID_SET gives them (runs of consecutive IDs); and the server's RESPONSE/DATETIME.
 */
export function listAllIds(
  client: QualysClient,
  api: keyof typeof ID_LISTINGS,
): Promise<{ datetime?: string; runs: [number, number][] }> {
  const { what, params } = ID_LISTINGS[api];
  return withRetries(client, api, async () => {
    const entries: [number, number][] = [];
    const datetime = await readIdSet(client, api, params(client.config), what, (from, to) =>
      entries.push([from, to]),
    );
    return { datetime, runs: entries };
  });
}

function withinParams(within: { from: number; to: number } | undefined): Params {
  return within ? { id_min: String(within.from), id_max: String(within.to) } : {};
}

/** `check` does not wait the configured timeout (up to 10 min) for an unresponsive host. */
const CHECK_TIMEOUT_SEC = 120;
/** `check` retries a 5xx or a reset twice: a blip must not fail the check Airbyte runs before a read. */
const CHECK_RETRIES = 2;

/**
 * One cheap authenticated call — an ID listing of at most one host — that proves the URL, the
 * credentials and VM API access. A 409 proves them too: the subscription is only busy.
 */
export async function checkAccess(client: QualysClient): Promise<void> {
  const params = { action: 'list', details: 'None', truncation_limit: '1' };
  const what = `Cannot use the Qualys API at ${client.config.base_url}`;
  const timeout = Math.min(client.config.timeout, CHECK_TIMEOUT_SEC);
  const call = async () => {
    try {
      for await (const _event of client.call('host_list', params, what, {}, timeout)) {
        // Reading the response to its end is the check.
      }
    } catch (err) {
      if (!(err instanceof QualysError)) throw err;
      if (err.kind === 'concurrency' || err.kind === 'rate') {
        client.logger.warn(`${err.message}: credentials accepted, the subscription is busy`);
        return;
      }
      // A check that timed out says so at once rather than after more timeouts.
      if (err.kind === 'timeout') throw new QualysError('fatal', err.message, err.details);
      throw err;
    }
  };
  await withRetries(client, 'host_list', call, Math.min(client.config.max_retries, CHECK_RETRIES));
}
