/**
 * A profile's schedule: a single occurrence (`at`) or a recurring one (`start`, `end`, `every`).
 * Recurring runs fall on the grid start + k·every up to end; a run that overruns its slot skips
 * the slots it missed instead of queueing them.
 */
import { VError } from 'verror';

export type Schedule =
  | { readonly kind: 'once'; readonly at: Date }
  | {
      readonly kind: 'recurring';
      readonly start: Date;
      readonly end: Date;
      readonly everyMs: number;
    };

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1e3,
  m: 60e3,
  h: 3600e3,
  d: 86400e3,
  w: 604800e3,
};
const SHORT = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i;
const ISO = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** `6h`, `30m`, `1d`, or ISO 8601 `PT6H`, `P1D`, `P1W`. */
export function parseDuration(text: unknown, label: string): number {
  const t = typeof text === 'string' ? text.trim() : '';
  const short = SHORT.exec(t);
  let ms: number | undefined;
  if (short) ms = Number(short[1]) * UNIT_MS[short[2].toLowerCase()];
  const iso = short ? null : ISO.exec(t);
  if (iso && t.toUpperCase() !== 'P' && t.toUpperCase() !== 'PT') {
    const [w, d, h, m, s] = iso.slice(1).map((v) => Number(v ?? 0));
    ms = w * UNIT_MS.w + d * UNIT_MS.d + h * UNIT_MS.h + m * UNIT_MS.m + s * UNIT_MS.s;
  }
  if (ms === undefined || !(ms >= 1000)) {
    throw new VError(
      '%s: %j is not a duration of at least 1s (e.g. 30m, 6h, 1d, PT6H)',
      label,
      text ?? null,
    );
  }
  return ms;
}

function date(raw: unknown, label: string): Date {
  const d = typeof raw === 'string' ? new Date(raw) : new Date(NaN);
  if (Number.isNaN(d.getTime()))
    throw new VError('%s: %j is not a date-time (e.g. 2025-03-20T02:00:00Z)', label, raw ?? null);
  return d;
}

export function parseSchedule(raw: unknown, label: string): Schedule {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new VError('%s: expected {"at": …} or {"start": …, "end": …, "every": …}', label);
  }
  const r = raw as Record<string, unknown>;
  const keys = Object.keys(r).sort().join(',');
  if (keys === 'at') return { kind: 'once', at: date(r.at, `${label}.at`) };
  if (keys === 'end,every,start') {
    const start = date(r.start, `${label}.start`);
    const end = date(r.end, `${label}.end`);
    if (end <= start) throw new VError('%s: end must be after start', label);
    return { kind: 'recurring', start, end, everyMs: parseDuration(r.every, `${label}.every`) };
  }
  throw new VError(
    '%s: expected either "at" or all of "start", "end", "every" (got %s)',
    label,
    keys || 'nothing',
  );
}

/**
 * The next run time not before `now`, or null when the schedule is over. `lastRun` is when the
 * previous run of this schedule started (a single occurrence runs once, even if overdue).
 */
export function nextOccurrence(s: Schedule, now: Date, lastRun: Date | null): Date | null {
  if (s.kind === 'once') {
    if (lastRun && lastRun >= s.at) return null;
    return s.at > now ? s.at : now;
  }
  // A slot that already ran (a quick run ends within its own millisecond) is not run again.
  const from = lastRun && lastRun >= now ? new Date(lastRun.getTime() + 1) : now;
  if (from <= s.start) return s.start;
  const k = Math.ceil((from.getTime() - s.start.getTime()) / s.everyMs);
  const next = new Date(s.start.getTime() + k * s.everyMs);
  return next <= s.end ? next : null;
}
