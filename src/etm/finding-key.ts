/**
 * Finding identity: one finding per asset + QID + port + protocol + SSL + detection FQDN/instance
 * (resources/etm/finding-identity.json). The detection key is that tuple read off a raw
 * detection — independent of the transform map, so remapping attributes never splits or merges
 * findings — whether nested in a host_detections record or a flat `detections` record: both
 * have the fields under the same names. (The source's DETECTION_KEY, src/records.ts, is that
 * stream's primary key — the UNIQUE_VULN_ID where Qualys sends one — not this identity.) The
 * finding key prefixes it with the asset key; it is readable on purpose, so a user can see why
 * two findings are distinct (a different port, say).
 */
import identity from '../../resources/etm/finding-identity.json';
import { parseSourcePath } from './source-path';

const FIELDS = identity.fields.map((f) => ({
  get: parseSourcePath(f.path).get,
  caseInsensitive: (f as { caseInsensitive?: boolean }).caseInsensitive === true,
  boolean: (f as { boolean?: boolean }).boolean === true,
}));

const PLAIN = /^[A-Za-z0-9._~-]*$/;

function part(value: unknown, f: (typeof FIELDS)[number]): string {
  if (f.boolean) {
    return value === true || value === 1 || value === '1' || value === 'true' ? '1' : '0';
  }
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return '';
  const text = f.caseInsensitive ? value.trim().toLowerCase() : value.trim();
  // Components are URI-encoded so a '/' inside an FQDN or instance name cannot shift fields.
  return PLAIN.test(text) ? text : encodeURIComponent(text);
}

/** `91234/443/tcp/1/app01.example.com/` — the detection's identity on its host. */
export function detectionKey(detection: unknown): string {
  return FIELDS.map((f) => part(f.get(detection), f)).join('/');
}

/** `<assetKey>/<detectionKey>`; asset keys never contain '/'. */
export function findingKey(assetKey: string, detection: string): string {
  return `${assetKey}/${detection}`;
}
