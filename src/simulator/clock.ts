/**
 * The simulated clock and the wire date format. The clock only moves when a scan cycle advances it,
 * so RESPONSE/DATETIME and every generated date are reproducible (real time never leaks into data).
 * Dates on the wire are `YYYY-MM-DDTHH:MM:SSZ` (API doc §1, §7); all internal times are epoch seconds.
 */

/** Default start of simulated time: a fixed instant so default runs are reproducible. */
export const DEFAULT_START = '2025-06-02T12:00:00Z';

export class SimClock {
  private seconds: number;

  constructor(startSeconds: number) {
    this.seconds = startSeconds;
  }

  /** The current simulated instant. */
  now(): Date {
    return new Date(this.seconds * 1000);
  }

  nowSeconds(): number {
    return this.seconds;
  }

  /** The current simulated instant in the wire format. */
  nowIso(): string {
    return formatDateTime(this.seconds);
  }

  advance(seconds: number): void {
    this.seconds += seconds;
  }
}

const TWO_DIGITS: string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const dayStrings = new Map<number, string>();

/**
 * Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`. This runs several times per detection, so the
 * day part is memoised and the time part assembled from a table instead of calling toISOString.
 */
export function formatDateTime(seconds: number): string {
  const day = Math.floor(seconds / 86400);
  let dayString = dayStrings.get(day);
  if (dayString === undefined) {
    dayString = new Date(day * 86400000).toISOString().slice(0, 10);
    dayStrings.set(day, dayString);
  }
  const t = seconds - day * 86400;
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${dayString}T${TWO_DIGITS[h]}:${TWO_DIGITS[m]}:${TWO_DIGITS[t % 60]}Z`;
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})Z)?$/;

/**
 * Parses a Qualys date parameter, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC, API doc §1), into
 * epoch seconds; undefined when malformed or not a real calendar date.
 */
export function parseQualysDate(text: string): number | undefined {
  const m = DATE_PATTERN.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((v) => v ?? '0');
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const back = new Date(ms);
  if (
    back.getUTCMonth() !== +mo - 1 ||
    back.getUTCDate() !== +d ||
    +h > 23 ||
    +mi > 59 ||
    +s > 59
  ) {
    return undefined;
  }
  return ms / 1000;
}
