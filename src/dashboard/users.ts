/**
 * Dashboard users: a name, a role and a password hash in `operators` (migration 016), managed with
 * `comeback users add|remove|list`. Passwords are hashed with scrypt from node:crypto: memory-hard
 * (N=2^17, r=8, p=1 takes 128 MiB per hash, OWASP's recommended minimum), maintained with Node
 * itself, and no native dependency to build. At most two hashes run at once, so a burst of logins
 * cannot take more than 256 MiB. Failed logins count per user; `OPERATOR.loginAttempts` in a row
 * lock the user out for `OPERATOR.lockMinutes`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InputError } from '../errors.js';
import { recordOperatorAction, type Actor } from '../engine/operator-log.js';
import { OPERATOR, tooLong } from '../util/limits.js';

/** What a user may do: `viewer` reads, `operator` also acts, `admin` also sees the users. */
export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** True when `role` includes what `needed` may do. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** A user as listed (never with the hash). */
export interface DashboardUser {
  id: number;
  username: string;
  role: Role;
  lockedUntil: number | null;
  lastLoginAt: number | null;
  createdAt: number;
}

const COST = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;

let running = 0;
const waiting: (() => void)[] = [];

/** scrypt with at most two computations at once. */
async function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  if (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    const options: ScryptOptions = { ...o, maxmem: 256 * o.N * o.r + 1024 * 1024 };
    return await new Promise<Buffer>((resolve, reject) =>
      scrypt(password, salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
    );
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** `scrypt$N$r$p$salt$key`, salt and key in base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Throws InputError for a username or password outside the limits. */
export function checkCredentials(username: string, password: string): void {
  if (!/^[\w.@-]+$/.test(username)) throw new InputError('username', ['use letters, digits and . _ @ - only']);
  if (username.length > OPERATOR.username) throw new InputError('username', [tooLong(OPERATOR.username)]);
  if (password.length < OPERATOR.passwordMin)
    throw new InputError('password', [`shorter than ${OPERATOR.passwordMin} characters`]);
  if (password.length > OPERATOR.passwordMax) throw new InputError('password', [tooLong(OPERATOR.passwordMax)]);
}

function toUser(r: {
  id: number;
  username: string;
  role: string;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
}): DashboardUser {
  return {
    id: Number(r.id),
    username: r.username,
    role: r.role as Role,
    lockedUntil: r.locked_until === null ? null : Number(r.locked_until),
    lastLoginAt: r.last_login_at === null ? null : Number(r.last_login_at),
    createdAt: Number(r.created_at),
  };
}

/** Adds a user, or sets the role and password of an existing one (which also lifts a lock-out). */
export async function addUser(
  k: Kysely<Database>,
  input: { username: string; role: Role; password: string },
  now: number,
  by: Actor,
): Promise<'added' | 'updated'> {
  checkCredentials(input.username, input.password);
  if (!ROLES.includes(input.role))
    throw new InputError('role', [`expected one of ${ROLES.join(', ')}, got "${input.role}"`]);
  const password_hash = await hashPassword(input.password);
  const existing = await k
    .selectFrom('operators')
    .select('id')
    .where('username', '=', input.username)
    .executeTakeFirst();
  if (existing) {
    await k
      .updateTable('operators')
      .set({ role: input.role, password_hash, failed_logins: 0, locked_until: null, updated_at: now })
      .where('id', '=', existing.id)
      .execute();
  } else {
    await k
      .insertInto('operators')
      .values({ username: input.username, role: input.role, password_hash, created_at: now, updated_at: now })
      .execute();
  }
  await recordOperatorAction(k, {
    at: now,
    by,
    action: existing ? 'user.update' : 'user.add',
    target: input.username,
    reason: `role ${input.role}`,
  });
  return existing ? 'updated' : 'added';
}

/** Removes a user; their sessions end with the next request. False when there was none. */
export async function removeUser(k: Kysely<Database>, username: string, now: number, by: Actor): Promise<boolean> {
  const r = await k.deleteFrom('operators').where('username', '=', username).executeTakeFirst();
  const removed = Number(r.numDeletedRows) > 0;
  await recordOperatorAction(k, {
    at: now,
    by,
    action: 'user.remove',
    target: username,
    outcome: removed ? 'done' : 'no such user',
  });
  return removed;
}

/** All users, by name. */
export async function listUsers(k: Kysely<Database>): Promise<DashboardUser[]> {
  const rows = await k
    .selectFrom('operators')
    .select(['id', 'username', 'role', 'locked_until', 'last_login_at', 'created_at'])
    .orderBy('username')
    .execute();
  return rows.map(toUser);
}

/** True when at least one user exists (then the dashboard offers a login). */
export async function hasUsers(k: Kysely<Database>): Promise<boolean> {
  return Boolean(
    await k
      .selectFrom('operators')
      .select('id')
      .limit(1)
      .executeTakeFirst()
      .catch(() => undefined),
  );
}

/** A user by id with the hash's fingerprint a session is bound to (a new password ends old sessions). */
export async function sessionUser(
  k: Kysely<Database>,
  id: number,
): Promise<(DashboardUser & { hash: string }) | undefined> {
  const r = await k
    .selectFrom('operators')
    .select(['id', 'username', 'role', 'locked_until', 'last_login_at', 'created_at', 'password_hash'])
    .where('id', '=', id)
    .executeTakeFirst();
  return r ? { ...toUser(r), hash: r.password_hash } : undefined;
}

/** The result of a login attempt. */
export type LoginResult =
  { kind: 'ok'; user: DashboardUser & { hash: string } } | { kind: 'denied' } | { kind: 'locked'; until: number };

// Checked against for an unknown name, so the answer takes as long as for a known one.
let dummyHash: Promise<string> | undefined;

/** Checks a login; counts failures and locks the user out after `OPERATOR.loginAttempts` in a row. */
export async function login(
  k: Kysely<Database>,
  username: string,
  password: string,
  now: number,
): Promise<LoginResult> {
  if (username.length > OPERATOR.username || password.length > OPERATOR.passwordMax) return { kind: 'denied' };
  const r = await k.selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirst();
  if (!r) {
    await verifyPassword(password, await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
    return { kind: 'denied' };
  }
  if (r.locked_until !== null && Number(r.locked_until) > now) return { kind: 'locked', until: Number(r.locked_until) };
  if (await verifyPassword(password, r.password_hash)) {
    await k
      .updateTable('operators')
      .set({ failed_logins: 0, locked_until: null, last_login_at: now })
      .where('id', '=', r.id)
      .execute();
    return { kind: 'ok', user: { ...toUser(r), hash: r.password_hash } };
  }
  // Counted in the database with one atomic increment, so parallel attempts and every server
  // process see the same count (an expired lock-out starts the count again).
  const counted = await k
    .updateTable('operators')
    .set({
      failed_logins: sql<number>`case when locked_until is not null then 1 else failed_logins + 1 end`,
      locked_until: null,
    })
    .where('id', '=', r.id)
    .returning('failed_logins')
    .executeTakeFirst();
  const lock =
    Number(counted?.failed_logins ?? 0) >= OPERATOR.loginAttempts ? now + OPERATOR.lockMinutes * 60_000 : null;
  if (lock)
    await k.updateTable('operators').set({ failed_logins: 0, locked_until: lock }).where('id', '=', r.id).execute();
  if (lock)
    await recordOperatorAction(k, {
      at: now,
      by: { name: username, via: 'dashboard' },
      action: 'user.locked',
      target: username,
      reason: `${OPERATOR.loginAttempts} failed logins in a row`,
      counts: { minutes: OPERATOR.lockMinutes },
    });
  return lock ? { kind: 'locked', until: lock } : { kind: 'denied' };
}
