import { sql, type Kysely } from 'kysely';

/**
 * One active enrolment per address and sequence, held by the database: shops keep duplicate
 * customer records for one person (a guest order and an account), and two enrolment paths running
 * at once (a trigger from the shop and an audience run) could otherwise both enrol the person.
 * The enrolment keeps the address hash it was made for. Of active duplicates that exist already,
 * the oldest holds the address; the others run out as they are.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('enrollments').addColumn('address_hash', 'text').execute();
  await sql`
    update enrollments set address_hash = (select c.email_hash from customers c where c.id = enrollments.customer_id)
    where status = 'active'
      and id = (
        select min(e2.id) from enrollments e2 join customers c2 on c2.id = e2.customer_id
        where e2.status = 'active' and e2.sequence_id = enrollments.sequence_id
          and c2.email_hash = (select c.email_hash from customers c where c.id = enrollments.customer_id)
      )`.execute(db);
  await db.schema
    .createIndex('enrollments_one_active_address')
    .on('enrollments')
    .columns(['sequence_id', 'address_hash'])
    .unique()
    .where(sql<boolean>`status = 'active' and address_hash is not null`)
    .execute();
}

/** Drops the index and the column. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('enrollments_one_active_address').execute();
  await db.schema.alterTable('enrollments').dropColumn('address_hash').execute();
}
