/**
 * The transform map: rows of "source path → ETM attribute, through this normaliser", loaded from
 * resources/transform-maps/vmdr-to-etm.json and optionally overlaid by a user's map that
 * overrides (same target), drops (`"drop": true`) or adds rows. Everything is validated at load,
 * naming the offending row, so a bad map fails before any data moves.
 *
 * The seed's four MITRE rows all target `id`/`name`; here they target `mitreTactics[].id` etc.:
 * the attribute before `[]` is a list of objects and each row fills one field of every element
 * (the Qualys arrays are parallel), so no two rows share a target.
 */
import fs from 'fs';
import path from 'path';
import { inspect } from 'util';
import { VError } from 'verror';

import { ASSET, EtmModel, FINDING, MODELS } from './models';
import { AttributeType, Normaliser, NORMALISERS } from './normalisers';
import { parseSourcePath, SourcePath } from './source-path';

export const DEFAULT_TRANSFORM_MAP = path.resolve(
  __dirname,
  '../../resources/transform-maps/vmdr-to-etm.json',
);

/** The detections array of a host_detections record: rows under it map findings. */
export const DETECTIONS = 'VULNERABILITIES';

export interface MapRow {
  /** Where the row was written, for messages: `vmdr-to-etm.json row 4`. */
  readonly origin: string;
  readonly sources: ReadonlyArray<SourcePath>;
  /** The target as written: `findingName` or `mitreTactics[].id`. */
  readonly target: string;
  readonly attribute: string;
  readonly field?: string;
  readonly model: EtmModel;
  readonly normaliser: Normaliser;
}

export interface TransformMap {
  readonly name: string;
  readonly rows: ReadonlyArray<MapRow>;
}

interface Entry {
  readonly target: string;
  readonly row?: MapRow;
}

const ROW_KEYS = new Set(['source', 'target', 'normaliser', 'origin', 'note', 'drop']);
const TARGET = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[\]\.([A-Za-z_][A-Za-z0-9_]*))?$/;

/** The default map, or the default overlaid by `overlayFile`. */
export function loadTransformMap(overlayFile?: string): TransformMap {
  const base = readMapFile(DEFAULT_TRANSFORM_MAP);
  if (!overlayFile) return { name: base.name, rows: base.entries.map((e) => e.row as MapRow) };
  const overlay = readMapFile(overlayFile);
  const rows = new Map<string, MapRow>(base.entries.map((e) => [e.target, e.row as MapRow]));
  for (const e of overlay.entries) {
    if (e.row) {
      rows.set(e.target, e.row);
    } else if (!rows.delete(e.target)) {
      throw new VError(
        '%s: drops target %j, which the default map does not map',
        where(overlay.file, overlay.entries.indexOf(e)),
        e.target,
      );
    }
  }
  return { name: overlay.name, rows: [...rows.values()] };
}

function readMapFile(file: string): { name: string; file: string; entries: Entry[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new VError(err as Error, 'cannot read transform map %s', file);
  }
  return { ...parseTransformMap(doc, file), file };
}

/** Validates a map document; exported for tests that build maps in memory. */
export function parseTransformMap(doc: unknown, file: string): { name: string; entries: Entry[] } {
  const name = path.basename(file);
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { rows?: unknown }).rows)) {
    throw new VError('transform map %s: expected an object with a "rows" array', file);
  }
  const seen = new Map<string, number>();
  const entries = (doc as { rows: unknown[] }).rows.map((raw, i) => {
    const entry = parseRow(raw, where(name, i));
    const earlier = seen.get(entry.target);
    if (earlier !== undefined) {
      throw new VError(
        '%s: duplicate target %j (already mapped by row %d)',
        where(name, i),
        entry.target,
        earlier + 1,
      );
    }
    seen.set(entry.target, i);
    return entry;
  });
  const title = (doc as { name?: unknown }).name;
  return { name: typeof title === 'string' ? title : name, entries };
}

const where = (file: string, index: number): string => `${path.basename(file)} row ${index + 1}`;

