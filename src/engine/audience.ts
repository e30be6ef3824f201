import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { DAY } from '../clock.js';
import type { Database } from '../db/schema.js';
import { ComebackError } from '../errors.js';
import { audienceRules, firstFailure, needsScores, type Candidate } from '../sequences/audience-rules.js';
import { checkExpression } from '../sequences/expressions.js';
import type { CustomerValues } from '../sequences/fields.js';
import type { Audience } from '../sequences/schema.js';

export type { Candidate } from '../sequences/audience-rules.js';
/** Purchase facts of one customer, as the audience rules see them (kept for callers by that name). */
export type CustomerFacts = Candidate;

/** Options of the audience queries. */
export interface AudienceQueryOptions {
  /** Minor-unit digits of the shop currency (2 for EUR): money fields are in major units. */
  currencyDigits?: number;
}

/** Score columns of `customer_scores` (written by `comeback score`) and the fields they feed. */
const MODEL_COLUMNS = {
  p_alive: 'p_alive',
  expected_value: 'expected_value_minor',
  expected_purchases_90d: 'expected_purchases_90d',
  median_interval_days: 'median_interval_days',
  p_return: 'p_return',
  worth_winning_back: 'worth_winning_back',
  early_warning: 'early_warning',
  rfm: 'rfm',
  objected: 'objected',
} as const;
type ModelField = keyof typeof MODEL_COLUMNS;

/** The model fields the `customer_scores` table of this database provides. */
export type ScoreColumns = ModelField[];

/** The model fields `customer_scores` provides in the current schema, or null when the table does not exist. */
export async function scoreColumns(db: Kysely<Database>): Promise<ScoreColumns | null> {
  // Catalog queries never fail, so this is safe inside a PostgreSQL transaction.
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const rows = pg
    ? (
        await sql<{
          name: string;
        }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'customer_scores'`.execute(
          db,
        )
      ).rows
    : (await sql<{ name: string }>`select name from pragma_table_info('customer_scores')`.execute(db)).rows;
  if (rows.length === 0) return null;
  const cols = new Set(rows.map((r) => r.name));
  return (Object.keys(MODEL_COLUMNS) as ModelField[]).filter((f) => cols.has(MODEL_COLUMNS[f]));
}

/** The error when an audience needs scores that are not there. */
export function missingScores(what: string): ComebackError {
  return new ComebackError(
    'E_NO_SCORES',
    `${what} needs the purchase-model scores (table customer_scores with p_alive and expected_value), which do not exist yet: run \`comeback score\` first`,
  );
}

interface Aggregate {
  customer_id: number;
  orders_count: number | string;
  first_order_at: number | string;
  last_order_at: number | string;
  total_minor: number | string;
  discounted: number | string;
  returned_minor: number | string;
  late_orders: number | string;
  purchase_days: number | string;
  first_day: number | string;
  last_day: number | string;
}

/**
 * The one rhythm (docs/SCORING.md, the same as the stored scores): the mean days between
 * purchase days, several orders on one UTC day being one purchase; null with one purchase day.
 */
function usualInterval(a: Aggregate | undefined): number | null {
  const days = Number(a?.purchase_days ?? 0);
  return a && days >= 2 ? (Number(a.last_day) - Number(a.first_day)) / (days - 1) : null;
}

/**
 * The UTC day number of an order, as `dayIndex` computes it: truncation is the floor for a
 * non-negative time (SQLite may hold ordered_at as a real; PostgreSQL's bigint division is exact).
 */
const UTC_DAY = sql`cast(o.ordered_at / ${sql.raw(String(DAY))} as bigint)`;

function aggregates(db: Kysely<Database>) {
  return db
    .selectFrom('orders as o')
    .innerJoin('customers as c', 'c.id', 'o.customer_id')
    .select([
      'o.customer_id',
      sql<number>`count(*)`.as('orders_count'),
      sql<number>`min(o.ordered_at)`.as('first_order_at'),
      sql<number>`max(o.ordered_at)`.as('last_order_at'),
      sql<number>`sum(o.total_minor)`.as('total_minor'),
      sql<number>`sum(case when o.discount_minor > 0 then 1 else 0 end)`.as('discounted'),
      sql<number>`sum(o.returned_minor)`.as('returned_minor'),
      sql<number>`sum(o.paid_late)`.as('late_orders'),
      sql<number>`count(distinct ${UTC_DAY})`.as('purchase_days'),
      sql<number>`min(${UTC_DAY})`.as('first_day'),
      sql<number>`max(${UTC_DAY})`.as('last_day'),
    ])
    .where('c.erased_at', 'is', null)
    .where('o.status', '!=', 'cancelled')
    .groupBy('o.customer_id');
}

/**
 * The documented fields of some customers (with or without orders), in a handful of queries:
 * purchase aggregates, the customer rows, categories bought, and the model scores if they exist.
 */
