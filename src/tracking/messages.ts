import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** What tracking needs to know about a sent message. Immutable once the message is sent. */
export interface TrackedMessage {
  id: number;
  customerId: number;
  enrollmentId: number;
  sequenceId: string;
  /** When it was sent; null while not (yet) sent. */
  sentAt: number | null;
  /** The tracked link targets by index, as stored when the message was rendered. */
  links: string[];
  /** The recipient's locale, for the pages the server shows. */
  locale: string;
}

/**
 * A bounded cache of sent messages (oldest entries evicted first), so a click or an open costs no database
 * read once the message has been seen. Only sent messages are cached (their links and send time
 * never change). Misses are batched: every id asked for in one turn of the event loop is loaded
 * by one `WHERE id IN (...)` query, so a burst of first clicks costs a few queries, not one each.
 */
export class MessageCache {
  private readonly entries = new Map<number, TrackedMessage>();
  private readonly loading = new Map<number, Promise<TrackedMessage | undefined>>();
  private queue = new Map<
    number,
    { resolve: (m: TrackedMessage | undefined) => void; reject: (err: unknown) => void }
  >();
  /** Lookups answered from memory and from the database (for metrics). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly k: Kysely<Database>,
    private readonly max = 100_000,
  ) {}

  /** The message, or undefined when no such message exists. */
  get(id: number): Promise<TrackedMessage | undefined> | TrackedMessage | undefined {
    const hit = this.entries.get(id);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    let p = this.loading.get(id);
    if (!p) {
      p = new Promise<TrackedMessage | undefined>((resolve, reject) => {
        this.queue.set(id, { resolve, reject });
        if (this.queue.size === 1) setImmediate(() => void this.loadQueued());
      });
      this.loading.set(id, p);
    }
    return p;
  }

  /** Loads every id asked for since the last turn of the event loop in one query. */
  private async loadQueued(): Promise<void> {
    const batch = this.queue;
    this.queue = new Map();
    const ids = [...batch.keys()];
    try {
      const found = new Map<number, TrackedMessage>();
      for (let i = 0; i < ids.length; i += 500) {
        for (const m of await this.load(ids.slice(i, i + 500))) found.set(m.id, m);
      }
      for (const [id, waiter] of batch) {
        const m = found.get(id);
        if (m && m.sentAt !== null) {
          this.entries.set(id, m);
          if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
        }
        this.loading.delete(id);
        waiter.resolve(m);
      }
    } catch (err) {
      for (const [id, waiter] of batch) {
        this.loading.delete(id);
        waiter.reject(err);
      }
    }
  }

  private async load(ids: number[]): Promise<TrackedMessage[]> {
    const rows = await this.k
      .selectFrom('messages')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select([
        'messages.id',
        'messages.customer_id',
        'messages.enrollment_id',
        'messages.sequence_id',
        'messages.sent_at',
        'messages.links',
        'customers.locale',
      ])
      .where('messages.id', 'in', ids)
      .execute();
    return rows.map((row) => {
      let links: string[] = [];
      try {
        const parsed = JSON.parse(row.links) as unknown;
        if (Array.isArray(parsed)) links = parsed.filter((l): l is string => typeof l === 'string');
      } catch {
        links = [];
      }
      return {
        id: Number(row.id),
        customerId: Number(row.customer_id),
        enrollmentId: Number(row.enrollment_id),
        sequenceId: row.sequence_id,
        sentAt: row.sent_at === null ? null : Number(row.sent_at),
        links,
        locale: row.locale,
      };
    });
  }

  /** Forgets one message (e.g. after an erasure) or everything. */
  clear(id?: number): void {
    if (id === undefined) this.entries.clear();
    else this.entries.delete(id);
  }
}
