/**
 * The source configuration: validated in one place against resources/spec.json (types, enums,
 * ranges, defaults — the CDK applies none of them), plus the rules a schema cannot say. Everything
 * after validateConfig trusts the typed, defaulted result. Messages name the field; none ever
 * contains the password.
 */
import { X509Certificate } from 'node:crypto';

import Ajv, { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { addSourceCommonProperties, AirbyteSpec } from 'faros-airbyte-cdk';
import VError from 'verror';

import spec from '../resources/spec.json';
import { checkKeys } from './config-keys';

export type FindingType = 'Confirmed' | 'Potential';
export type DetectionStatus = 'New' | 'Active' | 'Re-Opened' | 'Fixed';

/** Mirrors resources/spec.json; after validateConfig every defaulted field is set. */
export interface QualysConfig {
  base_url: string;
  username: string;
  password: string;
  subscription: string;
  finding_types: FindingType[];
  include_information_gathered: boolean;
  severities: number[];
  statuses: DetectionStatus[];
  tag_filter?: string;
  include_ignored: boolean;
  include_disabled: boolean;
  include_results: boolean;
  results_max_length: number;
  start_date?: string;
  hosts_page_size: number;
  detections_page_size: number;
  kb_batch_size: number;
  max_concurrency: number;
  timeout: number;
  max_retries: number;
  proxy_url?: string;
  proxy_username?: string;
  proxy_password?: string;
  ca_certificate?: string;
}

export class ConfigError extends VError {
  constructor(message: string) {
    super({ name: 'ConfigError' }, '%s', message);
  }
}

const validateSpec = (() => {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats(ajv);
  return ajv.compile(spec.connectionSpecification);
})();

/** The keys a config may have: this spec's and those the CDK adds to it (check_connection...). */
const KNOWN_KEYS: readonly string[] = Object.keys(
  addSourceCommonProperties(new AirbyteSpec(spec)).spec.connectionSpecification.properties,
);
/** Fields whose value is a credential (airbyte_secret), whatever else is in the config. */
const SECRET_KEYS = Object.entries(spec.connectionSpecification.properties)
  .filter(([, property]) => (property as { airbyte_secret?: boolean }).airbyte_secret)
  .map(([key]) => key);
/** Fields holding a URL, whose userinfo would be a credential. */
const URL_KEYS = ['base_url', 'proxy_url'];
/** The spec is two levels deep (arrays of scalars): deeper is not a config, and is not walked. */
const MAX_DEPTH = 8;

/**
 * Validates a raw config, applies the spec defaults and returns the typed config, without the
 * unknown keys, which `warn` is told about (a key close to a known one is an error).
 */
export function validateConfig(
  raw: unknown,
  warn: (message: string) => void = () => undefined,
): QualysConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`Invalid configuration: expected a JSON object, not ${kindOf(raw)}`);
  }
  if (depthOf(raw) > MAX_DEPTH) {
    throw new ConfigError(`Invalid configuration: nested deeper than ${MAX_DEPTH} levels`);
  }
  const keys = checkKeys(raw as Record<string, unknown>, KNOWN_KEYS);
  if (keys.error !== undefined) throw new ConfigError(keys.error);
  if (keys.warning !== undefined) warn(keys.warning);
  const config = keys.known;
  if (!validateSpec(config)) {
    const problems = (validateSpec.errors ?? []).map((error) => describeSchemaError(error, config));
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  const checked = config as unknown as QualysConfig;
  const url = checkBaseUrl(checked.base_url);
  checked.base_url = url.origin;
  // The host name without the port: a tunnel or proxy port must not rename the subscription.
  checked.subscription ??= `${checked.username}@${url.hostname}`;
  if (checked.tag_filter !== undefined) tagNames(checked.tag_filter);
  if (checked.start_date !== undefined) checked.start_date = parseStartDate(checked.start_date);
  if (checked.proxy_url !== undefined) checked.proxy_url = checkProxyUrl(checked).origin;
  else if (checked.proxy_username !== undefined || checked.proxy_password !== undefined) {
    throw new ConfigError('proxy_username and proxy_password are only used with proxy_url');
  }
  if (checked.proxy_password !== undefined && checked.proxy_username === undefined) {
    throw new ConfigError('proxy_password needs proxy_username');
  }
  if (checked.ca_certificate !== undefined) checkCaCertificate(checked.ca_certificate);
  return checked;
}

/**
 * Every string of a raw config that could be a credential, to be masked in all output: the
 * secret fields, URL userinfo, and everything under a key that is not the spec's (a misspelled
 * "pasword", a "__proto__") or in a config that is not an object.
 */
export function credentialsOf(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return stringsIn(raw);
  const found: string[] = [];
  const config = raw as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    const value = config[key];
    if (SECRET_KEYS.includes(key) || !KNOWN_KEYS.includes(key)) found.push(...stringsIn(value));
    if (URL_KEYS.includes(key) && typeof value === 'string') found.push(...userinfoOf(value));
  }
  return found;
}

