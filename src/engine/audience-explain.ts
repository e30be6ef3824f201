/**
 * `comeback audience --explain`: the audience rules applied one at a time over every customer,
 * with how many each removes and a sample of whom, then consent and earlier enrolments. The
 * same rules and queries as enrolment (audience.ts), counted instead of enrolled.
 */
import type { Kysely } from 'kysely';
import { consentStates } from '../consent/ledger.js';
import { canSend } from '../consent/policy.js';
import { suppressedHashes } from '../consent/suppressions.js';
import type { Database } from '../db/schema.js';
import { audienceRules, needsScores, type Candidate } from '../sequences/audience-rules.js';
import { checkExpression } from '../sequences/expressions.js';
import type { Sequence } from '../sequences/schema.js';
import { candidatePage, notEnrolledSince, scoreColumns, type AudienceQueryOptions } from './audience.js';

/** One line of `comeback audience --explain`: how many remain after a rule, and who it removed. */
export interface ExplainStep {
  key: string;
  label: string;
  remaining: number;
  excluded: number;
  samples: { customer: string; reason: string }[];
}

/** How an audience narrows the customer base, rule by rule. */
export interface AudienceExplanation {
  sequenceId: string;
  at: number;
  steps: ExplainStep[];
  /** Things the marketer should know (missing scores, trigger-based sequence). */
  notes: string[];
}

/**
 * Applies the audience rules one by one over every customer (streamed in pages) and counts who
 * each rule removes, with a sample of the removed and why; then consent and earlier enrolments.
 */
export async function explainAudience(
  db: Kysely<Database>,
  sequence: Sequence,
  now: number,
  options: AudienceQueryOptions & { pageSize?: number; sample?: number } = {},
): Promise<AudienceExplanation> {
  const sample = options.sample ?? 5;
  const audience = sequence.audience;
  const notes: string[] = [];
  const total = await db
    .selectFrom('customers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('erased_at', 'is', null)
    .executeTakeFirstOrThrow();
  const step = (key: string, label: string): ExplainStep => ({ key, label, remaining: 0, excluded: 0, samples: [] });
  const steps: ExplainStep[] = [{ ...step('customers', 'customers (not erased)'), remaining: Number(total.n) }];
  if (audience.trigger)
    notes.push(
      `started by the trigger "${audience.trigger}" (engine.trigger); below: who would be mailed if triggered`,
    );
  const scores = await scoreColumns(db);
  const names = audience.where ? checkExpression(audience.where, 'audience').names : new Set<string>();
  if (needsScores(audience, names) && !scores)
    notes.push(
      'no purchase-model scores yet (table customer_scores): run `comeback score`; the model rules exclude everyone until then',
    );
  const rules = audience.trigger ? [] : audienceRules(audience, now);
  const ordered = step('orders', 'with at least one order');
  const ruleSteps = rules.map((r) => step(r.key, r.label));
  const consent = step('consent', `consent: ${sequence.consent.join(' or ')}`);
  const fresh = step('not_enrolled', 'not enrolled since their last order');
  const remove = (s: ExplainStep, customer: string, reason: string) => {
    s.excluded++;
    if (s.samples.length < sample) s.samples.push({ customer, reason });
  };
  let afterId = 0;
  for (;;) {
    const page = await candidatePage(db, audience, now, afterId, options.pageSize ?? 1000, {
      ...options,
      prefilter: false,
      scores,
    });
    if (page.rows === 0) break;
    afterId = page.lastId;
    let alive = page.candidates;
    ordered.remaining += alive.length;
    rules.forEach((rule, i) => {
      alive = alive.filter((c) => {
        const r = rule.test(c);
        if (r !== true) remove(ruleSteps[i]!, c.external_id, r);
        return r === true;
      });
      ruleSteps[i]!.remaining += alive.length;
    });
    alive = await consentFilter(db, sequence, alive, (c, reason) => remove(consent, c.external_id, reason));
    consent.remaining += alive.length;
    const kept = new Set((await notEnrolledSince(db, sequence.id, alive)).map((c) => c.customer_id));
    for (const c of alive)
      if (!kept.has(c.customer_id)) remove(fresh, c.external_id, 'enrolled after their last order');
    fresh.remaining += kept.size;
  }
  ordered.excluded = steps[0]!.remaining - ordered.remaining;
  steps.push(ordered, ...ruleSteps, consent, fresh);
  if (sequence.holdout > 0)
    notes.push(`${Math.round(sequence.holdout * 100)}% of those entering are drawn into the holdout and never mailed`);
  return { sequenceId: sequence.id, at: now, steps, notes };
}

async function consentFilter(
  db: Kysely<Database>,
  seq: Sequence,
  candidates: Candidate[],
  excluded: (c: Candidate, reason: string) => void,
): Promise<Candidate[]> {
  if (candidates.length === 0) return [];
  const ids = candidates.map((c) => c.customer_id);
  const customers = new Map(
    (await db.selectFrom('customers').selectAll().where('id', 'in', ids).execute()).map((c) => [c.id, c]),
  );
  const states = await consentStates(db, ids);
  const hashes = [...customers.values()].flatMap((c) => (c.email_hash ? [c.email_hash] : []));
  const suppressed = await suppressedHashes(db, hashes, seq.id);
  return candidates.filter((c) => {
    const row = customers.get(c.customer_id)!;
    const d = canSend(row, states.get(c.customer_id)!, row.email_hash !== null && suppressed.has(row.email_hash), {
      consent: seq.consent,
      ownSimilarGoods: seq.own_similar_goods,
    });
    if (!d.allowed) excluded(c, d.detail ? `${d.reason} (${d.detail})` : d.reason);
    return d.allowed;
  });
}
