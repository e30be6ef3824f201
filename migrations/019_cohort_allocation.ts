import type { Kysely } from 'kysely';

/**
 * Adaptive path experiments: with each enrolment's cohort, the allocation epoch its cohort was
 * drawn in with the optimiser's shares (`cohort_epoch`, the epoch's start in epoch ms; null when
 * drawn with the written shares) and the share its cohort had at that draw (`cohort_share`). The cohort report compares cohorts within
 * each epoch, so a shift of traffic while conversion drifts over time cannot bias it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('enrollments').addColumn('cohort_epoch', 'bigint').execute();
  await db.schema.alterTable('enrollments').addColumn('cohort_share', 'double precision').execute();
}

/** Drops the columns again. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('enrollments').dropColumn('cohort_share').execute();
  await db.schema.alterTable('enrollments').dropColumn('cohort_epoch').execute();
}
