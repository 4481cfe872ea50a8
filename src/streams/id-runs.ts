/**
 * Sets of IDs as sorted runs of consecutive IDs ([from, to], as Qualys lists them in an ID_SET),
 * and a compact text form of them for the stream state: the hosts stream keeps the IDs it listed
 * last, to tell which hosts have since disappeared (purged from Qualys). Host IDs come in long
 * runs with gaps, so each run is written as `gap.length` in base 36, relative to the end of the
 * previous run: "1thq8o.4,2.0" is 110002200-110002204 and 110002206.
 */

import { subtractIntervals } from '../qualys/lists';

export type IdRuns = [number, number][];

export function encodeIdRuns(runs: IdRuns): string {
  let previous = 0;
  return runs
    .map(([from, to]) => {
      const text = `${(from - previous).toString(36)}.${(to - from).toString(36)}`;
      previous = to;
      return text;
    })
    .join(',');
}

/** The runs of `text` (from encodeIdRuns); throws on anything else, naming the state field. */
export function decodeIdRuns(text: string, field: string): IdRuns {
  if (text === '') return [];
  let previous = 0;
  return text.split(',').map((part) => {
    const match = /^([0-9a-z]+)\.([0-9a-z]+)$/.exec(part);
    if (!match) throw new Error(`${field}: "${part.slice(0, 40)}" is not a gap.length pair`);
    const from = previous + parseInt(match[1], 36);
    const to = from + parseInt(match[2], 36);
    if (!Number.isSafeInteger(to) || (previous > 0 && from <= previous)) {
      throw new Error(`${field}: runs out of order at "${part.slice(0, 40)}"`);
    }
    previous = to;
    return [from, to];
  });
}

/** Sorted, merged runs of the given runs of IDs (which may overlap or touch). */
export function mergeIdRuns(runs: IdRuns): IdRuns {
  const merged: IdRuns = [];
  for (const [from, to] of [...runs].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The IDs of `before` that are not in `after` (both sorted, disjoint runs), ascending. */
export function idsGone(before: IdRuns, after: IdRuns): number[] {
  const gone: number[] = [];
  for (const [from, to] of before) {
    for (const [first, last] of subtractIntervals(from, to, after)) {
      for (let id = first; id <= last; id++) gone.push(id);
    }
  }
  return gone;
}
