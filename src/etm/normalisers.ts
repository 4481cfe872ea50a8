/**
 * Normalisers: turn one Qualys value into the ETM form of its attribute (issue §2, "exact").
 * Each is pure and total: a missing value gives null (never "undefined"), and a value it cannot
 * read gives null too — the map interpreter reports those as rejected values, so a new Qualys
 * vocabulary shows up in the logs instead of failing a sync. Enumerations live in
 * resources/etm/vocabularies.json.
 */
import vocabularies from '../../resources/etm/vocabularies.json';

/** The ETM attribute types a normaliser can produce (resources/etm/models.json). */
export type AttributeType =
  'string' | 'integer' | 'number' | 'boolean' | 'datetime' | 'stringList' | 'objectList';

export interface Normaliser {
  readonly name: string;
  readonly produces: AttributeType;
  /** True when the input may be a list (the normaliser folds it); scalar ones reject lists. */
  readonly acceptsList: boolean;
  readonly apply: (value: unknown) => unknown;
}

const isMissing = (v: unknown): boolean => v === null || v === undefined;

function text(v: unknown): string | null {
  if (isMissing(v)) return null;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return null;
}

function number(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function integerIn(min: number, max: number): (v: unknown) => number | null {
  return (v) => {
    const n = number(v);
    return n !== null && Number.isInteger(n) && n >= min && n <= max ? n : null;
  };
}

const TRUE = new Set(['1', 'true', 'yes', 'y']);
const FALSE = new Set(['0', 'false', 'no', 'n']);

function boolean(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : null;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    return TRUE.has(t) ? true : FALSE.has(t) ? false : null;
  }
  return null;
}

// A date-time without a zone designator is UTC on the Qualys wire (API doc §1), not local time,
// which is what Date would assume.
const HAS_ZONE = /(Z|[+-]\d\d:?\d\d)$/i;
const HAS_TIME = /T|\d \d/;

// The same few timestamps repeat across a host's detections and a scan's hosts; parsing dates
// was a measurable share of a sync, so recent answers are remembered (bounded).
const DATETIME_CACHE_LIMIT = 10000;
const datetimes = new Map<string, string | null>();

// Qualys' own form, UTC to the second, is its ISO form with milliseconds added, without a Date:
// most dates of a sync are distinct (first/last found per detection), so the cache misses them.
// Only days up to 28 and times up to 23:59:59, which Date never rolls over (it reads 02-30 as
// 03-01 and 24:00 as the next day); the rest go through Date as before.
const QUALYS_UTC =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;

function datetime(v: unknown): string | null {
  if (typeof v !== 'string') return parseDatetime(v);
  if (v.length === 20 && QUALYS_UTC.test(v)) return `${v.slice(0, 19)}.000Z`;
  let iso = datetimes.get(v);
  if (iso === undefined) {
    iso = parseDatetime(v);
    if (datetimes.size >= DATETIME_CACHE_LIMIT) datetimes.clear();
    datetimes.set(v, iso);
  }
  return iso;
}

function parseDatetime(v: unknown): string | null {
  let d: Date;
  if (typeof v === 'number' && Number.isFinite(v)) {
    d = new Date(v);
  } else if (typeof v === 'string' && v.trim() !== '') {
    const t = v.trim();
    d = new Date(HAS_TIME.test(t) && !HAS_ZONE.test(t) ? `${t}Z` : t);
  } else {
    return null;
  }
  // One fixed format (always milliseconds) so stored dates also compare correctly as text.
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function vocabulary(table: Record<string, string>): (v: unknown) => string | null {
  return (v) => {
    const t = text(v);
    return t === null ? null : (table[t.toLowerCase()] ?? null);
  };
}

/**
 * CVSS v2 access vector: Qualys' numeric code (1/2/3), its letter, or the AV: part of a vector
 * string (`CVSS:2.0/AV:N/AC:M/…`), which the KB has when ACCESS/VECTOR is missing.
 */
function accessVector(table: Record<string, string>): (v: unknown) => string | null {
  const byCode = vocabulary(table);
  return (v) => {
    const av = typeof v === 'string' ? /(?:^|\/)AV:([A-Z])/i.exec(v) : null;
    return byCode(av ? av[1] : v);
  };
}

function uniqueStrings(v: unknown): string[] | null {
  if (isMissing(v)) return null;
  const items = Array.isArray(v) ? v : [v];
  const seen = new Set<string>();
  for (const item of items) {
    const t = text(item);
    if (t !== null) seen.add(t);
  }
  return [...seen];
}

const ALL: Normaliser[] = [
  { name: 'text', produces: 'string', acceptsList: false, apply: text },
  {
    name: 'lowercase',
    produces: 'string',
    acceptsList: false,
    apply: (v) => text(v)?.toLowerCase() ?? null,
  },
  { name: 'number', produces: 'number', acceptsList: false, apply: number },
  {
    name: 'integer',
    produces: 'integer',
    acceptsList: false,
    apply: integerIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  },
  { name: 'port', produces: 'integer', acceptsList: false, apply: integerIn(0, 65535) },
  { name: 'severity', produces: 'integer', acceptsList: false, apply: integerIn(1, 5) },
  { name: 'criticality', produces: 'integer', acceptsList: false, apply: integerIn(1, 5) },
  { name: 'boolean', produces: 'boolean', acceptsList: false, apply: boolean },
  { name: 'datetime', produces: 'datetime', acceptsList: false, apply: datetime },
  {
    name: 'findingStatus',
    produces: 'string',
    acceptsList: false,
    apply: vocabulary(vocabularies.findingStatus),
  },
  {
    name: 'findingSubType',
    produces: 'string',
    acceptsList: false,
    apply: vocabulary(vocabularies.findingSubType),
  },
  {
    name: 'accessVector',
    produces: 'string',
    acceptsList: false,
    apply: accessVector(vocabularies.accessVector),
  },
  { name: 'uniqueStrings', produces: 'stringList', acceptsList: true, apply: uniqueStrings },
];

export const NORMALISERS: ReadonlyMap<string, Normaliser> = new Map(ALL.map((n) => [n.name, n]));

/** Normalises a date-time the way stored dates are (used by queries comparing dates). */
export const normaliseDatetime = datetime;
