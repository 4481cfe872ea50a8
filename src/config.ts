/**
 * The source configuration: validated in one place against resources/spec.json (types, enums,
 * ranges, defaults — the CDK applies none of them), plus the rules a schema cannot say. Everything
 * after validateConfig trusts the typed, defaulted result. Messages name the field; none ever
 * contains the password.
 */
import Ajv, { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import VError from 'verror';

import spec from '../resources/spec.json';

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

/** Validates a raw config, applies the spec defaults and returns the typed config. */
export function validateConfig(raw: unknown): QualysConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('Invalid configuration: expected a JSON object');
  }
  const config = structuredClone(raw) as Record<string, unknown>;
  if (!validateSpec(config)) {
    const problems = (validateSpec.errors ?? []).map(describeSchemaError);
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`);
  }
  const checked = config as unknown as QualysConfig;
  const url = checkBaseUrl(checked.base_url);
  checked.base_url = url.origin;
  // The host name without the port: a tunnel or proxy port must not rename the subscription.
  checked.subscription ??= `${checked.username}@${url.hostname}`;
  if (checked.tag_filter !== undefined) tagNames(checked.tag_filter);
  if (checked.start_date !== undefined) checked.start_date = parseStartDate(checked.start_date);
  return checked;
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

function describeSchemaError(error: ErrorObject): string {
  const field = fieldOf(error);
  switch (error.keyword) {
    case 'required':
      return `${field} is required`;
    case 'enum':
      return `${field} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    case 'minLength':
      return `${field} must not be empty`;
    case 'pattern':
      return field === 'base_url' ? 'base_url must start with https://' : `${field} is malformed`;
    default:
      return `${field} ${error.message}`;
  }
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function checkBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`base_url is not a valid URL: ${value}`);
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
    throw new ConfigError(`base_url must use https: ${value}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError(
      `base_url must be the API server root, e.g. https://qualysapi.qg2.apps.qualys.com, not ${value}`,
    );
  }
  return url;
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
  return formatQualysDate(date);
}
