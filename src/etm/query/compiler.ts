/**
 * Compiles a parsed query to SQL over the store. A query returns the model of its first
 * condition (inventory:/asset. → assets, finding. → findings); conditions on the other model
 * select by relation — assets having a finding that matches, findings whose asset matches — and
 * adjacent conditions on that model must hold for the same related record.
 *
 * Fields are checked against resources/etm/models.json and compared by their type: `:`/`=` is
 * case-insensitive equality (`*` is a wildcard) and, on a list, "contains"; `>=` etc. compare
 * numbers and dates; `null` matches a missing value.
 */
import { VError } from 'verror';

import { ASSET, EtmModel, FINDING, FINDING_TYPE, MODELS, SOURCE } from '../models';
import { AttributeType, normaliseDatetime } from '../normalisers';
import { Dialect, SQLITE, ValueType } from '../store/dialect';
import { FINDING_COLUMNS, FINDINGS_FROM } from '../store/reader';
import { Op, QueryNode } from './parser';

export interface CompiledQuery {
  readonly model: EtmModel;
  /** The whole statement, in store order. */
  readonly sql: string;
  readonly params: unknown[];
  /** The condition alone, over FINDINGS_FROM (findings) or `assets a` (assets), for the read model. */
  readonly where: string;
}

const MODEL_OF = { asset: ASSET, finding: FINDING } as const;

/** Finding attributes the store keeps in columns (the knowledge record is the fallback). */
const FINDING_COLUMN: Readonly<Record<string, string>> = {
  findingStatus: 'f.status',
  findingSubType: 'f.sub_type',
  ignoreFinding: 'f.ignored',
  detectionScore: 'f.score',
  findingSeverity: 'f.severity',
  findingLastFoundOn: 'f.last_found',
};

const FINDING_COMPUTED: Readonly<Record<string, string>> = {
  findingKey: `(fa.asset_key || '/' || f.detection_key)`,
  assetKey: 'fa.asset_key',
  subscription: 'h.subscription',
  qualysHostId: 'h.host_id',
  source: `'${SOURCE}'`,
  vendorProductName: `'${SOURCE}'`,
  findingType: `'${FINDING_TYPE}'`,
};

/**
 * Asset attributes the store keeps in columns, or that are one value: every asset's `source` is
 * VMDR (computed, no transform map sets it), so `inventory: (source: VMDR)` reads no record.
 */
const ASSET_COLUMN: Readonly<Record<string, string>> = {
  source: `'${SOURCE}'`,
  assetKey: 'a.asset_key',
  truRiskScore: 'a.tru_risk_score',
  truRiskBand: 'a.tru_risk_band',
};

