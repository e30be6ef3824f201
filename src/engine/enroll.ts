import type { Insertable, Kysely } from 'kysely';
import type { Database, EnrollmentsTable } from '../db/schema.js';
import { preferencesOf } from '../consent/preference-store.js';
import { consentStates } from '../consent/ledger.js';
import { canSend } from '../consent/policy.js';
import { suppressedHashes } from '../consent/suppressions.js';
import type { DenyReason } from '../consent/types.js';
import { DAY } from '../clock.js';
import { InputError, NotFoundError, ValidationError } from '../errors.js';
import { firstDueAt } from '../sequences/machine.js';
import { drawCohort, firstIndex } from '../sequences/paths.js';
import { parseDuration } from '../sequences/duration.js';
import type { Sequence } from '../sequences/schema.js';
import { findCustomer } from '../shop/customers.js';
import { unitDraw } from '../util/hash.js';
import { BYTES, jsonBytes, tooLarge } from '../util/limits.js';
import { emitEvents, withOutbox } from '../webhooks/emit.js';
import { dormantCandidates } from './audience.js';
import { inControlGroup } from './control-group.js';
import type { EngineContext } from './context.js';

/** Outcome of an audience run: who entered, and why the others did not. */
export interface EnrollResult {
  sequenceId: string;
  considered: number;
  enrolled: number;
  holdout: number;
  /** Of `holdout`: members of the global control group (never mailed by any sequence). */
  control?: number;
  /** `same_address`: another customer record with this email address is (or is being) enrolled. */
  skipped: Partial<Record<DenyReason | 'already_enrolled' | 'same_address' | 'paused' | 'topic_opt_out', number>>;
}

/** How long a holdout enrolment stays open to collect conversions: the goal window, else 30 days. */
function holdoutWindow(seq: Sequence): number {
  return seq.goal?.purchase ? parseDuration(seq.goal.purchase.within) : 30 * DAY;
}

/** Customers looked up and enrolled per statement: keeps every statement below the dialects' parameter limits. */
const ENROLL_SLICE = 1000;

/**
 * Enrols the given customers into a sequence when the consent policy allows it. Holdout
 * membership is a deterministic draw per (customer, sequence, version), so it is reproducible.
 * Any number of customers: they are enrolled in slices of a thousand.
 */
export async function enrollCustomers(
  ctx: EngineContext,
  seq: Sequence,
  customerIds: number[],
  result: EnrollResult,
  triggerData: Record<string, unknown> = {},
): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < customerIds.length; i += ENROLL_SLICE) {
    ids.push(...(await enrollSlice(ctx, seq, customerIds.slice(i, i + ENROLL_SLICE), result, triggerData)));
  }
  return ids;
}

async function enrollSlice(
  ctx: EngineContext,
  seq: Sequence,
  customerIds: number[],
  result: EnrollResult,
  triggerData: Record<string, unknown>,
): Promise<number[]> {
  const now = ctx.clock.now();
  const customers = await ctx.k.selectFrom('customers').selectAll().where('id', 'in', customerIds).execute();
  const states = await consentStates(ctx.k, customerIds);
  const prefs = seq.topic ? await preferencesOf(ctx.k, customerIds) : undefined;
  const hashes = customers.flatMap((c) => (c.email_hash ? [c.email_hash] : []));
  const suppressed = await suppressedHashes(ctx.k, hashes, seq.id);
  // Shops keep duplicate accounts (a guest order and a login with one address): one address gets
  // a sequence once, or its owner would receive every mail twice.
  const taken = await addressesEnrolled(ctx.k, seq.id, hashes);
  const rows: Insertable<EnrollmentsTable>[] = [];
  // A path experiment's shares for this epoch: the written ones, or the optimiser's (adaptive).
  const allocation = await ctx.cohortShares.at(seq, now, ctx.config.guard.minExplorationShare);
  customers.sort((a, b) => a.id - b.id);
  for (const c of customers) {
    result.considered++;
    const holder = c.email_hash ? taken.get(c.email_hash) : undefined;
    if (holder !== undefined && holder !== c.id) {
      result.skipped.same_address = (result.skipped.same_address ?? 0) + 1;
      continue;
    }
    const decision = canSend(c, states.get(c.id)!, c.email_hash !== null && suppressed.has(c.email_hash), {
      consent: seq.consent,
      ownSimilarGoods: seq.own_similar_goods,
    });
    if (!decision.allowed) {
      result.skipped[decision.reason] = (result.skipped[decision.reason] ?? 0) + 1;
      continue;
    }
    // A topic the customer left on the preference page: not enrolled (a snooze only defers, later).
    if (prefs && seq.topic && prefs.get(c.id)?.topicsOut.includes(seq.topic)) {
      result.skipped.topic_opt_out = (result.skipped.topic_opt_out ?? 0) + 1;
      continue;
    }
    if (c.email_hash) taken.set(c.email_hash, c.id);
    // The global control group is held out of every sequence (after consent: who may not be
    // mailed is on neither side of the programme's comparison).
    const control = inControlGroup(c, ctx.config.controlGroup);
    const holdout = control || unitDraw(`holdout|${seq.id}|${seq.version}|${c.id}`) < seq.holdout;
    // A path experiment's cohort is drawn for everyone at entry (intention to treat).
    const cohort = allocation ? drawCohort(seq, c.id, allocation.cohorts) : null;
    rows.push({
      customer_id: c.id,
      sequence_id: seq.id,
      sequence_version: seq.version,
      status: 'active',
      holdout: holdout ? 1 : 0,
      current_step: firstIndex(seq, cohort),
      next_due_at: holdout ? now + holdoutWindow(seq) : firstDueAt(seq, now, cohort),
      enrolled_at: now,
      trigger_data: JSON.stringify(triggerData),
      consent_id: decision.consentId,
      legal_basis: decision.basis,
      address_hash: c.email_hash,
      control: control ? 1 : 0,
      cohort,
      // Drawn with the optimiser's shares: its epoch is a stratum of the report. Drawn with the
      // written shares (fixed, or still warming up): all such enrolments form one stratum.
      cohort_epoch: allocation?.state === 'adaptive' ? allocation.epoch : null,
      cohort_share: allocation?.cohorts.find((x) => x.id === cohort)?.share ?? null,
    });
  }
  if (rows.length === 0) return [];
  // Two partial unique indexes refuse a second active enrolment of the customer and of the address
  // (another enrolment path may have enrolled either since the checks above); neither is an error.
  const inserted = await withOutbox(ctx.k, ctx.config, async (trx) => {
    const got = await trx
      .insertInto('enrollments')
      .values(rows)
      .onConflict((oc) => oc.doNothing())
      .returning(['id', 'holdout', 'customer_id', 'control'])
      .execute();
    await emitEvents(
      trx,
      ctx.config,
      got.map((r) => ({
        type: 'enrollment.created',
        customerId: r.customer_id,
        enrollmentId: r.id,
        sequenceId: seq.id,
        occurredAt: now,
      })),
    );
    return got;
  });
  result.enrolled += inserted.length;
  result.holdout += inserted.filter((r) => r.holdout === 1).length;
  const control = inserted.filter((r) => r.control === 1).length;
  if (control > 0) result.control = (result.control ?? 0) + control;
  if (inserted.length < rows.length) {
    const got = new Set(inserted.map((r) => r.customer_id));
    const lost = rows.filter((r) => !got.has(r.customer_id)).map((r) => r.customer_id);
    const own = await ctx.k
      .selectFrom('enrollments')
      .select('customer_id')
      .where('sequence_id', '=', seq.id)
      .where('status', '=', 'active')
      .where('customer_id', 'in', lost)
      .execute();
    const already = new Set(own.map((r) => r.customer_id)).size;
    if (already > 0) result.skipped.already_enrolled = (result.skipped.already_enrolled ?? 0) + already;
    if (lost.length > already) result.skipped.same_address = (result.skipped.same_address ?? 0) + lost.length - already;
  }
  return inserted.map((r) => r.id);
}

