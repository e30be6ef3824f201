/**
 * The report's aggregate queries. Each returns rows at the finest grain the report needs
 * (sequence, version, step, variant, churn reason); coarser levels are sums of them, which is
 * exact because every message and enrolment falls in exactly one row. Plain SQL that SQLite and
 * PostgreSQL both run; sums come back as strings from PostgreSQL, hence `num`.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';

/** A number from a driver value (PostgreSQL returns bigint sums as strings). */
export const num = (v: unknown): number => Number(v ?? 0);

/** Filters shared by the queries. */
export interface QueryFilter {
  sequence?: string;
  /** Only enrolments with enrolled_at ≥ since. */
  since?: number;
}

function where(f: QueryFilter, alias: string): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`1 = 1`];
  if (f.sequence !== undefined) parts.push(sql`${sql.ref(`${alias}.sequence_id`)} = ${f.sequence}`);
  if (f.since !== undefined) parts.push(sql`${sql.ref(`${alias}.enrolled_at`)} >= ${f.since}`);
  return sql.join(parts, sql` and `);
}

/** The grouping of the per-step funnel rows: (sequence, version, step, variant, churn reason). */
export interface StepGroup {
  sequence_id: string;
  version: number;
  step_id: string;
  variant_id: string | null;
  churn_reason: string;
}

/** Message counts of sent, mailed messages per step group. */
export interface MessageRow extends StepGroup {
  sent: number;
  delivered: number;
  bounced: number;
  human_opens: number;
  machine_opens: number;
  human_clicks: number;
  bot_clicks: number;
  unsubscribes: number;
  complaints: number;
}

/**
 * One row per group of sent messages with per-message flags summed: a message counts once per
 * kind however many events it has; "machine opens" are messages opened only by machines.
 * "Sent" means handed to the provider: accepted, or refused at once with a hard bounce (such a
 * message ends `failed` with a bounce event, and the bounce rate must see it).
 */
export async function messageCounts(k: Kysely<Database>, f: QueryFilter): Promise<MessageRow[]> {
  // Events are folded to one row of flags per message first (an index-ordered scan), so the
  // outer query groups messages, not messages × events.
  const r = await sql<MessageRow>`
    select m.sequence_id, en.sequence_version as version, m.step_id, m.variant_id, coalesce(cu.churn_reason, 'unknown') as churn_reason,
      count(*) as sent, sum(coalesce(fl.delivered, 0)) as delivered, sum(coalesce(fl.bounced, 0)) as bounced,
      sum(coalesce(fl.hopen, 0)) as human_opens, sum(case when fl.mopen = 1 and fl.hopen = 0 then 1 else 0 end) as machine_opens,
      sum(coalesce(fl.hclick, 0)) as human_clicks, sum(case when fl.bclick = 1 and fl.hclick = 0 then 1 else 0 end) as bot_clicks,
      sum(coalesce(fl.unsub, 0)) as unsubscribes, sum(coalesce(fl.complaint, 0)) as complaints
    from messages m
    join enrollments en on en.id = m.enrollment_id
    join customers cu on cu.id = m.customer_id
    left join (
      select message_id,
        max(case when type = 'delivered' then 1 else 0 end) as delivered,
        max(case when type = 'bounce' then 1 else 0 end) as bounced,
        max(case when type = 'open' and machine = 0 then 1 else 0 end) as hopen,
        max(case when type = 'open' and machine = 1 then 1 else 0 end) as mopen,
        max(case when type = 'click' and machine = 0 then 1 else 0 end) as hclick,
        max(case when type = 'click' and machine = 1 then 1 else 0 end) as bclick,
        max(case when type = 'unsubscribe' then 1 else 0 end) as unsub,
        max(case when type = 'complaint' then 1 else 0 end) as complaint
      from events where message_id is not null group by message_id
    ) fl on fl.message_id = m.id
    where (m.status = 'sent' or (m.status = 'failed' and fl.bounced = 1)) and en.holdout = 0 and ${where(f, 'en')}
    group by m.sequence_id, en.sequence_version, m.step_id, m.variant_id, cu.churn_reason`.execute(k);
  return r.rows.map((row) =>
    numeric(row, [
      'version',
      'sent',
      'delivered',
      'bounced',
      'human_opens',
      'machine_opens',
      'human_clicks',
      'bot_clicks',
      'unsubscribes',
      'complaints',
    ]),
  );
}

/** Enrolments and their conversions per (sequence, version, churn reason, holdout). */
export interface EnrollmentRow {
  sequence_id: string;
  version: number;
  churn_reason: string;
  holdout: number;
  enrolled: number;
  active: number;
  conversions: number;
  revenue: number;
  discount: number;
  /** Sum over enrolments of (revenue of the enrolment)², for the revenue variance. */
  revenue_sq: number;
  /** Enrolments whose revenue is positive, and the sums of ln(revenue) and ln(revenue)² over them (two-part revenue model). */
  buyers: number;
  revenue_log: number;
  revenue_log_sq: number;
}