export async function customerValues(
  db: Kysely<Database>,
  customerIds: number[],
  now: number,
  options: AudienceQueryOptions & { aggregates?: Map<number, Aggregate>; scores?: ScoreColumns | null } = {},
): Promise<Map<number, { values: CustomerValues; externalId: string; scored: boolean; agg?: Aggregate }>> {
  const out = new Map<number, { values: CustomerValues; externalId: string; scored: boolean; agg?: Aggregate }>();
  if (customerIds.length === 0) return out;
  // The ids bound both sides of the join (PostgreSQL otherwise merge-joins over every customer).
  const aggs =
    options.aggregates ??
    new Map(
      (await aggregates(db).where('o.customer_id', 'in', customerIds).where('c.id', 'in', customerIds).execute()).map(
        (a) => [a.customer_id, a as Aggregate],
      ),
    );
  const customers = await db
    .selectFrom('customers')
    .select(['id', 'external_id', 'locale', 'tags', 'churn_reason', 'acquired_via', 'late_payments'])
    .where('id', 'in', customerIds)
    .execute();
  const categories = new Map<number, string[]>();
  const cats = await db
    .selectFrom('order_items as i')
    .innerJoin('orders as o', 'o.id', 'i.order_id')
    .select(['o.customer_id', 'i.category'])
    .distinct()
    .where('o.customer_id', 'in', customerIds)
    .where('o.status', '!=', 'cancelled')
    .where('i.category', 'is not', null)
    .execute();
  for (const c of cats) categories.set(c.customer_id, [...(categories.get(c.customer_id) ?? []), c.category!]);
  const scoreCols = options.scores === undefined ? await scoreColumns(db) : options.scores;
  const scores = new Map<number, Record<string, unknown>>();
  if (scoreCols && scoreCols.length > 0) {
    const cols = sql.join(scoreCols.map((f) => sql`${sql.ref(MODEL_COLUMNS[f])} as ${sql.ref(f)}`));
    const rows = await sql<
      Record<string, unknown> & { customer_id: number }
    >`select customer_id, ${cols} from customer_scores where customer_id in (${sql.join(customerIds)})`.execute(db);
    for (const r of rows.rows) scores.set(Number(r.customer_id), r);
  }
  const unit = 10 ** (options.currencyDigits ?? 2);
  for (const c of customers) {
    const a = aggs.get(c.id);
    const count = Number(a?.orders_count ?? 0);
    const first = a ? Number(a.first_order_at) : null;
    const last = a ? Number(a.last_order_at) : null;
    const total = Number(a?.total_minor ?? 0);
    const interval = usualInterval(a);
    const sinceLast = last !== null ? (now - last) / DAY : null;
    const s = scores.get(c.id);
    const model = (f: ModelField): number | null => (s?.[f] === null || s?.[f] === undefined ? null : Number(s[f]));
    out.set(c.id, {
      externalId: c.external_id,
      scored: s !== undefined,
      agg: a,
      values: {
        orders_count: count,
        total_spent: total / unit,
        average_order: count > 0 ? total / count / unit : 0,
        days_since_last_order: sinceLast === null ? null : Math.floor(sinceLast),
        days_since_first_order: first === null ? null : Math.floor((now - first) / DAY),
        interval_days: interval,
        overdue_ratio: interval && sinceLast !== null ? sinceLast / interval : null,
        discount_share: count > 0 ? Number(a?.discounted ?? 0) / count : 0,
        return_rate: total > 0 ? Number(a?.returned_minor ?? 0) / total : 0,
        late_payments: Math.max(Number(c.late_payments), Number(a?.late_orders ?? 0)),
        locale: c.locale,
        language: c.locale.split(/[-_]/)[0]!.toLowerCase(),
        tags: safeList(c.tags),
        categories: categories.get(c.id) ?? [],
        churn_reason: c.churn_reason ?? 'unknown',
        acquired_via: c.acquired_via,
        p_alive: model('p_alive'),
        expected_value: model('expected_value') === null ? null : model('expected_value')! / unit,
        expected_purchases_90d: model('expected_purchases_90d'),
        median_interval_days: model('median_interval_days'),
        p_return: model('p_return'),
        worth_winning_back: model('worth_winning_back'),
        early_warning: model('early_warning'),
        objected: model('objected'),
        rfm: s?.rfm === null || s?.rfm === undefined ? null : String(s.rfm),
      },
    });
  }
  return out;
}

function safeList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * One page of candidates after `afterId`: the SQL narrows by the dormancy rules (when `prefilter`),
 * then the documented fields are computed for the page only. `scanned` is the last id read.
 */
