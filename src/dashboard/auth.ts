import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DashboardConfig } from '../config/schema.js';
import { esc } from '../server/pages.js';

/** The cookie a browser gets after `/dashboard?token=…`, so the token leaves the address bar. */
export const SESSION_COOKIE = 'comeback_dashboard';

/** How a request to the dashboard was judged. */
export type AuthVerdict =
  /** No token and no basic-auth credentials are configured: the dashboard is off. */
  | { kind: 'unconfigured' }
  | { kind: 'denied' }
  /** Allowed; `viaQuery` means the token came in the URL (the page redirects it away). */
  | { kind: 'ok'; viaQuery: boolean };

/** Compares secrets in constant time (hashing first makes the lengths equal). */
function same(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}

/** The session cookie value: derived from the token, so the cookie never holds the token itself. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('comeback-dashboard-session').digest('base64url');
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The basic-auth username a request carries, if any (shown as who is looking; checked by `checkAuth`). */
export function basicUser(request: FastifyRequest): string | undefined {
  const [scheme, value = ''] = (request.headers.authorization ?? '').split(/\s+/, 2);
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : undefined;
}

/** True when the configuration allows anyone in at all. */
export function isConfigured(cfg: Pick<DashboardConfig, 'token' | 'basicAuth'>): boolean {
  return Boolean(cfg.token || cfg.basicAuth);
}

/**
 * Checks a request against the configured credentials: `Authorization: Bearer TOKEN`,
 * `Authorization: Basic …`, the session cookie, or `?token=TOKEN`.
 */
export function checkAuth(request: FastifyRequest, cfg: Pick<DashboardConfig, 'token' | 'basicAuth'>): AuthVerdict {
  if (!isConfigured(cfg)) return { kind: 'unconfigured' };
  const header = request.headers.authorization ?? '';
  const [scheme, value = ''] = header.split(/\s+/, 2);
  if (cfg.token) {
    if (scheme?.toLowerCase() === 'bearer' && same(value, cfg.token)) return { kind: 'ok', viaQuery: false };
    const c = cookie(request, SESSION_COOKIE);
    if (c && same(c, sessionValue(cfg.token))) return { kind: 'ok', viaQuery: false };
    const q = (request.query as Record<string, unknown> | undefined)?.token;
    if (typeof q === 'string' && same(q, cfg.token)) return { kind: 'ok', viaQuery: true };
  }
  if (cfg.basicAuth && scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    // Both parts are compared, always, so the timing does not tell which one was wrong.
    const userOk = same(decoded.slice(0, Math.max(i, 0)), cfg.basicAuth.username);
    const passOk = same(decoded.slice(i + 1), cfg.basicAuth.password);
    if (i >= 0 && userOk && passOk) return { kind: 'ok', viaQuery: false };
  }
  return { kind: 'denied' };
}

/** The message shown when the dashboard has no credentials configured. */
export const UNCONFIGURED_MESSAGE =
  'The dashboard is turned off because no credentials are configured. Set `dashboard.token` (at least 16 characters) ' +
  'or `dashboard.basicAuth` (username and password) in the config file, or COMEBACK_DASHBOARD_TOKEN; or add a user with `comeback users add`.';

/**
 * Answers a request that was not let in: 403 with the fix when nothing is configured, else 401
 * with a challenge (basic auth makes browsers ask for a login). Never any report data.
 */
export function refuse(
  reply: FastifyReply,
  verdict: AuthVerdict,
  cfg: Pick<DashboardConfig, 'basicAuth'>,
  json: boolean,
): FastifyReply {
  const unconfigured = verdict.kind === 'unconfigured';
  const message = unconfigured
    ? UNCONFIGURED_MESSAGE
    : 'Authentication required: a dashboard token or the dashboard login.';
  reply.code(unconfigured ? 403 : 401).header('cache-control', 'no-store');
  if (!unconfigured)
    reply.header(
      'www-authenticate',
      cfg.basicAuth ? 'Basic realm="Comeback dashboard", charset="UTF-8"' : 'Bearer realm="Comeback dashboard"',
    );
  if (json)
    return reply
      .type('application/json; charset=utf-8')
      .send({ error: unconfigured ? 'dashboard_not_configured' : 'unauthorized', message });
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Comeback dashboard</title></head>` +
        `<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto"><h1>Comeback dashboard</h1><p>${esc(message)}</p></body></html>`,
    );
}
