/**
 * The operator audit trail: every action an operator takes on the engine (pause, resume, settle
 * uncertain mails, resume the sender, erase a person, manage users) is appended to `operator_log`
 * with who, when, what, the reason and the counts it affected. The engine functions that act
 * record it themselves, so the dashboard, the CLI and the library all leave the same entry.
 * Append-only (database triggers refuse updates and deletes); it names operators and customer ids,
 * never a customer's address, so it is kept when a person is erased.
 */
import { userInfo } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InputError } from '../errors.js';
import { OPERATOR, tooLong } from '../util/limits.js';

/** Who acts, and through which door. */
export interface Actor {
  /** A dashboard username, the OS user of a CLI call, or what a library caller names. */
  name: string;
  /** `engine` is the engine acting on its own (the deliverability guard, a broken template). */
  via: 'dashboard' | 'cli' | 'library' | 'engine';
}

/** What an action did: `done`, or why nothing was done (`already paused`). */
export type Outcome = 'done' | string;

/** One entry of the trail. */
export interface OperatorAction {
  id: number;
  at: number;
  actor: string;
  via: string;
  action: string;
  target: string;
  reason: string | null;
  outcome: Outcome;
  counts: Record<string, number>;
}

/** The actor of a library call that names none. */
export const LIBRARY_ACTOR: Actor = { name: 'library', via: 'library' };

/** The engine itself (the guard pausing a sequence): the actor when a function is given none. */
export const ENGINE_ACTOR: Actor = { name: 'engine', via: 'engine' };

/** The actor of a CLI command: the OS user running it (`COMEBACK_OPERATOR` overrides it). */
export function cliActor(): Actor {
  let name = process.env.COMEBACK_OPERATOR;
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = process.env.USER ?? 'unknown';
    }
  }
  return { name, via: 'cli' };
}

/** Throws InputError for a reason over `OPERATOR.reason` characters, before anything is changed. */
export function checkReason(reason: string | null | undefined): void {
  if (reason && reason.length > OPERATOR.reason) throw new InputError('reason', [tooLong(OPERATOR.reason)]);
}

/** Appends one entry; pass the transaction of the change it records when there is one. */
export async function recordOperatorAction(
  k: Kysely<Database>,
  entry: {
    at: number;
    by?: Actor;
    action: string;
    target: string;
    reason?: string | null;
    outcome?: Outcome;
    counts?: Record<string, number>;
  },
): Promise<void> {
  const by = entry.by ?? ENGINE_ACTOR;
  await k
    .insertInto('operator_log')
    .values({
      at: entry.at,
      actor: by.name,
      via: by.via,
      action: entry.action,
      target: entry.target,
      reason: entry.reason ?? null,
      outcome: entry.outcome ?? 'done',
      counts: JSON.stringify(entry.counts ?? {}),
    })
    .execute();
}

/** The latest entries, newest first; `before` pages back by id. */
export async function listOperatorActions(
  k: Kysely<Database>,
  options: { limit?: number; before?: number; actor?: string } = {},
): Promise<OperatorAction[]> {
  let q = k
    .selectFrom('operator_log')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(options.limit ?? 50);
  if (options.before !== undefined) q = q.where('id', '<', options.before);
  if (options.actor) q = q.where('actor', '=', options.actor);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    at: Number(r.at),
    actor: r.actor,
    via: r.via,
    action: r.action,
    target: r.target,
    reason: r.reason,
    outcome: r.outcome,
    counts: JSON.parse(r.counts) as Record<string, number>,
  }));
}
