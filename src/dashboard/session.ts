/**
 * Who is looking at the dashboard. A logged-in user carries a session cookie signed by
 * @fastify/cookie (HMAC with a key derived from the engine secret) holding the user id, the
 * expiry and a fingerprint of the password hash: the user row is read on every request, so a
 * removed user, a changed role or a new password takes effect at once, and an expired or forged
 * cookie is simply no session. The dashboard token and basic auth stay read-only viewer
 * credentials. Actions also need a CSRF token (@fastify/csrf-protection, bound to the user) and a
 * request from the dashboard's own origin.
 */
import { createHash, createHmac } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { OPERATOR } from '../util/limits.js';
import { sessionUser, type Role } from './users.js';

/** The login session's cookie (path `/dashboard`). */
export const LOGIN_COOKIE = 'comeback_login';

/** Who a request comes from. */
export interface Viewer {
  /** The username, or `token` / the basic-auth name for the shared viewer credentials. */
  name: string;
  role: Role;
  /** True for a login session (only those may act; the shared credentials only read). */
  session: boolean;
}

/** The key the session and CSRF cookies are signed with, derived from the engine secret. */
export function cookieKey(secret: string): string {
  return createHmac('sha256', secret).update('comeback-dashboard-login').digest('base64url');
}

/** A short fingerprint of the password hash: a new password ends the sessions of the old one. */
function fingerprint(hash: string): string {
  return createHash('sha256').update(hash).digest('base64url').slice(0, 16);
}

/** The (unsigned) cookie value of a session: `id.expiresAt.fingerprint`. */
export function sessionValue(user: { id: number; hash: string }, expiresAt: number): string {
  return `${user.id}.${expiresAt}.${fingerprint(user.hash)}`;
}

/** Starts a login session: the signed cookie, HttpOnly, SameSite=Strict, for `OPERATOR.sessionHours`. */
export function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  user: { id: number; hash: string },
  path: string,
): void {
  const maxAge = OPERATOR.sessionHours * 3600;
  reply.setCookie(LOGIN_COOKIE, sessionValue(user, Date.now() + maxAge * 1000), {
    path,
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    signed: true,
    maxAge,
  });
}

/** Ends the session in this browser. */
export function endSession(reply: FastifyReply, path: string): void {
  reply.clearCookie(LOGIN_COOKIE, { path });
}

/** The logged-in user of a request, or undefined (no, forged, expired or outdated session). */
export async function sessionViewer(request: FastifyRequest, k: Kysely<Database>): Promise<Viewer | undefined> {
  const raw = request.cookies?.[LOGIN_COOKIE];
  if (!raw) return undefined;
  const { valid, value } = request.unsignCookie(raw);
  if (!valid || !value) return undefined;
  const [id, expires, print] = value.split('.');
  // Session lifetimes are wall-clock time, whatever clock the engine runs on.
  if (!id || !/^\d+$/.test(id) || !(Number(expires) > Date.now())) return undefined;
  const user = await sessionUser(k, Number(id)).catch(() => undefined);
  if (!user || fingerprint(user.hash) !== print) return undefined;
  return { name: user.username, role: user.role, session: true };
}

/**
 * True when a state-changing request comes from the dashboard's own origin: its `Origin` (or,
 * without one, `Referer`) names the host the request was sent to, or the configured public URL.
 * A request with neither is refused: browsers send `Origin` with every POST.
 */
export function sameOrigin(request: FastifyRequest, publicUrl?: string): boolean {
  const from = request.headers.origin ?? request.headers.referer;
  if (!from || Array.isArray(from)) return false;
  let origin: URL;
  try {
    origin = new URL(from);
  } catch {
    return false;
  }
  if (origin.host === request.headers.host) return true;
  if (!publicUrl) return false;
  try {
    return new URL(publicUrl).origin === origin.origin;
  } catch {
    return false;
  }
}
