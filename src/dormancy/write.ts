import { CompiledQuery, type Kysely } from 'kysely';
import type { DialectName } from '../db/connect.js';
import type { CustomerScoresTable, ScoreDatabase } from './schema.js';
import { ScoringError } from './errors.js';

type Col = keyof CustomerScoresTable;

/** Every column of `customer_scores` with its PostgreSQL array type, in insert order. */
export const SCORE_COLUMNS: readonly [Col, string][] = [
  ['customer_id', 'bigint'],
  ['run_id', 'bigint'],
  ['orders_count', 'integer'],
  ['first_order_at', 'bigint'],
  ['last_order_at', 'bigint'],
  ['total_spent_minor', 'bigint'],
  ['avg_order_minor', 'bigint'],
  ['median_interval_days', 'double precision'],
  ['interval_source', 'text'],
  ['days_since_last_order', 'integer'],
  ['overdue_ratio', 'double precision'],
  ['early_warning', 'integer'],
  ['r_score', 'integer'],
  ['f_score', 'integer'],
  ['m_score', 'integer'],
  ['rfm', 'text'],
  ['frequency', 'integer'],
  ['recency', 'integer'],
  ['t', 'integer'],
  ['p_alive', 'double precision'],
  ['expected_purchases_90d', 'double precision'],
  ['expected_spend_minor', 'bigint'],
  ['expected_value_minor', 'bigint'],
  ['recovery_cost_minor', 'bigint'],
  ['worth_winning_back', 'integer'],
  ['discount_share', 'double precision'],
  ['return_rate', 'double precision'],
  ['late_payments', 'integer'],
  ['objected', 'integer'],
  ['scored_at', 'bigint'],
  ['p_return', 'double precision'],
  ['interval_days', 'double precision'],
];

const NAMES = SCORE_COLUMNS.map(([c]) => c);
/** Column names in insert order. */
export const SCORE_NAMES: readonly Col[] = NAMES;
/** The `do update set` list of the upsert. */
export const SCORE_UPDATE_SET = NAMES.filter((c) => c !== 'customer_id')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

/**
 * A row's values in `SCORE_COLUMNS` order, each checked: a number that is not finite is a bug and
 * is named with its customer rather than written as NaN. Plain property reads (no lookups by
 * column name), because this runs once per customer.
 */
export function scoreRowValues(r: CustomerScoresTable): unknown[] {
  const v = [
    r.customer_id,
    r.run_id,
    r.orders_count,
    r.first_order_at,
    r.last_order_at,
    r.total_spent_minor,
    r.avg_order_minor,
    r.median_interval_days,
    r.interval_source,
    r.days_since_last_order,
    r.overdue_ratio,
    r.early_warning,
    r.r_score,
    r.f_score,
    r.m_score,
    r.rfm,
    r.frequency,
    r.recency,
    r.t,
    r.p_alive,
    r.expected_purchases_90d,
    r.expected_spend_minor,
    r.expected_value_minor,
    r.recovery_cost_minor,
    r.worth_winning_back,
    r.discount_share,
    r.return_rate,
    r.late_payments,
    r.objected,
    r.scored_at,
    r.p_return,
    r.interval_days,
  ];
  for (let j = 0; j < v.length; j++) {
    const x = v[j];
    if (typeof x === 'number' && !Number.isFinite(x))
      throw new ScoringError(
        `customer ${r.customer_id}: ${NAMES[j]} is ${x}; scores are never written as NaN or Infinity`,
      );
  }
  return v;
}

/** SQLite: one multi-row upsert per batch (SQLite allows 32,766 parameters per statement). */
function sqliteStatements(rows: CustomerScoresTable[]): CompiledQuery[] {
  const perStatement = Math.floor(32_000 / NAMES.length);
  const out: CompiledQuery[] = [];
  const tuple = `(${NAMES.map(() => '?').join(',')})`;
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const params: unknown[] = [];
    for (const r of chunk) for (const v of scoreRowValues(r)) params.push(v);
    out.push(
      CompiledQuery.raw(
        `insert into customer_scores (${NAMES.join(', ')}) values ${chunk.map(() => tuple).join(',')} on conflict (customer_id) do update set ${SCORE_UPDATE_SET}`,
        params,
      ),
    );
  }
  return out;
}

/**
 * A column as a PostgreSQL array literal, `{1,2.5,NULL}`. The driver would escape and quote every
 * element of a JS array (a third of the write's CPU); the values here are finite numbers (checked
 * by `scoreRowValues`), null, or short texts, quoted.
 */
function arrayLiteral(values: unknown[][], j: number): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]![j];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') out += `"${v.replace(/["\\]/g, '\\$&')}"`;
    else out += String(v);
  }
  return `${out}}`;
}

/** The PostgreSQL upsert of a batch: `insert ... select * from unnest($1..$32) on conflict do update`. */
export const POSTGRES_UPSERT = `insert into customer_scores (${NAMES.join(', ')}) select * from unnest(${SCORE_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) on conflict (customer_id) do update set ${SCORE_UPDATE_SET}`;

/** The 32 parameters of {@link POSTGRES_UPSERT} for a batch: one array literal per column, whatever the batch size. */
export function postgresUpsertParams(rows: CustomerScoresTable[]): string[] {
  const values = rows.map(scoreRowValues);
  return NAMES.map((_, j) => arrayLiteral(values, j));
}

function postgresStatement(rows: CustomerScoresTable[]): CompiledQuery {
  return CompiledQuery.raw(POSTGRES_UPSERT, postgresUpsertParams(rows));
}

/** Writes batches of score rows with upserts (insert, or replace the customer's previous row). */
export interface ScoreWriter {
  write(rows: CustomerScoresTable[]): Promise<void>;
  close(): Promise<void>;
}

/** The generic writer: multi-row statements (SQLite) or `unnest` arrays (PostgreSQL) through kysely. */
export function kyselyWriter(k: Kysely<ScoreDatabase>, dialect: DialectName): ScoreWriter {
  return {
    async write(rows) {
      if (rows.length === 0) return;
      if (dialect === 'postgres') {
        await k.executeQuery(postgresStatement(rows));
        return;
      }
      const statements = sqliteStatements(rows);
      await k.transaction().execute(async (trx) => {
        for (const q of statements) await trx.executeQuery(q);
      });
    },
    async close() {},
  };
}
