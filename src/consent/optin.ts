import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { ConsentRequestsTable, Database } from '../db/schema.js';
import type { Selectable } from 'kysely';
import type { Transport } from '../delivery/types.js';
import type { TokenSigner } from '../tracking/tokens.js';
import { hashEmail, normalizeEmail } from '../util/email.js';
import { parseInput } from '../util/parse-input.js';
import { confirmationMail } from './confirmation.js';
import { appendConsents, consentStates } from './ledger.js';
import { liftSuppressions, suppressionsOf } from './suppressions.js';
import { DEFAULT_OPT_IN_TTL_HOURS, MAX_REQUESTS_PER_DAY } from '../config/defaults.js';
import { LIFTED_BY_CONFIRMED_OPT_IN } from './types.js';

/** How long a confirmation link stays valid unless configured otherwise: 72 hours. */
export const DEFAULT_OPT_IN_TTL_MS = DEFAULT_OPT_IN_TTL_HOURS * 3_600_000;
export { MAX_REQUESTS_PER_DAY };
/** Suppressions that block even the confirmation mail: the address bounced or complained. */
const BLOCKING = ['hard_bounce', 'complaint'];

/** A request for double opt-in, as a shop's form or API passes it. */
export const OptInRequest = z.strictObject({
  /** The address to confirm. Required unless `customer` is given (then the customer's address). */
  email: z.string().trim().pipe(z.email()).optional(),
  /** An existing customer (internal or external id) the consent is for. */
  customer: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
  /** Where the person asked: `newsletter_form`, `checkout`, `api`... */
  source: z.string().min(1),
  /** Version of the consent wording shown next to the form. */
  textVersion: z.string().min(1),
  locale: z.string().min(2).optional(),
  /** The requester's IP address and user agent: part of the evidence. */
  ip: z.string().optional(),
  userAgent: z.string().optional(),
});
export type OptInRequest = z.input<typeof OptInRequest>;

/** The outcome of a request. Only `sent` means a confirmation mail went out. */
export type OptInRequestResult =
  | { status: 'sent'; requestId: number; expiresAt: number }
  | { status: 'already_confirmed'; consentId: number }
  | { status: 'rate_limited' }
  | { status: 'blocked'; reason: string };

/** The outcome of a confirm click. */
export type ConfirmResult =
  | { status: 'confirmed'; consentId: number; customerId: number; liftedSuppressions: string[] }
  | { status: 'already_confirmed'; consentId: number; customerId: number }
  | { status: 'expired' }
  | { status: 'invalid' };

/** What the double opt-in flow needs from the engine. */
export interface OptInDeps {
  k: Kysely<Database>;
  transport: Transport;
  signer: TokenSigner;
  now: () => number;
  /** Base URL of `comeback serve`; the confirm link is `<publicUrl>/confirm/<token>`. */
  publicUrl: string;
  sender: { name: string; from: string; replyTo?: string; postalAddress: string };
  defaults: { locale: string; timeZone: string };
  ttlMs?: number;
  /** Confirmation mails per address and 24 hours (default `MAX_REQUESTS_PER_DAY`). */
  maxRequestsPerDay?: number;
}

/** The public confirm URL of a request. */
export function confirmUrl(deps: Pick<OptInDeps, 'publicUrl' | 'signer'>, requestId: number): string {
  return `${deps.publicUrl.replace(/\/+$/, '')}/confirm/${deps.signer.sign({ purpose: 'confirm', id: requestId })}`;
}

