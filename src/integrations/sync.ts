/**
 * `comeback sync`: reads every customer and then every order from the shop's API into Comeback
 * through the shop door. After each page the cursor is stored, so a sync that is interrupted
 * (a crash, a kill, the shop going away) resumes where it was; a page applied twice changes
 * nothing. Records older than what a webhook already applied are skipped (`updated_at`), so a
 * sync repairs what webhooks missed without undoing what they brought.
 */
import type { Engine } from '../engine/engine.js';
import { applyCustomers, applyOrders, emptyResult, type ApplyResult } from './door.js';
import type { ShopClient, ShopPage } from './types.js';

/** The resources a sync reads, in order (orders name their customers). */
export const SYNC_RESOURCES = ['customers', 'orders'] as const;
export type SyncResource = (typeof SYNC_RESOURCES)[number];

/** Progress after each page. */
export interface SyncProgress {
  resource: SyncResource;
  /** Records of this resource read in this run and earlier attempts of it. */
  records: number;
  total?: number;
  resumed: boolean;
}

/** What a sync did. */
export interface SyncResult extends ApplyResult {
  pages: number;
  resumed: boolean;
  throttled: number;
  since: number | null;
}

/** Overlap with the previous run, so a change made while it ran is read again. */
const OVERLAP_MS = 60 * 60_000;

/**
 * Syncs customers and orders. Without `since`: an unfinished run resumes from its cursor, else
 * only what changed since the last finished run began (an hour's overlap); a first run reads all.
 */
export async function runSync(
  engine: Engine,
  client: ShopClient,
  options: { since?: number; bulk?: boolean; onProgress?: (p: SyncProgress) => void } = {},
): Promise<SyncResult> {
  const k = engine.ctx.k;
  const now = () => engine.ctx.clock.now();
  const result: SyncResult = { ...emptyResult(), pages: 0, resumed: false, throttled: 0, since: null };
  for (const resource of SYNC_RESOURCES) {
    const state = await k
      .selectFrom('shop_sync_state')
      .selectAll()
      .where('provider', '=', client.provider)
      .where('resource', '=', resource)
      .executeTakeFirst();
    let cursor: string | null = null;
    let since: number | undefined = options.since;
    let records = 0;
    const resume =
      state !== undefined && state.finished_at === null && (since === undefined || Number(state.since) === since);
    if (resume) {
      cursor = state.cursor;
      since = state.since === null ? undefined : Number(state.since);
      records = Number(state.records);
      result.resumed = true;
    } else {
      if (since === undefined && state?.finished_at) since = Number(state.started_at) - OVERLAP_MS;
      const row = {
        provider: client.provider,
        resource,
        cursor: null,
        since: since ?? null,
        records: 0,
        started_at: now(),
        finished_at: null,
        updated_at: now(),
      };
      await k
        .insertInto('shop_sync_state')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['provider', 'resource']).doUpdateSet({
            cursor: null,
            since: row.since,
            records: 0,
            started_at: row.started_at,
            finished_at: null,
            updated_at: row.updated_at,
          }),
        )
        .execute();
    }
    result.since = since ?? null;
    if (resource === 'orders' && options.bulk && client.bulkOrders) {
      // A bulk export has no cursor to resume from: an interrupted one is read again (harmless).
      for await (const batch of client.bulkOrders(since)) {
        await applyOrders(engine, client.provider, batch, result);
        records += batch.length;
        result.pages++;
        await k
          .updateTable('shop_sync_state')
          .set({ records, updated_at: now() })
          .where('provider', '=', client.provider)
          .where('resource', '=', resource)
          .execute();
        options.onProgress?.({ resource, records, resumed: resume });
      }
      await k
        .updateTable('shop_sync_state')
        .set({ cursor: null, finished_at: now(), updated_at: now() })
        .where('provider', '=', client.provider)
        .where('resource', '=', resource)
        .execute();
      continue;
    }
    for (;;) {
      const page: ShopPage<unknown> =
        resource === 'customers' ? await client.customers(cursor, since) : await client.orders(cursor, since);
      if (resource === 'customers')
        await applyCustomers(engine, client.provider, page.records as Parameters<typeof applyCustomers>[2], result);
      else await applyOrders(engine, client.provider, page.records as Parameters<typeof applyOrders>[2], result);
      records += page.records.length;
      result.pages++;
      cursor = page.next;
      // Stored after the page is applied: a crash in between applies the page again, harmlessly.
      await k
        .updateTable('shop_sync_state')
        .set({ cursor, records, updated_at: now(), ...(cursor === null ? { finished_at: now() } : {}) })
        .where('provider', '=', client.provider)
        .where('resource', '=', resource)
        .execute();
      options.onProgress?.({ resource, records, total: page.total, resumed: resume });
      if (cursor === null) break;
    }
  }
  result.throttled = client.throttled;
  return result;
}