function parseRow(raw: unknown, origin: string): Entry {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new VError('%s: expected an object {source, target, normaliser}', origin);
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!ROW_KEYS.has(k)) throw new VError('%s: unknown key %j', origin, k);
  }
  if (typeof r.target !== 'string') throw new VError('%s: "target" must be a string', origin);
  const label = `${origin} (${inspect(r.source ?? null)} → ${r.target})`;
  const t = TARGET.exec(r.target);
  if (!t) throw new VError('%s: malformed target %j', label, r.target);
  if (r.drop !== undefined) {
    if (r.drop !== true || r.source !== undefined || r.normaliser !== undefined) {
      throw new VError('%s: a dropping row has only "target" and "drop": true', label);
    }
    return { target: r.target };
  }
  const sources = parseSources(r.source, label);
  const model = modelOf(sources, label);
  const [, attribute, field] = t;
  const type = targetType(model, attribute, field, label);
  const normaliser = NORMALISERS.get(String(r.normaliser));
  if (!normaliser) {
    throw new VError(
      '%s: unknown normaliser %j (known: %s)',
      label,
      r.normaliser,
      [...NORMALISERS.keys()].join(', '),
    );
  }
  if (normaliser.produces !== type) {
    throw new VError(
      '%s: normaliser %j produces %s but %s is %s',
      label,
      normaliser.name,
      normaliser.produces,
      r.target,
      type,
    );
  }
  const relative = sources.map((s) => (model === FINDING ? s.segments.slice(1) : s.segments));
  if (!field && !normaliser.acceptsList && relative.some((segs) => segs.some((s) => s.each))) {
    throw new VError('%s: the source yields a list but %j takes one value', label, normaliser.name);
  }
  return {
    target: r.target,
    row: { origin, sources, target: r.target, attribute, field, model, normaliser },
  };
}

function parseSources(raw: unknown, label: string): SourcePath[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new VError('%s: "source" lists no path', label);
  return list.map((p) => {
    try {
      return parseSourcePath(p);
    } catch (err) {
      throw new VError(err as Error, '%s', label);
    }
  });
}

/** `VULNERABILITIES[]…` maps a detection to a finding; anything else maps the host. */
function modelOf(sources: ReadonlyArray<SourcePath>, label: string): EtmModel {
  const models = sources.map((s) => {
    const [first] = s.segments;
    if (first.name !== DETECTIONS) return ASSET;
    if (!first.each) {
      throw new VError(
        '%s: malformed source path %j: %s is a list, write %s[]',
        label,
        s.text,
        DETECTIONS,
        DETECTIONS,
      );
    }
    if (s.segments.length === 1) {
      throw new VError(
        '%s: malformed source path %j: name a field of the detection',
        label,
        s.text,
      );
    }
    return FINDING;
  });
  if (new Set(models).size > 1) {
    throw new VError(
      '%s: alternative sources must all be host paths or all detection paths',
      label,
    );
  }
  return models[0];
}

function targetType(
  model: EtmModel,
  attribute: string,
  field: string | undefined,
  label: string,
): AttributeType {
  const spec = MODELS[model].attributes.get(attribute);
  if (!spec) {
    const other = model === ASSET ? FINDING : ASSET;
    const hint = MODELS[other].attributes.has(attribute)
      ? ` (${attribute} is an ${other} attribute; ${other === FINDING ? `its source must start with ${DETECTIONS}[]` : `its source must not start with ${DETECTIONS}[]`})`
      : '';
    throw new VError('%s: unknown target attribute %j of %s%s', label, attribute, model, hint);
  }
  if (spec.computed) {
    throw new VError(
      '%s: %s.%s is computed by the destination and cannot be mapped',
      label,
      model,
      attribute,
    );
  }
  if (spec.type === 'objectList') {
    const fieldType = field ? spec.fields?.[field] : undefined;
    if (!fieldType) {
      throw new VError(
        '%s: %s is a list of {%s}; target one field as %s[].<field>',
        label,
        attribute,
        Object.keys(spec.fields ?? {}).join(', '),
        attribute,
      );
    }
    return fieldType;
  }
  if (field) throw new VError('%s: %s is not a list of objects', label, attribute);
  return spec.type;
}
