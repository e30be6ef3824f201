import type { Kysely } from 'kysely';

/**
 * Enrolments by customer and sequence. Audience evaluation asks, page by page, which of a page's
 * customers were enrolled in the sequence before; without this index each page scanned every
 * enrolment of the sequence, so enrolling a whole audience grew with the square of its size.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('enrollments_customer')
    .on('enrollments')
    .columns(['customer_id', 'sequence_id'])
    .execute();
}

/** Drops the index. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('enrollments_customer').execute();
}
