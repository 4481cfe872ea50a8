/**
 * A connector profile (the product's "Add Profile"): name, description, the subscriptions it
 * syncs — each a source config file with filters laid over it — the transform map, the
 * identification rules, Active/Inactive, and the schedule. JSON; paths are relative to the
 * profile file. Filters are source config keys (resources/spec.json), checked when the spec is
 * there.
 */
import fs from 'fs';
import path from 'path';
import { VError } from 'verror';

import { IdentificationRules } from '../identification-rules';
import { parseSchedule, Schedule } from './schedule';

export interface ProfileSubscription {
  readonly config: string;
  readonly filters: Readonly<Record<string, unknown>>;
  /** The network it shares with other subscriptions (private IP addresses match within it). */
  readonly network?: string;
}

export interface Profile {
  readonly name: string;
  readonly description?: string;
  readonly status: 'Active' | 'Inactive';
  readonly subscriptions: ReadonlyArray<ProfileSubscription>;
  readonly transformMap?: string;
  readonly rules?: IdentificationRules;
  readonly schedule: Schedule;
}

const KEYS = new Set([
  'name',
  'description',
  'status',
  'subscriptions',
  'transformMap',
  'identificationRules',
  'schedule',
]);
const SPEC = path.resolve(__dirname, '../../../resources/spec.json');
/** Config keys that say who the subscription is; a profile filters, it does not re-point. */
const NOT_FILTERS = new Set(['base_url', 'username', 'password', 'subscription']);

export function loadProfile(file: string): Profile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new VError(err as Error, 'cannot read profile %s', file);
  }
  const label = `profile ${path.basename(file)}`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new VError('%s: expected a JSON object', label);
  for (const k of Object.keys(raw))
    if (!KEYS.has(k)) throw new VError('%s: unknown key %j', label, k);
  const dir = path.dirname(path.resolve(file));
  if (typeof raw.name !== 'string' || raw.name.trim() === '')
    throw new VError('%s: "name" is required', label);
  if (raw.status !== 'Active' && raw.status !== 'Inactive') {
    throw new VError('%s: "status" must be "Active" or "Inactive"', label);
  }
  if (!Array.isArray(raw.subscriptions) || raw.subscriptions.length === 0) {
    throw new VError('%s: "subscriptions" must list at least one {"config": file}', label);
  }
  const known = filterKeys();
  const subscriptions = raw.subscriptions.map((s: unknown, i: number) =>
    subscription(s, `${label} subscriptions[${i}]`, dir, known),
  );
  const rules = raw.identificationRules;
  if (rules !== undefined && !Array.isArray(rules)) {
    throw new VError(
      '%s: "identificationRules" lists rule names or {"rule", "enabled"} toggles, in precedence order',
      label,
    );
  }
  return {
    name: raw.name.trim(),
    description: typeof raw.description === 'string' ? raw.description : undefined,
    status: raw.status,
    subscriptions,
    transformMap:
      typeof raw.transformMap === 'string' ? path.resolve(dir, raw.transformMap) : undefined,
    rules: rules ? IdentificationRules.select(rules) : undefined,
    schedule: parseSchedule(raw.schedule, `${label} schedule`),
  };
}

function subscription(
  raw: unknown,
  label: string,
  dir: string,
  known: Set<string> | null,
): ProfileSubscription {
  const s = raw as { config?: unknown; filters?: unknown; network?: unknown };
  if (!s || typeof s !== 'object' || typeof s.config !== 'string')
    throw new VError('%s: "config" (a file) is required', label);
  const filters = (s.filters ?? {}) as Record<string, unknown>;
  if (typeof filters !== 'object' || Array.isArray(filters))
    throw new VError('%s: "filters" must be an object', label);
  for (const k of Object.keys(filters)) {
    if (NOT_FILTERS.has(k) || (known && !known.has(k))) {
      throw new VError(
        '%s: %j is not a source filter%s',
        label,
        k,
        known ? ` (filters: ${[...known].join(', ')})` : '',
      );
    }
  }
  if (s.network !== undefined && (typeof s.network !== 'string' || s.network.trim() === ''))
    throw new VError('%s: "network" must name a network, e.g. "corp-lan"', label);
  return {
    config: path.resolve(dir, s.config),
    filters,
    network: typeof s.network === 'string' ? s.network.trim() : undefined,
  };
}

/** Source config keys from the source's spec, or null when the spec is not available. */
function filterKeys(): Set<string> | null {
  try {
    const spec = JSON.parse(fs.readFileSync(SPEC, 'utf8'));
    const keys = Object.keys(spec.connectionSpecification?.properties ?? {}).filter(
      (k) => !NOT_FILTERS.has(k),
    );
    return keys.length > 0 ? new Set(keys) : null;
  } catch {
    return null;
  }
}
