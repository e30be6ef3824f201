import type { Kysely } from 'kysely';

/**
 * Experiments: `enrollments.control` marks an enrolment of a member of the global control group
 * (never mailed by any sequence; such an enrolment is also a holdout enrolment, so nothing sends
 * for it), recorded at enrolment so that a later rotation of the group does not rewrite the past.
 * `enrollments.cohort` is the path cohort drawn at enrolment for a sequence whose step splits
 * into random cohorts (null without a split).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('enrollments')
    .addColumn('control', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('enrollments').addColumn('cohort', 'text').execute();
  await db.schema
    .createIndex('enrollments_programme')
    .on('enrollments')
    .columns(['enrolled_at', 'customer_id'])
    .execute();
}

/** Drops the columns again. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('enrollments_programme').execute();
  await db.schema.alterTable('enrollments').dropColumn('cohort').execute();
  await db.schema.alterTable('enrollments').dropColumn('control').execute();
}