/** `dialect`: the store's engine (EtmStore.dialect); SQLite's when only checking the query. */
export function compileQuery(
  node: QueryNode,
  limit?: number,
  dialect: Dialect = SQLITE,
): CompiledQuery {
  const model = MODEL_OF[firstScope(node)];
  const params: unknown[] = [];
  const where = compileNode(node, model, params, dialect);
  const tail = limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(limit))}` : '';
  const sql =
    model === ASSET
      ? `SELECT a.record FROM assets a WHERE a.record IS NOT NULL AND (${where}) ORDER BY a.seq${tail}`
      : `SELECT ${FINDING_COLUMNS} FROM ${FINDINGS_FROM} WHERE f.current = 1 AND (${where}) ORDER BY f.asset_seq, f.detection_key${tail}`;
  return { model, sql, params, where };
}

/**
 * The SQL expression of a model attribute, as conditions read it: over `assets a` for assets,
 * over FINDINGS_FROM for findings. Unknown fields are refused as in a condition.
 */
export function fieldExpression(model: EtmModel, field: string, d: Dialect = SQLITE): string {
  const spec = MODELS[model].attributes.get(field);
  if (!spec) {
    throw new VError(
      'unknown %s field %s (fields: %s)',
      model,
      field,
      [...MODELS[model].attributes.keys()].join(', '),
    );
  }
  const type = valueType(spec.type);
  return model === ASSET ? assetField(field, type, d) : findingField(field, type, d);
}

function firstScope(node: QueryNode): 'asset' | 'finding' {
  if (node.kind === 'cond') return node.scope;
  return firstScope(node.kind === 'not' ? node.part : node.parts[0]);
}

function scopes(node: QueryNode, out = new Set<EtmModel>()): Set<EtmModel> {
  if (node.kind === 'cond') out.add(MODEL_OF[node.scope]);
  else if (node.kind === 'not') scopes(node.part, out);
  else node.parts.forEach((p) => scopes(p, out));
  return out;
}

function compileNode(node: QueryNode, model: EtmModel, params: unknown[], d: Dialect): string {
  const used = scopes(node);
  if (!used.has(model)) {
    // Only the other model: one related record must satisfy the whole sub-expression.
    const other = model === ASSET ? FINDING : ASSET;
    const inner = compileNode(node, other, params, d);
    return other === FINDING
      ? `EXISTS (SELECT 1 FROM ${FINDINGS_FROM} WHERE f.asset_seq = a.seq AND f.current = 1 AND (${inner}))`
      : `EXISTS (SELECT 1 FROM assets a WHERE a.seq = f.asset_seq AND (${inner}))`;
  }
  if (node.kind === 'cond') return condition(node, params, d);
  if (node.kind === 'not') return `NOT (${compileNode(node.part, model, params, d)})`;
  // The parts only about the other model go into one sub-expression, so that in
  // `inventory: (…) and finding.a: x and finding.b: y` one finding must have both.
  const own = node.parts.filter((p) => scopes(p).has(model));
  const other = node.parts.filter((p) => !scopes(p).has(model));
  const parts =
    other.length > 1 ? [...own, { kind: node.kind, parts: other } as QueryNode] : node.parts;
  return parts
    .map((p) => `(${compileNode(p, model, params, d)})`)
    .join(node.kind === 'and' ? ' AND ' : ' OR ');
}

function condition(c: Extract<QueryNode, { kind: 'cond' }>, params: unknown[], d: Dialect): string {
  const model = MODEL_OF[c.scope];
  const spec = MODELS[model].attributes.get(c.field);
  if (!spec) {
    throw new VError(
      'query: unknown field %s.%s (%s fields: %s)',
      c.scope,
      c.field,
      model,
      [...MODELS[model].attributes.keys()].join(', '),
    );
  }
  const type = valueType(spec.type);
  const label = `${c.scope}.${c.field}`;
  const expr = model === ASSET ? assetField(c.field, type, d) : findingField(c.field, type, d);
  if (!c.quoted && c.value.toLowerCase() === 'null') {
    if (c.op === ':' || c.op === '=') return `${expr} IS NULL`;
    if (c.op === '!=') return `${expr} IS NOT NULL`;
    throw new VError('query: %s %s null: only :, = and != compare with null', label, c.op);
  }
  if (c.field === 'assetKey' && (c.op === ':' || c.op === '=') && !c.value.includes('*')) {
    // Asset keys are lowercase (vmdr-<hex>), so this is the case-insensitive match, and the
    // findings' index on their asset serves it (an asset's findings, from a million).
    params.push(c.value);
    return model === ASSET
      ? `a.asset_key = lower(?)`
      : `f.asset_seq = coalesce((SELECT seq FROM assets WHERE asset_key = lower(?)), -1)`;
  }
  // Two-valued, so that `not` also selects records where the field is missing.
  return `coalesce(${compare(expr, spec.type, c.op, c.value, label, params, d)}, FALSE)`;
}

/** How a model attribute type is read out of JSON for comparison. */
export function valueType(type: AttributeType): ValueType {
  if (type === 'stringList' || type === 'objectList') return 'json';
  if (type === 'integer' || type === 'number') return 'number';
  if (type === 'boolean') return 'boolean';
  return 'text';
}

/**
 * Where the store keeps a finding attribute: `computed` from the finding's keys, or a `column`
 * of findings (the QID's value when the column is empty); undefined: in the record's JSON.
 */
export function findingColumn(field: string): { computed?: string; column?: string } | undefined {
  if (FINDING_COMPUTED[field]) return { computed: FINDING_COMPUTED[field] };
  if (FINDING_COLUMN[field]) return { column: FINDING_COLUMN[field] };
  return undefined;
}

function assetField(field: string, type: ValueType, d: Dialect): string {
  return ASSET_COLUMN[field] ?? d.field('a.record', field, type);
}

function findingField(field: string, type: ValueType, d: Dialect): string {
  if (FINDING_COMPUTED[field]) return FINDING_COMPUTED[field];
  const fallback = d.field('v.record', field, type);
  const path = `(SELECT path FROM layout_fields WHERE layout = f.layout AND name = '${field}')`;
  return `coalesce(${FINDING_COLUMN[field] ?? d.at('f.record', path, type)}, ${fallback})`;
}

function compare(
  expr: string,
  type: AttributeType,
  op: Op,
  value: string,
  label: string,
  params: unknown[],
  d: Dialect,
): string {
  const equality = op === ':' || op === '=';
  const negate = (sql: string): string => (op === '!=' ? `NOT coalesce(${sql}, FALSE)` : sql);
  if (type === 'stringList' || type === 'objectList') {
    if (!equality && op !== '!=')
      throw new VError('query: %s is a list; use : (contains) or !=', label);
    params.push(value);
    const each =
      type === 'stringList'
        ? `SELECT 1 FROM ${d.elements(expr, 'j')} WHERE ${textMatch('j.value', value, d)}`
        : `SELECT 1 FROM ${d.objectValues(expr, 'j', 'k')} WHERE ${textMatch('k.value', value, d)}`;
    return negate(`EXISTS (${each})`);
  }
  if (type === 'boolean') {
    const b = { true: 1, false: 0, '1': 1, '0': 0 }[value.toLowerCase()];
    if (b === undefined || !(equality || op === '!=')) {
      throw new VError('query: %s is true or false; compare it with : or !=', label);
    }
    params.push(b);
    return negate(`${expr} = ?`);
  }
  if (type === 'integer' || type === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new VError('query: %s is a number, not %j', label, value);
    params.push(n);
    return negate(`${expr} ${equality || op === '!=' ? '=' : op} ?`);
  }
  if (type === 'datetime') {
    if (equality && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
      params.push(value);
      return `substr(${expr}, 1, 10) = ?`;
    }
    const iso = normaliseDatetime(value);
    if (iso === null) throw new VError('query: %s is a date-time, not %j', label, value);
    params.push(iso);
    return negate(`${expr} ${equality || op === '!=' ? '=' : op} ?`);
  }
  params.push(value);
  if (equality || op === '!=') return negate(textMatch(expr, value, d));
  return `${expr} ${op} ?`;
}

/** Case-insensitive; `*` matches any run of characters. */
function textMatch(expr: string, value: string, d: Dialect): string {
  return value.includes('*')
    ? `${expr} ${d.ilike} replace(replace(replace(?, '%', '\\%'), '_', '\\_'), '*', '%') ESCAPE '\\'`
    : `lower(${expr}) = lower(?)`;
}
