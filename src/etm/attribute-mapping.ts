/**
 * Compiles the rows of a transform map into the three mappings the converters run: host → asset
 * attributes, detection → per-detection finding attributes, and detection → per-QID ("knowledge")
 * finding attributes. The split follows resources/etm/knowledge-join.json: attributes read only
 * from QID-scoped paths (QID_INFO, MITRE_*) are the same for every finding of a QID, so the store
 * keeps them once per QID and a knowledge_base record can refresh them.
 */
import knowledgeJoin from '../../resources/etm/knowledge-join.json';
import { ASSET } from './models';
import { dropPrefix, SourcePath } from './source-path';
import { MapRow, TransformMap } from './transform-map';

/** Called when a present source value normalised to null (e.g. an unknown STATUS). */
export type Rejection = (target: string, value: unknown) => void;

export interface Mapping {
  /** Attribute names this mapping sets, in map order. */
  readonly attributes: ReadonlyArray<string>;
  /** Sets the mapped attributes on `into` (a new object by default) and returns it. */
  readonly map: (
    from: unknown,
    reject: Rejection,
    into?: Record<string, unknown>,
  ) => Record<string, unknown>;
}

export interface CompiledMap {
  readonly asset: Mapping;
  readonly detection: Mapping;
  readonly knowledge: Mapping;
  /** The knowledge attributes a knowledge_base record can refresh (its join covers their paths). */
  readonly refreshable: Mapping;
  /** The knowledge attributes mapped from paths a knowledge_base record carries as they are. */
  readonly carried: Mapping;
  /** The knowledge attributes mapped from the QID alone, which every detection has. */
  readonly ofQid: Mapping;
}

type Filler = (from: unknown, out: Record<string, unknown>, reject: Rejection) => void;

interface Group {
  readonly attribute: string;
  readonly rows: ReadonlyArray<{ row: MapRow; sources: ReadonlyArray<SourcePath> }>;
}

const QID_SCOPED = new Set(knowledgeJoin.qidScopedPaths);
const KB_COVERED = new Set(Object.keys(knowledgeJoin.fromKnowledgeBase));
const KB_CARRIED = new Set(knowledgeJoin.carriedByKnowledgeBase);
const QID = new Set(['QID']);

export function compileMap(map: TransformMap): CompiledMap {
  const assetGroups = groups(
    map.rows.filter((r) => r.model === ASSET),
    0,
  );
  const findingGroups = groups(
    map.rows.filter((r) => r.model !== ASSET),
    1,
  );
  const isKnowledge = (g: Group): boolean =>
    g.rows.every((r) => r.sources.every((s) => QID_SCOPED.has(s.segments[0]?.name)));
  const knowledge = findingGroups.filter(isKnowledge);
  const readFrom = (paths: Set<string>) => (g: Group) =>
    g.rows.every((r) => r.sources.every((s) => paths.has(s.text)));
  return {
    asset: mapping(assetGroups),
    detection: mapping(findingGroups.filter((g) => !isKnowledge(g))),
    knowledge: mapping(knowledge),
    refreshable: mapping(knowledge.filter(readFrom(KB_COVERED))),
    carried: mapping(knowledge.filter(readFrom(KB_CARRIED))),
    ofQid: mapping(knowledge.filter(readFrom(QID))),
  };
}

/** Rows grouped by attribute (objectList fields share one), sources made relative. */
function groups(rows: ReadonlyArray<MapRow>, prefix: number): Group[] {
  const byAttribute = new Map<string, Group['rows'][number][]>();
  for (const row of rows) {
    const list = byAttribute.get(row.attribute) ?? [];
    list.push({ row, sources: row.sources.map((s) => dropPrefix(s, prefix)) });
    byAttribute.set(row.attribute, list);
  }
  return [...byAttribute].map(([attribute, list]) => ({ attribute, rows: list }));
}

function mapping(list: ReadonlyArray<Group>): Mapping {
  const fillers = list.map((g) => (g.rows[0].row.field ? objectListFiller(g) : scalarFiller(g)));
  return {
    attributes: list.map((g) => g.attribute),
    map: (from, reject, into) => {
      const out: Record<string, unknown> = into ?? {};
      for (const fill of fillers) fill(from, out, reject);
      return out;
    },
  };
}

const hasValue = (v: unknown): boolean =>
  v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/** The first source's value that is present; the last one's (absent) value when none is. */
function firstValue(sources: ReadonlyArray<SourcePath>, from: unknown): unknown {
  if (sources.length === 1) return sources[0].get(from);
  let value: unknown = undefined;
  for (const s of sources) {
    value = s.get(from);
    if (hasValue(value)) return value;
  }
  return value;
}

function scalarFiller(g: Group): Filler {
  const { row, sources } = g.rows[0];
  const { apply } = row.normaliser;
  return (from, out, reject) => {
    const raw = firstValue(sources, from);
    const value = apply(raw);
    if (value === null && hasValue(raw)) reject(row.target, raw);
    out[g.attribute] = value;
  };
}

/**
 * Qualys sends MITRE tactics as parallel arrays (MITRE_TACTIC_ID[i] goes with
 * MITRE_TACTIC_NAME[i]); element i of each field row builds object i. Empty objects and repeats
 * are dropped.
 */
function objectListFiller(g: Group): Filler {
  const fields = g.rows.map(({ row, sources }) => ({ row, sources }));
  return (from, out, reject) => {
    const columns = fields.map((f) => {
      const raw = firstValue(f.sources, from);
      return raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
    });
    const length = Math.max(0, ...columns.map((c) => c.length));
    if (length === 0) {
      out[g.attribute] = firstValueMissing(fields, from) ? null : [];
      return;
    }
    const seen = new Set<string>();
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < length; i++) {
      const item: Record<string, unknown> = {};
      let any = false;
      fields.forEach((f, j) => {
        const raw = columns[j][i];
        const value = f.row.normaliser.apply(raw);
        if (value === null && hasValue(raw)) reject(f.row.target, raw);
        item[f.row.field as string] = value;
        any ||= value !== null;
      });
      const key = JSON.stringify(item);
      if (any && !seen.has(key)) {
        seen.add(key);
        items.push(item);
      }
    }
    out[g.attribute] = items;
  };
}

/** Every field's source is absent (not merely empty): the attribute is unknown, so null. */
function firstValueMissing(
  fields: ReadonlyArray<{ sources: ReadonlyArray<SourcePath> }>,
  from: unknown,
): boolean {
  return fields.every((f) => f.sources.every((s) => s.get(from) == null));
}
