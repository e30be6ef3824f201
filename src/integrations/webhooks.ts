/**
 * Shop webhooks: verified on the raw bytes before anything is parsed, recorded once per delivery
 * id (a duplicate or a retry is acknowledged and not applied twice), answered at once, then
 * applied in the order received by one processor per server. Applying goes through the shop
 * door; out-of-order updates are settled there by `updated_at`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import { applyCustomers, applyOrders } from './door.js';
import { customerFromRest, orderFromRest, type RestCustomer, type RestOrder } from './shopify/map.js';
import type { ShopProvider } from './types.js';
import { customerFromWoo, orderFromWoo, type WooCustomer, type WooOrder } from './woocommerce/client.js';

/** Largest webhook body accepted (Shopify orders with many lines stay far below). */
export const WEBHOOK_BODY_LIMIT = 2 * 1024 * 1024;

/**
 * True when `signature` is the base64 HMAC-SHA256 of the raw body with the secret, compared in
 * constant time (Shopify `X-Shopify-Hmac-Sha256`, WooCommerce `X-WC-Webhook-Signature`).
 */
export function verifyWebhookSignature(secret: string, raw: Buffer, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Stores a delivery unless its id is known; false for a duplicate. */
export async function recordWebhook(
  engine: Engine,
  w: { provider: ShopProvider; id: string; topic: string; body: string },
): Promise<boolean> {
  const inserted = await engine.ctx.k
    .insertInto('shop_webhooks')
    .values({
      provider: w.provider,
      webhook_id: w.id,
      topic: w.topic,
      body: w.body,
      received_at: engine.ctx.clock.now(),
    })
    .onConflict((oc) => oc.columns(['provider', 'webhook_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Erases the person with this address (privacy topics, deleted customers); the hashed suppression stays. */
async function erase(engine: Engine, email: string | null | undefined): Promise<unknown> {
  return email ? engine.privacy.forget(email) : { erased: 0 };
}

async function emailOf(engine: Engine, externalId: string): Promise<string | null> {
  const c = await engine.customers.get(externalId);
  return c?.email ?? null;
}

/** Applies one webhook; returns what the operator may need (a data request's export). */
export async function applyWebhook(
  engine: Engine,
  provider: ShopProvider,
  topic: string,
  body: unknown,
): Promise<unknown> {
  const b = body as Record<string, unknown>;
  if (provider === 'shopify') {
    switch (topic) {
      case 'orders/create':
      case 'orders/updated':
      case 'orders/paid':
      case 'orders/cancelled':
        return applyOrders(engine, 'shopify', [orderFromRest(b as unknown as RestOrder)]);
      case 'refunds/create':
        return applyRefund(engine, b as { order_id: number; transactions?: { amount: string; kind?: string }[] });
      case 'customers/create':
      case 'customers/update':
        return applyCustomers(engine, 'shopify', [customerFromRest(b as unknown as RestCustomer)]);
      case 'customers/delete':
        return erase(engine, await emailOf(engine, String(b.id)));
      // The mandatory privacy topics (shopify.dev/docs/apps/build/compliance/privacy-law-compliance).
      case 'customers/data_request': {
        const email = (b.customer as { email?: string } | undefined)?.email;
        return email ? engine.privacy.export(email) : null;
      }
      case 'customers/redact':
        return erase(engine, (b.customer as { email?: string } | undefined)?.email);
      case 'shop/redact': {
        const all = await engine.ctx.k.selectFrom('customers').select('email').where('email', 'is not', null).execute();
        for (const c of all) await erase(engine, c.email);
        return { erased: all.length };
      }
    }
  } else {
    switch (topic) {
      case 'order.created':
      case 'order.updated':
      case 'order.restored':
        return applyOrders(engine, 'woocommerce', [orderFromWoo(b as unknown as WooOrder)]);
      case 'order.deleted':
        return cancelStored(engine, `wc-order-${String(b.id)}`);
      case 'customer.created':
      case 'customer.updated':
        return applyCustomers(engine, 'woocommerce', [customerFromWoo(b as unknown as WooCustomer)]);
      case 'customer.deleted':
        return erase(engine, await emailOf(engine, `wc-${String(b.id)}`));
    }
  }
  return { ignored: topic };
}

/** The stored order as order-door input (items unchanged). */
async function storedOrder(engine: Engine, externalId: string) {
  const o = await engine.ctx.k
    .selectFrom('orders')
    .innerJoin('customers', 'customers.id', 'orders.customer_id')
    .selectAll('orders')
    .select('customers.external_id as customer_external_id')
    .where('orders.external_id', '=', externalId)
    .executeTakeFirst();
  if (!o) return undefined;
  return {
    externalId,
    customerExternalId: o.customer_external_id,
    orderedAt: Number(o.ordered_at),
    totalMinor: Number(o.total_minor),
    currency: o.currency,
    discountMinor: Number(o.discount_minor),
    status: o.status as 'paid' | 'returned' | 'cancelled',
    returnedMinor: Number(o.returned_minor),
    couponCode: o.coupon_code,
  };
}

/** A refund adds to the order's returned amount (the whole amount: the order counts as returned). */
async function applyRefund(
  engine: Engine,
  r: { order_id: number; transactions?: { amount: string; kind?: string }[] },
) {
  const o = await storedOrder(engine, String(r.order_id));
  if (!o) return { ignored: `refund of unknown order ${r.order_id}` };
  const cents = (r.transactions ?? [])
    .filter((t) => (t.kind ?? 'refund') === 'refund')
    .reduce((s, t) => s + Math.round(Number(t.amount) * 100), 0);
  const returnedMinor = Math.min(o.totalMinor, o.returnedMinor + cents);
  return applyOrders(engine, 'shopify', [
    {
      input: {
        ...o,
        returnedMinor,
        status: o.status === 'cancelled' ? 'cancelled' : returnedMinor >= o.totalMinor ? 'returned' : 'paid',
      },
    },
  ]);
}

async function cancelStored(engine: Engine, externalId: string) {
  const o = await storedOrder(engine, externalId);
  return o
    ? applyOrders(engine, 'woocommerce', [{ input: { ...o, status: 'cancelled' } }])
    : { ignored: `unknown order ${externalId}` };
}

/**
 * Applies recorded webhooks one at a time in the order received. `kick()` after recording one;
 * `idle()` resolves when nothing is left (the server awaits it on close). Rows a crash left
 * unapplied are applied by the first kick after a restart.
 */
export class WebhookProcessor {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly engine: Engine) {}

  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    const k = this.engine.ctx.k;
    for (;;) {
      const rows = await k
        .selectFrom('shop_webhooks')
        .selectAll()
        .where('processed_at', 'is', null)
        .orderBy('id')
        .limit(100)
        .execute();
      if (rows.length === 0) return;
      for (const row of rows) {
        let result: unknown = null;
        let error: string | null = null;
        try {
          result = await applyWebhook(this.engine, row.provider as ShopProvider, row.topic, JSON.parse(row.body));
        } catch (err) {
          // Kept with its reason for the operator; the shop's data comes again with the next sync.
          error = (err as Error).message;
          this.engine.ctx.log.error(
            { webhook: row.webhook_id, topic: row.topic, err: error },
            'shop webhook could not be applied',
          );
        }
        await k
          .updateTable('shop_webhooks')
          .set({
            processed_at: this.engine.ctx.clock.now(),
            error,
            result: result === null ? null : JSON.stringify(result),
          })
          .where('id', '=', row.id)
          .execute();
      }
    }
  }
}
