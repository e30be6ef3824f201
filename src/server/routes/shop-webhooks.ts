import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  recordWebhook,
  verifyWebhookSignature,
  WEBHOOK_BODY_LIMIT,
  WebhookProcessor,
} from '../../integrations/webhooks.js';
import type { ShopProvider } from '../../integrations/types.js';

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** A webhook older than this (by the shop's own timestamp) is refused as a replay. */
const MAX_AGE_MS = 48 * 3_600_000;

/** The headers each shop puts its signature, delivery id, topic and origin in. */
const HEADERS: Record<ShopProvider, { signature: string; id: string; topic: string; source: string; at?: string }> = {
  // shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
  shopify: {
    signature: 'x-shopify-hmac-sha256',
    id: 'x-shopify-webhook-id',
    topic: 'x-shopify-topic',
    source: 'x-shopify-shop-domain',
    at: 'x-shopify-triggered-at',
  },
  // woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
  woocommerce: {
    signature: 'x-wc-webhook-signature',
    id: 'x-wc-webhook-delivery-id',
    topic: 'x-wc-webhook-topic',
    source: 'x-wc-webhook-source',
  },
};

/**
 * `POST /webhooks/shopify` and `POST /webhooks/woocommerce` (config `shop`). The signature over
 * the raw bytes is checked first, in constant time: a missing or wrong one, another shop's
 * domain or a stale timestamp get 401 and nothing is stored; a body that is not JSON 400. A
 * delivery is recorded once by its id and answered 200 at once (Shopify allows 5 seconds), then
 * applied in the background; a duplicate gets 200 and is not applied again.
 */
export const shopWebhookRoutes: FastifyPluginAsync = async (app) => {
  const { engine, ctx } = app.comeback;
  const processor = new WebhookProcessor(engine);
  // Deliveries a crash left unapplied are applied now.
  processor.kick();
  app.addHook('onClose', () => processor.idle());
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  const handle = (provider: ShopProvider) => async (request: FastifyRequest, reply: FastifyReply) => {
    const shop = ctx.config.shop;
    const h = HEADERS[provider];
    const raw = request.body;
    if (!shop || shop.type !== provider)
      return reply.code(404).send({ error: `no ${provider} shop configured (config shop)` });
    if (
      !Buffer.isBuffer(raw) ||
      !verifyWebhookSignature(shop.webhookSecret, raw, header(request.headers[h.signature]))
    ) {
      return reply.code(401).send({ error: 'signature verification failed' });
    }
    const source = header(request.headers[h.source]) ?? '';
    if (
      !source
        .replace(/^https?:\/\//, '')
        .replace(/\/.*$/, '')
        .startsWith(shop.domain)
    )
      return reply.code(401).send({ error: `webhook from an unknown shop "${source}"` });
    const at = h.at ? Date.parse(header(request.headers[h.at]) ?? '') : Number.NaN;
    if (h.at && (!Number.isFinite(at) || ctx.clock.now() - at > MAX_AGE_MS))
      return reply.code(401).send({ error: 'stale or undated webhook' });
    const id = header(request.headers[h.id]);
    const topic = header(request.headers[h.topic]);
    if (!id || !topic) return reply.code(400).send({ error: `missing ${!id ? h.id : h.topic} header` });
    const text = raw.toString('utf8');
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('expected a JSON object');
    } catch (err) {
      return reply.code(400).send({ error: `body: ${(err as Error).message}` });
    }
    const fresh = await recordWebhook(engine, { provider, id, topic, body: text });
    if (fresh) processor.kick();
    return reply.code(200).send({ received: true, duplicate: !fresh });
  };
  app.post('/webhooks/shopify', handle('shopify'));
  app.post('/webhooks/woocommerce', handle('woocommerce'));
};
