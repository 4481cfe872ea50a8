/**
 * A subscription's source config, as far as etm reads it: the config is opaque and passed to the
 * source as the user wrote it; only `subscription`, `base_url` and `username` name the connector.
 * Secret values are collected so no message etm prints or stores can carry them.
 */
import fs from 'fs';
import path from 'path';
import { VError } from 'verror';

export interface SourceConfig {
  /** Absolute path of the user's file (what the store keeps; never the content). */
  readonly path: string;
  /** The connector name: the subscription label. */
  readonly name: string;
  readonly baseUrl?: string;
  readonly username?: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly secrets: ReadonlyArray<string>;
}

const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|credential/i;

export function readSourceConfig(file: string): SourceConfig {
  const abs = path.resolve(file);
  let content: Record<string, unknown>;
  try {
    content = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    // The parse error may quote the file's text; say only where it is.
    const reason = (err as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new VError('cannot read source config %s (%s)', abs, reason);
  }
  if (!content || typeof content !== 'object' || Array.isArray(content)) {
    throw new VError('source config %s: expected a JSON object', abs);
  }
  const baseUrl = typeof content.base_url === 'string' ? content.base_url : undefined;
  const username = typeof content.username === 'string' ? content.username : undefined;
  return {
    path: abs,
    name: subscriptionLabel(abs, content, baseUrl, username),
    baseUrl,
    username,
    content,
    secrets: secretsOf(content),
  };
}

/** The source's default label (resources/spec.json): `username@base_url host name` (no port). */
function subscriptionLabel(
  file: string,
  content: Record<string, unknown>,
  baseUrl?: string,
  username?: string,
): string {
  if (typeof content.subscription === 'string' && content.subscription.trim() !== '')
    return content.subscription.trim();
  let host: string | undefined;
  try {
    host = baseUrl ? new URL(baseUrl).hostname : undefined;
  } catch {
    throw new VError('source config %s: base_url is not a URL', file);
  }
  if (!host || !username) {
    throw new VError(
      'source config %s: set "subscription", or "base_url" and "username", to name the connector',
      file,
    );
  }
  return `${username}@${host}`;
}

function secretsOf(value: unknown, key = ''): string[] {
  if (typeof value === 'string') return SECRET_KEY.test(key) && value.length > 0 ? [value] : [];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => secretsOf(v, k));
}

/** Replaces every secret in a text meant for a terminal, a log or the store. */
export function redact(text: string, secrets: ReadonlyArray<string>): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}
