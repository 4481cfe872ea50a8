/**
 * Source paths: the left-hand side of a transform-map row (`DNS_DATA.FQDN`,
 * `VULNERABILITIES[].QID_INFO.corExploit[].vendorName`). A path is dot-separated Qualys element
 * names; `[]` after a name walks every element of that array, so the path yields a list.
 * Paths are compiled once into getters because they run for every detection of every sync.
 */
import { VError } from 'verror';

export interface PathSegment {
  readonly name: string;
  /** `name[]`: iterate the array found at `name`. */
  readonly each: boolean;
}

export interface SourcePath {
  readonly text: string;
  readonly segments: ReadonlyArray<PathSegment>;
  /** True when some segment iterates, so the value is always a list. */
  readonly yieldsList: boolean;
  readonly get: (from: unknown) => unknown;
}

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)(\[\])?$/;

/** Parses a path; the error says what is wrong with it (the caller names the row). */
export function parseSourcePath(text: unknown): SourcePath {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new VError('malformed source path %j: expected a non-empty string', text);
  }
  const segments = text.split('.').map((part, i) => {
    const m = SEGMENT.exec(part);
    if (!m) {
      throw new VError(
        'malformed source path %j: segment %d (%j) must be an element name optionally followed by []',
        text,
        i + 1,
        part,
      );
    }
    return { name: m[1], each: m[2] === '[]' };
  });
  return {
    text,
    segments,
    yieldsList: segments.some((s) => s.each),
    get: compile(segments),
  };
}

/** A path with its first `n` segments removed (a finding row evaluated on one detection). */
export function dropPrefix(path: SourcePath, n: number): SourcePath {
  const segments = path.segments.slice(n);
  return {
    text: segments.map((s) => s.name + (s.each ? '[]' : '')).join('.'),
    segments,
    yieldsList: segments.some((s) => s.each),
    get: compile(segments),
  };
}

function compile(segments: ReadonlyArray<PathSegment>): (from: unknown) => unknown {
  if (!segments.some((s) => s.each)) {
    const names = segments.map((s) => s.name);
    return (from) => {
      let v: unknown = from;
      for (const name of names) {
        if (v === null || typeof v !== 'object') return undefined;
        v = (v as Record<string, unknown>)[name];
      }
      return v;
    };
  }
  // Up to the first list the path is a plain lookup; if that list is absent the value is
  // unknown (undefined), which is not the same as an empty list.
  const first = segments.findIndex((s) => s.each);
  const head = compile(segments.slice(0, first + 1).map((s) => ({ name: s.name, each: false })));
  return (from) => {
    const list = head(from);
    if (list === null || list === undefined) return undefined;
    const out: unknown[] = [];
    walk(from, segments, 0, out);
    return out;
  };
}

/** Collects every value the path reaches; nulls inside lists are skipped, not kept as holes. */
function walk(v: unknown, segments: ReadonlyArray<PathSegment>, i: number, out: unknown[]): void {
  if (v === null || v === undefined) return;
  if (i === segments.length) {
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && item !== undefined) out.push(item);
    } else {
      out.push(v);
    }
    return;
  }
  if (typeof v !== 'object') return;
  const seg = segments[i];
  const next = (v as Record<string, unknown>)[seg.name];
  if (seg.each) {
    // Qualys sometimes sends one child where a list is expected (field lessons #13).
    const items = Array.isArray(next) ? next : next === null || next === undefined ? [] : [next];
    for (const item of items) walk(item, segments, i + 1, out);
  } else {
    walk(next, segments, i + 1, out);
  }
}