export async function candidatePage(
  db: Kysely<Database>,
  audience: Audience,
  now: number,
  afterId: number,
  pageSize: number,
  options: AudienceQueryOptions & { prefilter: boolean; scores: ScoreColumns | null },
): Promise<{ candidates: Candidate[]; rows: number; lastId: number }> {
  // The bound on c.id too: PostgreSQL does not carry it over the join, and its merge join then
  // read every customer before the page, so paging through a million customers grew quadratically.
  let q = aggregates(db)
    .where('o.customer_id', '>', afterId)
    .where('c.id', '>', afterId)
    .orderBy('o.customer_id')
    .limit(pageSize);
  if (options.prefilter) {
    const d = audience.dormant;
    if (d?.min_days !== undefined) q = q.having(sql`max(o.ordered_at)`, '<=', now - d.min_days * DAY);
    if (d?.max_days !== undefined) q = q.having(sql`max(o.ordered_at)`, '>=', now - d.max_days * DAY);
    if (audience.min_orders !== undefined) q = q.having(sql`count(*)`, '>=', audience.min_orders);
    if (d?.overdue_factor !== undefined) {
      // overdue: time since the last order > factor × the usual interval (needs two purchase days)
      const days = sql`count(distinct ${UTC_DAY})`;
      q = q
        .having(days, '>=', 2)
        .having(
          sql`(${now} - max(o.ordered_at)) * (${days} - 1)`,
          '>',
          sql`cast(${d.overdue_factor} as double precision) * ${sql.raw(String(DAY))} * (max(${UTC_DAY}) - min(${UTC_DAY}))`,
        );
    }
  }
  const rows = (await q.execute()) as Aggregate[];
  if (rows.length === 0) return { candidates: [], rows: 0, lastId: afterId };
  const values = await customerValues(
    db,
    rows.map((r) => r.customer_id),
    now,
    { ...options, aggregates: new Map(rows.map((r) => [r.customer_id, r])) },
  );
  const candidates: Candidate[] = [];
  for (const r of rows) {
    const v = values.get(r.customer_id);
    if (!v) continue;
    const count = Number(r.orders_count);
    const first = Number(r.first_order_at);
    const last = Number(r.last_order_at);
    candidates.push({
      customer_id: r.customer_id,
      external_id: v.externalId,
      orders_count: count,
      first_order_at: first,
      last_order_at: last,
      total_spent_minor: Number(r.total_minor),
      days_since_last_order: (now - last) / DAY,
      purchase_days: Number(r.purchase_days),
      first_day: Number(r.first_day),
      last_day: Number(r.last_day),
      interval_days: usualInterval(r),
      values: v.values,
      scored: v.scored,
    });
  }
  return { candidates, rows: rows.length, lastId: rows[rows.length - 1]!.customer_id };
}

/** Checks that an audience can run: the scores it needs exist. Returns the score columns. */
export async function audienceScores(db: Kysely<Database>, audience: Audience): Promise<ScoreColumns | null> {
  const names = audience.where ? checkExpression(audience.where, 'audience').names : new Set<string>();
  const cols = await scoreColumns(db);
  if (!needsScores(audience, names)) return cols;
  const what =
    audience.p_alive_below !== undefined
      ? 'audience.p_alive_below'
      : audience.min_expected_value !== undefined
        ? 'audience.min_expected_value'
        : 'audience.where (model fields)';
  if (!cols) throw missingScores(what);
  const any = await sql`select customer_id from customer_scores limit 1`.execute(db);
  if (any.rows.length === 0) throw missingScores(what);
  return cols;
}

/**
 * Streams, in pages of `pageSize`, the customers who pass every audience rule (dormancy, model
 * thresholds, `where`) and who are not enrolled in the sequence since their last order. SQL narrows
 * by dormancy; the fields for `where` are computed per page, so customers never sit in memory at once.
 */
export async function* dormantCandidates(
  db: Kysely<Database>,
  sequenceId: string,
  audience: Audience,
  now: number,
  pageSize = 1000,
  options: AudienceQueryOptions = {},
): AsyncGenerator<Candidate[]> {
  const scores = await audienceScores(db, audience);
  const rules = audienceRules(audience, now);
  let afterId = 0;
  for (;;) {
    const page = await candidatePage(db, audience, now, afterId, pageSize, { ...options, prefilter: true, scores });
    if (page.rows === 0) return;
    afterId = page.lastId;
    const passing = page.candidates.filter((c) => !firstFailure(rules, c));
    const fresh = await notEnrolledSince(db, sequenceId, passing);
    if (fresh.length > 0) yield fresh;
    if (page.rows < pageSize) return;
  }
}

/** Drops candidates enrolled in the sequence since their last order (re-entry needs a new purchase and a new lapse). */
export async function notEnrolledSince(
  db: Kysely<Database>,
  sequenceId: string,
  candidates: Candidate[],
): Promise<Candidate[]> {
  if (candidates.length === 0) return [];
  const enrolled = await db
    .selectFrom('enrollments')
    .select(['customer_id', 'enrolled_at'])
    .where('sequence_id', '=', sequenceId)
    .where(
      'customer_id',
      'in',
      candidates.map((c) => c.customer_id),
    )
    .execute();
  const lastEnrolled = new Map<number, number>();
  for (const e of enrolled)
    lastEnrolled.set(e.customer_id, Math.max(e.enrolled_at, lastEnrolled.get(e.customer_id) ?? 0));
  return candidates.filter((c) => (lastEnrolled.get(c.customer_id) ?? -Infinity) < c.last_order_at);
}
