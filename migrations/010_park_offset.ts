import type { Kysely } from 'kysely';

/** How work was parked before: at 9999-12-31, its planned time lost. */
const PARKED_UNTIL = 253_402_300_799_000;
/** How it is parked now (src/engine/sequence-state.ts): the planned time plus this offset. */
const PARK_OFFSET = 100_000_000_000_000;

/**
 * Work of a paused sequence is parked by an offset that a resume takes off again, so a follow-up
 * planned for next week keeps its time. Work parked the old way has no planned time left: it
 * becomes due when the sequence is resumed, as it would have before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = Date.now();
  await db
    .updateTable('enrollments')
    .set({ next_due_at: PARK_OFFSET + now })
    .where('next_due_at', '=', PARKED_UNTIL)
    .execute();
  await db
    .updateTable('messages')
    .set({ due_at: PARK_OFFSET + now })
    .where('due_at', '=', PARKED_UNTIL)
    .execute();
}

/** Back to the fixed parking time. */
export async function down(db: Kysely<any>): Promise<void> {
  await db
    .updateTable('enrollments')
    .set({ next_due_at: PARKED_UNTIL })
    .where('next_due_at', '>=', PARK_OFFSET)
    .where('next_due_at', '<', PARKED_UNTIL)
    .execute();
  await db
    .updateTable('messages')
    .set({ due_at: PARKED_UNTIL })
    .where('due_at', '>=', PARK_OFFSET)
    .where('due_at', '<', PARKED_UNTIL)
    .execute();
}