/** Enrolment counts with per-enrolment conversion sums (an enrolment converts at most once, but sums are safe either way). */
export async function enrollmentCounts(k: Kysely<Database>, f: QueryFilter): Promise<EnrollmentRow[]> {
  const r = await sql<EnrollmentRow>`
    select en.sequence_id, en.sequence_version as version, coalesce(cu.churn_reason, 'unknown') as churn_reason, en.holdout,
      count(*) as enrolled,
      sum(case when en.status = 'active' then 1 else 0 end) as active,
      sum(case when c.enrollment_id is null then 0 else 1 end) as conversions,
      sum(coalesce(c.revenue, 0)) as revenue,
      sum(coalesce(c.discount, 0)) as discount,
      sum(coalesce(c.revenue, 0) * coalesce(c.revenue, 0)) as revenue_sq,
      sum(case when c.revenue > 0 then 1 else 0 end) as buyers,
      sum(case when c.revenue > 0 then ln(cast(c.revenue as double precision)) else 0 end) as revenue_log,
      sum(case when c.revenue > 0 then ln(cast(c.revenue as double precision)) * ln(cast(c.revenue as double precision)) else 0 end) as revenue_log_sq
    from enrollments en
    join customers cu on cu.id = en.customer_id
    left join (
      select enrollment_id, sum(revenue_minor) as revenue, sum(discount_minor) as discount
      from conversions group by enrollment_id
    ) c on c.enrollment_id = en.id
    where ${where(f, 'en')}
    group by en.sequence_id, en.sequence_version, cu.churn_reason, en.holdout`.execute(k);
  return r.rows.map((row) =>
    numeric(row, [
      'version',
      'holdout',
      'enrolled',
      'active',
      'conversions',
      'revenue',
      'discount',
      'revenue_sq',
      'buyers',
      'revenue_log',
      'revenue_log_sq',
    ]),
  );
}

/** Conversions after a step's send, per (sequence, version, step, variant, churn reason). */
export interface StepConversionRow extends StepGroup {
  conversions: number;
  revenue: number;
  discount: number;
}

/** Mailed enrolments that converted after being sent a step (variant): the step's conversions. */
export async function stepConversions(k: Kysely<Database>, f: QueryFilter): Promise<StepConversionRow[]> {
  const r = await sql<StepConversionRow>`
    select m.sequence_id, en.sequence_version as version, m.step_id, m.variant_id, coalesce(cu.churn_reason, 'unknown') as churn_reason,
      count(distinct c.enrollment_id) as conversions, sum(c.revenue_minor) as revenue, sum(c.discount_minor) as discount
    from messages m
    join enrollments en on en.id = m.enrollment_id
    join customers cu on cu.id = m.customer_id
    join conversions c on c.enrollment_id = m.enrollment_id and c.converted_at >= m.sent_at
    where m.status = 'sent' and en.holdout = 0 and ${where(f, 'en')}
    group by m.sequence_id, en.sequence_version, m.step_id, m.variant_id, cu.churn_reason`.execute(k);
  return r.rows.map((row) => numeric(row, ['version', 'conversions', 'revenue', 'discount']));
}

/** Conversions credited by the last human click, per (sequence, step, variant). */
export interface CreditedRow {
  sequence_id: string;
  step_id: string | null;
  variant_id: string | null;
  conversions: number;
}

/** Conversions of mailed enrolments grouped by the step and variant they credit. */
export async function creditedConversions(k: Kysely<Database>, f: QueryFilter): Promise<CreditedRow[]> {
  const r = await sql<CreditedRow>`
    select c.sequence_id, c.step_id, c.variant_id, count(*) as conversions
    from conversions c join enrollments en on en.id = c.enrollment_id
    where c.holdout = 0 and ${where(f, 'en')}
    group by c.sequence_id, c.step_id, c.variant_id`.execute(k);
  return r.rows.map((row) => numeric(row, ['conversions']));
}

/** Currency of each sequence's conversions (the most frequent). */
export async function conversionCurrencies(k: Kysely<Database>, f: QueryFilter): Promise<Map<string, string>> {
  const r = await sql<{ sequence_id: string; currency: string; n: number }>`
    select c.sequence_id, c.currency, count(*) as n from conversions c join enrollments en on en.id = c.enrollment_id
    where ${where(f, 'en')} group by c.sequence_id, c.currency`.execute(k);
  const out = new Map<string, { currency: string; n: number }>();
  for (const row of r.rows) {
    const best = out.get(row.sequence_id);
    if (!best || num(row.n) > best.n) out.set(row.sequence_id, { currency: row.currency, n: num(row.n) });
  }
  return new Map([...out].map(([id, v]) => [id, v.currency]));
}

function numeric<T extends object>(row: T, keys: (keyof T)[]): T {
  const out = { ...row };
  for (const key of keys) (out as Record<keyof T, unknown>)[key] = num(row[key]);
  return out;
}
