/**
 * Reshapes a knowledge_base record (one KB VULN) into the QID_INFO a detection carries, following
 * resources/etm/knowledge-join.json — the join the source makes. The transform map's per-QID rows
 * can then run on it unchanged, so a QID whose text changed refreshes every finding of that QID.
 */
import { VError } from 'verror';

import knowledgeJoin from '../../resources/etm/knowledge-join.json';
import { parseSourcePath, SourcePath } from './source-path';

interface Assignment {
  readonly sources: ReadonlyArray<SourcePath>;
  /** Object path to set (`QID_INFO.qid.title`), or the list to fill (`QID_INFO.corExploit`). */
  readonly path: ReadonlyArray<string>;
  /** For list targets (`corExploit[].vendorName`): the field set on element i from value i. */
  readonly field?: string;
}

const ASSIGNMENTS: ReadonlyArray<Assignment> = Object.entries(
  knowledgeJoin.fromKnowledgeBase as Record<string, string | string[]>,
).map(([target, source]) => {
  const [objectPath, field, extra] = target.split('[].');
  if (extra !== undefined) throw new VError('knowledge-join target %j: at most one []', target);
  const sources = (Array.isArray(source) ? source : [source]).map((p) => parseSourcePath(p));
  return { sources, path: objectPath.split('.'), field };
});

/** First alternative with a value; a list path that is absent is an empty list. */
function valueOf(a: Assignment, kb: unknown): unknown {
  for (const s of a.sources) {
    const v = s.get(kb);
    if (v !== undefined && v !== null) return v;
  }
  return a.sources.some((s) => s.yieldsList) ? [] : null;
}

/** `{QID, QID_INFO}` — a detection as far as a KB record can tell. */
export function detectionFromKnowledgeBase(kb: Record<string, unknown>): Record<string, unknown> {
  const detection: Record<string, unknown> = { QID: kb.QID };
  for (const a of ASSIGNMENTS) {
    const value = valueOf(a, kb);
    if (a.field === undefined) {
      set(detection, a.path, value);
      continue;
    }
    const values = Array.isArray(value) ? value : value === null ? [] : [value];
    const list = (get(detection, a.path) as Record<string, unknown>[] | undefined) ?? [];
    values.forEach((v, i) => {
      list[i] = { ...(list[i] ?? {}), [a.field as string]: v };
    });
    set(detection, a.path, list);
  }
  return detection;
}

function get(obj: Record<string, unknown>, path: ReadonlyArray<string>): unknown {
  let v: unknown = obj;
  for (const k of path)
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function set(obj: Record<string, unknown>, path: ReadonlyArray<string>, value: unknown): void {
  let o = obj;
  path.slice(0, -1).forEach((k) => {
    if (!o[k] || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  });
  o[path[path.length - 1]] = value;
}