/** Marks pending requests past their time as expired and forgets their address. Returns how many. */
export async function expireOptInRequests(k: Kysely<Database>, now: number): Promise<number> {
  const r = await k
    .updateTable('consent_requests')
    .set({ status: 'expired', email: null })
    .where('status', '=', 'pending')
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Starts double opt-in: stores a pending request with its evidence (time, IP, user agent, wording
 * version) and sends the confirmation mail through the engine's transport. Nothing is granted
 * until the link is confirmed; unconfirmed requests expire and their address is cleared.
 */
export async function requestOptIn(deps: OptInDeps, input: OptInRequest): Promise<OptInRequestResult> {
  const req = parseInput(OptInRequest, input, 'opt-in request');
  const now = deps.now();
  await expireOptInRequests(deps.k, now);
  let customer:
    { id: number; email: string | null; locale: string; time_zone: string; erased_at: number | null } | undefined;
  if (req.customer !== undefined) {
    const q = deps.k.selectFrom('customers').select(['id', 'email', 'locale', 'time_zone', 'erased_at']);
    customer =
      typeof req.customer === 'number'
        ? await q.where('id', '=', req.customer).executeTakeFirst()
        : await q.where('external_id', '=', req.customer).executeTakeFirst();
    if (!customer || customer.erased_at !== null) return { status: 'blocked', reason: 'unknown_customer' };
  }
  const raw = req.email ?? customer?.email;
  if (!raw) return { status: 'blocked', reason: 'no_email' };
  const email = normalizeEmail(raw);
  const emailHash = hashEmail(email);
  if (customer?.email && hashEmail(customer.email) !== emailHash)
    return { status: 'blocked', reason: 'email_differs_from_customer' };
  const suppressions = await suppressionsOf(deps.k, emailHash);
  const blocking = suppressions.find((s) => s.scope === 'all' && BLOCKING.includes(s.reason));
  if (blocking) return { status: 'blocked', reason: blocking.reason };
  customer ??= await deps.k
    .selectFrom('customers')
    .select(['id', 'email', 'locale', 'time_zone', 'erased_at'])
    .where('email_hash', '=', emailHash)
    .where('erased_at', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
  if (customer && !suppressions.some((s) => s.scope === 'all')) {
    const state = (await consentStates(deps.k, [customer.id])).get(customer.id)!;
    const doi = state.active.find((a) => a.basis === 'double_opt_in');
    if (doi) return { status: 'already_confirmed', consentId: doi.consentId };
  }
  const recent = await deps.k
    .selectFrom('consent_requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('email_hash', '=', emailHash)
    .where('requested_at', '>', now - 24 * 3_600_000)
    .executeTakeFirstOrThrow();
  if (Number(recent.n) >= (deps.maxRequestsPerDay ?? MAX_REQUESTS_PER_DAY)) return { status: 'rate_limited' };
  const locale = req.locale ?? customer?.locale ?? deps.defaults.locale;
  const expiresAt = now + (deps.ttlMs ?? DEFAULT_OPT_IN_TTL_MS);
  const row = await deps.k
    .insertInto('consent_requests')
    .values({
      email,
      email_hash: emailHash,
      customer_id: customer?.id ?? null,
      status: 'pending',
      source: req.source,
      text_version: req.textVersion,
      locale,
      evidence: JSON.stringify({ requestIp: req.ip ?? null, requestUserAgent: req.userAgent ?? null }),
      requested_at: now,
      expires_at: expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const mail = confirmationMail({
    requestId: -row.id,
    to: email,
    locale,
    confirmUrl: confirmUrl(deps, row.id),
    expiresAt,
    timeZone: customer?.time_zone ?? deps.defaults.timeZone,
    sender: deps.sender,
    now,
  });
  try {
    await deps.transport.send(mail);
  } catch (err) {
    // No mail, no request: the address is not kept for a confirmation that can never come.
    await deps.k
      .updateTable('consent_requests')
      .set({ status: 'expired', email: null, expires_at: now })
      .where('id', '=', row.id)
      .execute();
    throw err;
  }
  return { status: 'sent', requestId: row.id, expiresAt };
}

/** The request a confirm token stands for, or undefined for a forged, altered or unknown token. */
export async function requestForToken(
  deps: Pick<OptInDeps, 'k' | 'signer'>,
  token: string,
): Promise<Selectable<ConsentRequestsTable> | undefined> {
  const p = deps.signer.verify(token, 'confirm');
  if (!p) return undefined;
  return deps.k.selectFrom('consent_requests').selectAll().where('id', '=', p.id).executeTakeFirst();
}

/**
 * Confirms a request from its link: records the double opt-in grant with the full evidence
 * (request time, IP and user agent; confirmation time, IP and user agent; the token), creates the
 * customer when the address was not known yet, and lifts earlier unsubscribe/objection/erasure
 * suppressions of the address (the person asked for mail again, with proof). Idempotent.
 */
export async function confirmOptIn(
  deps: OptInDeps,
  token: string,
  proof: { ip?: string; userAgent?: string } = {},
): Promise<ConfirmResult> {
  const now = deps.now();
  const row = await requestForToken(deps, token);
  if (!row) return { status: 'invalid' };
  if (row.status === 'confirmed')
    return { status: 'already_confirmed', consentId: row.consent_id!, customerId: row.customer_id! };
  if (row.status !== 'pending' || row.expires_at <= now || !row.email) {
    await deps.k
      .updateTable('consent_requests')
      .set({ status: 'expired', email: null })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .execute();
    return { status: 'expired' };
  }
  const email = row.email;
  return deps.k.transaction().execute(async (trx) => {
    // Claim the request first, so two concurrent clicks record one grant.
    const claimed = await trx
      .updateTable('consent_requests')
      .set({ status: 'confirmed', confirmed_at: now, email: null })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return { status: 'expired' } as const;
    let customerId = row.customer_id;
    if (customerId !== null) {
      const c = await trx
        .selectFrom('customers')
        .select(['email_hash', 'erased_at'])
        .where('id', '=', customerId)
        .executeTakeFirst();
      if (!c || c.erased_at !== null || c.email_hash !== row.email_hash) customerId = null;
    }
    customerId ??=
      (
        await trx
          .selectFrom('customers')
          .select('id')
          .where('email_hash', '=', row.email_hash)
          .where('erased_at', 'is', null)
          .orderBy('id')
          .executeTakeFirst()
      )?.id ??
      (
        await trx
          .insertInto('customers')
          .values({
            external_id: `optin-${row.id}`,
            email,
            email_hash: row.email_hash,
            locale: row.locale,
            time_zone: deps.defaults.timeZone,
            acquired_via: 'newsletter',
            created_at: now,
            updated_at: now,
            erased_at: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    const lifted = await liftSuppressions(trx, row.email_hash, LIFTED_BY_CONFIRMED_OPT_IN);
    const requested = JSON.parse(row.evidence) as Record<string, unknown>;
    const [consentId] = await appendConsents(trx, [
      {
        customerId,
        action: 'grant',
        basis: 'double_opt_in',
        source: row.source,
        textVersion: row.text_version,
        recordedAt: now,
        evidence: {
          requestId: row.id,
          requestedAt: row.requested_at,
          ...requested,
          confirmedAt: now,
          confirmIp: proof.ip ?? null,
          confirmUserAgent: proof.userAgent ?? null,
          confirmationToken: token,
          ...(lifted.length ? { liftedSuppressions: lifted } : {}),
        },
      },
    ]);
    await trx
      .updateTable('consent_requests')
      .set({ customer_id: customerId, consent_id: consentId! })
      .where('id', '=', row.id)
      .execute();
    return {
      status: 'confirmed',
      consentId: consentId!,
      customerId,
      liftedSuppressions: lifted.map((l) => l.reason),
    } as const;
  });
}
