/**
 * Who may use the studio: it writes files and sends mail, so every request carries the token
 * printed in the URL it opens (header `x-studio-token`, or `?token=` for the page itself), names
 * one of the studio's own host names in `Host` (against DNS rebinding), and every request that
 * changes something comes from the studio's own origin (against cross-site requests), also on
 * localhost.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Header the studio's page sends the token in. */
export const TOKEN_HEADER = 'x-studio-token';

/** A fresh random token (32 bytes, base64url). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function same(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}

/** The host names the studio answers to on a port: loopback names, plus the one it listens on. */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (host && host !== '0.0.0.0' && host !== '::')
    names.add(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
  return new Set([...names].map((n) => `${n}:${port}`));
}

/** Why a request is refused, or null when it may pass. */
export function refusal(request: FastifyRequest, token: string, hosts: ReadonlySet<string>): string | null {
  const host = request.headers.host ?? '';
  if (!hosts.has(host.toLowerCase())) return `unknown Host "${host}": open the studio by the address it printed`;
  const given = request.headers[TOKEN_HEADER] ?? (request.query as Record<string, unknown> | undefined)?.token;
  if (typeof given !== 'string' || !same(given, token))
    return 'missing or wrong studio token: open the address `comeback studio` printed';
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const origin = request.headers.origin;
    if (!origin || !hosts.has(origin.replace(/^http:\/\//, '').toLowerCase()) || !origin.startsWith('http://'))
      return `request from another origin (${origin ?? 'none given'}) refused`;
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return `cross-site request (${site}) refused`;
  }
  return null;
}

/** A fastify onRequest hook that answers 403 to every refused request before any route runs. */
export function guardHook(token: string, hosts: ReadonlySet<string>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const why = refusal(request, token, hosts);
    if (why)
      await reply
        .code(403)
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .send({ error: 'forbidden', message: why });
  };
}