/** The user and password of a URL's userinfo, as written and decoded; also without a scheme. */
export function userinfoOf(url: string): string[] {
  const userinfo = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/?#]*)@/i.exec(url.trim())?.[1];
  if (!userinfo) return [];
  const parts = [userinfo, ...userinfo.split(':')].filter(Boolean);
  const decoded = parts.map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  return [...new Set([...parts, ...decoded])];
}

function stringsIn(value: unknown, depth = 0): string[] {
  if (typeof value === 'string' || typeof value === 'number') return [String(value)];
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return [];
  const values = Array.isArray(value) ? value : Object.values(value);
  return values.flatMap((item) => stringsIn(item, depth + 1));
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** How deep `value` nests, counted without recursion (a hostile file may nest 10^6 deep). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  if (error.keyword === 'required') return String(error.params.missingProperty);
  return path || 'config';
}

function describeSchemaError(error: ErrorObject, config: Record<string, unknown>): string {
  const field = fieldOf(error);
  switch (error.keyword) {
    case 'required':
      return `${field} is required`;
    case 'enum':
      return `${field} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'minLength':
      return `${field} must not be empty`;
    case 'maxLength':
      return `${field} must be at most ${error.params.limit} characters`;
    case 'pattern':
      return URL_KEYS.includes(field)
        ? withoutScheme(field, config[field])
        : `${field} is malformed`;
    default:
      return `${field} ${error.message}`;
  }
}

/** A URL without a scheme, or with another: what to write instead. */
function withoutScheme(field: string, value: unknown): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const scheme = field === 'base_url' ? 'https://' : 'http:// or https://';
  const other = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1];
  if (other) return `${field} must start with ${scheme}, not ${other.toLowerCase()}://`;
  const host = text.replace(/\/$/, '');
  const write = /^[a-z0-9.-]+(:\d+)?$/i.test(host)
    ? `${field === 'base_url' ? 'https' : 'http'}://${host}`
    : field === 'base_url'
      ? 'https://qualysapi.qg2.apps.qualys.com'
      : 'http://proxy.example.com:3128';
  return `${field} has no scheme: write ${write}`;
}

/** A URL as it may be shown in a message: without its userinfo. */
function shownUrl(value: string): string {
  return value.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^/?#]*@/i, '$1');
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function checkBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`base_url is not a valid URL: ${shownUrl(value)}`);
  }
  if (url.username || url.password) {
    throw new ConfigError('base_url must not contain credentials; use username and password');
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.test(url.hostname)) {
    throw new ConfigError(
      `base_url must use https (http is only accepted for loopback hosts): ${url.origin}`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`base_url must use https: ${shownUrl(value)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError(
      `base_url must be the API server root, e.g. https://qualysapi.qg2.apps.qualys.com, not ${value}`,
    );
  }
  return url;
}

/** The proxy, without credentials (they have their own, secret, fields). */
function checkProxyUrl(config: QualysConfig): URL {
  const value = config.proxy_url as string;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`proxy_url is not a valid URL: ${shownUrl(value)}`);
  }
  if (url.username || url.password) {
    throw new ConfigError(
      'proxy_url must not contain credentials; use proxy_username and proxy_password',
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError(
      `proxy_url must be the proxy's address, e.g. http://proxy.example.com:3128, not ${value}`,
    );
  }
  return url;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** ca_certificate holds one or more PEM certificates, each of which must parse. */
function checkCaCertificate(pem: string): void {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new ConfigError(
      'ca_certificate must be PEM text: -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----',
    );
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(
        `ca_certificate: certificate ${i + 1} of ${blocks.length} is not valid (${(err as Error).message})`,
      );
    }
  });
}

/** The tag names of a tag_filter ("a, b"); throws on empty names or duplicates. */
export function tagNames(tagFilter: string | undefined): string[] {
  if (tagFilter === undefined || tagFilter.trim() === '') return [];
  const names = tagFilter.split(',').map((name) => name.trim());
  names.forEach((name, i) => {
    if (!name) {
      throw new ConfigError(
        `tag_filter is malformed: tag ${i + 1} of "${tagFilter}" is empty (use "tag-a, tag-b")`,
      );
    }
  });
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new ConfigError(`tag_filter names tag "${duplicate}" twice`);
  return names;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Qualys dates are YYYY-MM-DDTHH:MM:SSZ in UTC; it rejects milliseconds (field lessons #14). */
export function formatQualysDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseStartDate(value: string): string {
  const text = value.trim();
  const date = DATE_ONLY.test(text)
    ? new Date(`${text}T00:00:00Z`)
    : DATE_TIME.test(text)
      ? new Date(text)
      : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new ConfigError(
      `start_date must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), not "${value}"`,
    );
  }
  if (date.getTime() > Date.now()) {
    throw new ConfigError(
      `start_date ${formatQualysDate(date)} is in the future: nothing would be read`,
    );
  }
  return formatQualysDate(date);
}
