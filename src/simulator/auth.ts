/**
 * Credentials: HTTP Basic on the fo/msp and admin routes (doc §1), and the gateway token endpoint
 * `POST /auth` (doc §1 JWT: form body username/password/token=true, HTTP 201 with the raw token,
 * valid 4 hours; 401 otherwise). Tokens are HS256 JWTs with iat/exp in real time, since clients
 * compare them with their own clock. The fo APIs take Basic only (doc §1, S1).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TOKEN_LIFETIME_SEC = 4 * 3600;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function basicAuthorised(
  header: string | undefined,
  username: string,
  password: string,
): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return (
    colon >= 0 &&
    sameText(decoded.slice(0, colon), username) &&
    sameText(decoded.slice(colon + 1), password)
  );
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export function issueToken(username: string, secret: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({ sub: username, iss: 'qualys-sim', iat, exp: iat + TOKEN_LIFETIME_SEC }),
  );
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export function credentialsMatch(
  form: URLSearchParams,
  username: string,
  password: string,
): boolean {
  return (
    sameText(form.get('username') ?? '', username) && sameText(form.get('password') ?? '', password)
  );
}
