/**
 * Qualys errors: the SIMPLE_RETURN envelope (recognised whatever the HTTP status — "account
 * expired" arrives with HTTP 200, API doc §5) and how each kind of failure is retried.
 */
import VError from 'verror';

/** SIMPLE_RETURN codes with a meaning the client acts on (API doc §5, Appendix D). */
export const QualysCode = {
  UNRECOGNIZED_PARAMETER: 1901,
  MISSING_PARAMETER: 1903,
  INVALID_VALUE: 1905,
  CONCURRENCY_LIMIT: 1960,
  RATE_LIMIT: 1965,
  TRUNCATED: 1980,
  ACCOUNT_EXPIRED: 2001,
  REGISTRATION_INCOMPLETE: 2003,
  SECURE_ID_REQUIRED: 2011,
} as const;

/** How the client reacts to a failed call. */
export type FailureKind =
  /** 409 1960: another call must finish first — short backoff with jitter. */
  | 'concurrency'
  /** 409 1965 or Remaining 0: the rate window is spent — wait the server's time. */
  | 'rate'
  /** 5xx, resets, truncated bodies: exponential backoff with jitter. */
  | 'transient'
  /** No byte for `timeout` seconds. */
  | 'timeout'
  /** Credentials, permissions, bad parameters, expired account: never retried. */
  | 'fatal';

export class QualysError extends VError {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly details: {
      status?: number;
      code?: number;
      /** Seconds the server asked us to wait (SECONDS_TO_WAIT or X-RateLimit-ToWait-Sec). */
      secondsToWait?: number;
      /** True for errors the user can fix in the configuration (credentials, parameters). */
      configError?: boolean;
    } = {},
    cause?: Error,
  ) {
    super({ cause, name: 'QualysError' }, '%s', message);
  }
}

export interface SimpleReturn {
  code?: number;
  text?: string;
  items: Record<string, string>;
}

/**
 * Reads a SIMPLE_RETURN's RESPONSE (CODE, TEXT, ITEM_LIST), or a GENERIC_RETURN's content
 * (<RETURN status="FAILED" number="999">Internal error…</RETURN>).
 */
export function simpleReturnOf(response: Record<string, unknown> | undefined): SimpleReturn {
  const items: Record<string, string> = {};
  const itemList = response?.ITEM_LIST as { ITEM?: unknown } | undefined;
  const rawItems = itemList?.ITEM;
  for (const item of Array.isArray(rawItems) ? rawItems : rawItems ? [rawItems] : []) {
    const { KEY, VALUE } = item as { KEY?: string; VALUE?: string };
    if (KEY !== undefined) items[KEY] = VALUE ?? '';
  }
  const code = response?.CODE !== undefined ? Number(response.CODE) : undefined;
  const text = (response?.TEXT ?? response?.RETURN) as string | undefined;
  return { code, text: typeof text === 'string' ? text.trim() : undefined, items };
}

/** Maps a SIMPLE_RETURN (with the HTTP status it came with) to the error the client acts on. */
export function simpleReturnError(status: number, sr: SimpleReturn, what: string): QualysError {
  const codeText = sr.code !== undefined ? ` (code ${sr.code})` : '';
  const message = `${what}: HTTP ${status}${codeText}: ${sr.text ?? 'no message'}`;
  switch (sr.code) {
    case QualysCode.CONCURRENCY_LIMIT:
      return new QualysError('concurrency', message, { status, code: sr.code });
    case QualysCode.RATE_LIMIT: {
      const wait = Number(sr.items.SECONDS_TO_WAIT);
      return new QualysError('rate', message, {
        status,
        code: sr.code,
        secondsToWait: Number.isFinite(wait) ? wait : undefined,
      });
    }
    case QualysCode.ACCOUNT_EXPIRED:
    case QualysCode.REGISTRATION_INCOMPLETE:
    case QualysCode.SECURE_ID_REQUIRED:
      return new QualysError('fatal', message, { status, code: sr.code, configError: true });
  }
  if (status >= 500 || status === 0) return new QualysError('transient', message, { status });
  if (status === 409) return new QualysError('concurrency', message, { status, code: sr.code });
  return new QualysError('fatal', message, { status, code: sr.code, configError: true });
}