/** Of these address hashes, those with an active enrolment in the sequence, and whose it is. */
export async function addressesEnrolled(
  db: Kysely<Database>,
  sequenceId: string,
  hashes: string[],
): Promise<Map<string, number>> {
  if (hashes.length === 0) return new Map();
  const rows = await db
    .selectFrom('enrollments as e')
    .innerJoin('customers as c', 'c.id', 'e.customer_id')
    .select(['c.email_hash', 'c.id'])
    .where('e.sequence_id', '=', sequenceId)
    .where('e.status', '=', 'active')
    .where('c.email_hash', 'in', [...new Set(hashes)])
    .execute();
  return new Map(rows.map((r) => [r.email_hash!, r.id]));
}

/** Evaluates a sequence's audience and enrols everyone who qualifies, page by page. */
export async function enrollAudience(ctx: EngineContext, sequenceId: string): Promise<EnrollResult> {
  const seq = ctx.sequences.get(sequenceId);
  const result: EnrollResult = { sequenceId, considered: 0, enrolled: 0, holdout: 0, skipped: {} };
  if (seq.audience.trigger) {
    throw new ValidationError([
      {
        file: sequenceId,
        line: 1,
        column: 1,
        path: 'audience.trigger',
        message: `sequence "${sequenceId}" is started by engine.trigger(), not by audience evaluation`,
      },
    ]);
  }
  if ((await ctx.sequences.status(sequenceId)).status === 'paused') {
    result.skipped.paused = 1;
    return result;
  }
  for await (const page of dormantCandidates(
    ctx.k,
    seq.id,
    seq.audience,
    ctx.clock.now(),
    ctx.config.worker.batchSize,
  )) {
    await enrollCustomers(
      ctx,
      seq,
      page.map((p) => p.customer_id),
      result,
    );
  }
  return result;
}

/**
 * Starts a trigger-based sequence for one customer (e.g. on subscription cancellation).
 * Returns the enrolment id, or null with the reason when policy or an active enrolment prevents it.
 */
export async function trigger(
  ctx: EngineContext,
  sequenceId: string,
  customerRef: number | string,
  data: Record<string, unknown> = {},
): Promise<{ enrollmentId: number | null; reason?: string }> {
  const size = jsonBytes(data);
  if (size > BYTES.json) throw new InputError('trigger', [`data: ${tooLarge(size, BYTES.json)}`]);
  const seq = ctx.sequences.get(sequenceId);
  const customer = await findCustomer(ctx.k, customerRef);
  if (!customer)
    throw new NotFoundError(
      'customer',
      String(customerRef),
      'Record the customer with engine.customers.upsert() first.',
    );
  if ((await ctx.sequences.status(sequenceId)).status === 'paused') return { enrollmentId: null, reason: 'paused' };
  const result: EnrollResult = { sequenceId, considered: 0, enrolled: 0, holdout: 0, skipped: {} };
  const [id] = await enrollCustomers(ctx, seq, [customer.id], result, data);
  return id !== undefined ? { enrollmentId: id } : { enrollmentId: null, reason: Object.keys(result.skipped)[0] };
}
