import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { ComebackError, InputError, NotFoundError } from '../../errors.js';
import { CONSENT_BASES } from '../../consent/types.js';
import { requestEvidence } from '../../consent/preferences.js';
import { getPreferences, setPreference } from '../../engine/preferences.js';
import { CustomerInput, OrderInput } from '../../shop/types.js';
import { didYouMean } from '../../util/did-you-mean.js';
import { boundedJson, boundedText, BYTES, COUNT, TEXT } from '../../util/limits.js';

/** Where a mail host posts a mail that came back (raw, `message/rfc822`). */
export const INBOUND_PATH = '/api/inbound';
/** Customers one `POST /api/customers` may carry. */
export const MAX_CUSTOMERS_PER_REQUEST = COUNT.customersPerRequest;

/** The body of `POST /api/consents`: one ledger entry, the customer named by external (or internal) id. */
export const ConsentBody = z
  .strictObject({
    customer: z.union([boundedText(TEXT.id).min(1), z.number().int().positive()]),
    action: z.enum(['grant', 'withdraw']),
    /** Without a basis a withdrawal is an objection to all marketing. */
    basis: z.enum(CONSENT_BASES).nullish(),
    source: boundedText(TEXT.name).min(1).default('api'),
    textVersion: boundedText(TEXT.name).nullish(),
    /** Proof: the time of the confirmation click, IP, user agent, the wording shown... */
    evidence: boundedJson().optional(),
  })
  .refine((c) => c.action === 'withdraw' || !!c.basis, {
    message: 'a grant needs a basis (double_opt_in, opt_in or existing_customer)',
    path: ['basis'],
  });

/** The body of `POST /api/trigger`. */
export const TriggerBody = z.strictObject({
  sequence: boundedText(TEXT.id).min(1),
  /** The customer's external id (string) or internal id (number). */
  customer: z.union([boundedText(TEXT.id).min(1), z.number().int().positive()]),
  data: boundedJson().optional(),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

function problem(reply: FastifyReply, status: number, error: string, issues?: string[]): FastifyReply {
  return reply.code(status).send(issues ? { error, issues } : { error });
}

/**
 * `field: message` per issue, an unknown field with the known one it is closest to; `item` (e.g.
 * `[3]`) names the array element the issues are about.
 */
function issuesOf(err: z.ZodError, schema: { shape: Record<string, unknown> }, item = ''): string[] {
  const at = (path: PropertyKey[]) => [item, ...path.map(String)].filter(Boolean).join('.') || '(body)';
  return err.issues.flatMap((i) =>
    i.code === 'unrecognized_keys' && i.path.length === 0
      ? i.keys.map((k) => `${at([k])}: unknown field${didYouMean(k, Object.keys(schema.shape))}`)
      : [`${at(i.path)}: ${i.message}`],
  );
}

/**
 * The shop-facing API, behind `Authorization: Bearer <apiKey>` (compared in constant time; the API
 * answers 503 while no `apiKey` is configured):
 * - `POST /api/orders`: one order (`OrderInput`, zod-validated; 400 names each wrong field).
 *   Idempotent by `externalId`: recording it again updates it and attributes nothing twice.
 *   Attributes conversions to active enrolments whose goal it meets and matches coupon codes.
 *   201 when new, 200 when it was known, 404 for an unknown customer.
 * - `POST /api/trigger`: `{ sequence, customer, data? }` → `engine.trigger`; 200 with the
 *   enrolment id, or `enrollmentId: null` and the reason the customer was not enrolled.
 * - `POST /api/customers`: one customer or an array of up to 1,000 (`CustomerInput`), upserted
 *   by `externalId`; an update changes only the fields given. 200 with their ids; 400 names each
 *   wrong field (`[3].email: ...`) and stores nothing.
 * - `POST /api/consents`: one consent ledger entry (grant with its basis and evidence, or
 *   withdrawal); 201 with its id; a withdrawal stops pending mail at once.
 * - `POST /api/preferences`: `{ customer, snooze | frequency | topic+subscribed | locale }` →
 *   `setPreference` (the page's and the library's door); 200 with what it did (`recorded: false`
 *   when posted twice), 400 for an unknown topic or a snooze other than 30/90/180 days, 404 for an
 *   unknown or erased customer. `GET /api/preferences/:customer` → the current choices.
 * - `POST /api/inbound`: one mail that came back, raw (`message/rfc822`): a bounce, a complaint
 *   report or an unsubscribe request → `engine.inbound`; 200 with what it did.
 */
export const apiRoutes: FastifyPluginAsync = async (app) => {
  const { engine, ctx } = app.comeback;
  const key = ctx.config.apiKey ? digest(ctx.config.apiKey) : undefined;

  app.addHook('onRequest', async (request, reply) => {
    if (!key) return problem(reply, 503, 'the API is disabled: configure apiKey (or COMEBACK_API_KEY)');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1]!), key)) {
      return problem(reply.header('www-authenticate', 'Bearer realm="comeback"'), 401, 'missing or wrong bearer token');
    }
    // Only JSON is an order or a trigger: a form or text body would otherwise reach zod as a
    // string. A mail that came back is posted as it is.
    const type = request.headers['content-type'];
    const expected = request.url.split('?')[0] === INBOUND_PATH ? 'message/rfc822' : 'application/json';
    if (request.method === 'POST' && type !== undefined && type.split(';')[0]!.trim().toLowerCase() !== expected) {
      return problem(reply, 415, `expected content-type ${expected}`);
    }
  });

  app.addContentTypeParser(
    'message/rfc822',
    { parseAs: 'buffer', bodyLimit: BYTES.inboundMail },
    (_request, body, done) => done(null, body),
  );

  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof NotFoundError) return problem(reply, 404, err.message);
    if (err instanceof InputError) return problem(reply, 400, err.message);
    if (err instanceof ComebackError) return problem(reply, 422, err.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return problem(reply, status, (err as Error).message);
    reply.log.error({ err }, 'API request failed');
    return problem(reply, 500, 'internal error');
  });

  app.post('/api/orders', async (request, reply) => {
    const parsed = OrderInput.safeParse(request.body);
    if (!parsed.success) return problem(reply, 400, 'invalid order', issuesOf(parsed.error, OrderInput));
    const order = parsed.data;
    const known = await ctx.k
      .selectFrom('orders')
      .select('id')
      .where('external_id', '=', order.externalId)
      .executeTakeFirst();
    const customer = await engine.customers.get(order.customerExternalId);
    if (!customer)
      return problem(reply, 404, `customer "${order.customerExternalId}" not found: record the customer first`);
    const result = await engine.orders.record(order);
    return reply.code(known ? 200 : 201).send({ id: result.id, created: !known, conversions: result.conversions });
  });

  app.post('/api/customers', async (request, reply) => {
    const list: unknown[] = Array.isArray(request.body) ? request.body : [request.body];
    if (list.length === 0 || list.length > MAX_CUSTOMERS_PER_REQUEST)
      return problem(reply, 400, `expected 1 to ${MAX_CUSTOMERS_PER_REQUEST} customers, got ${list.length}`);
    const issues: string[] = [];
    const customers = list.flatMap((item, i) => {
      const parsed = CustomerInput.safeParse(item);
      if (parsed.success) return [item as CustomerInput];
      issues.push(...issuesOf(parsed.error, CustomerInput, Array.isArray(request.body) ? `[${i}]` : ''));
      return [];
    });
    if (issues.length > 0) return problem(reply, 400, 'invalid customer', issues);
    const ids = await engine.customers.upsert(customers);
    // An erased person's address is not stored again; they are named so the caller knows.
    const erased = customers.filter((c) => !ids.has(c.externalId)).map((c) => c.externalId);
    return reply.code(200).send({ customers: Object.fromEntries(ids), ...(erased.length > 0 ? { erased } : {}) });
  });

  app.post('/api/consents', async (request, reply) => {
    const parsed = ConsentBody.safeParse(request.body);
    if (!parsed.success) return problem(reply, 400, 'invalid consent', issuesOf(parsed.error, ConsentBody));
    const id = await engine.consents.record(parsed.data);
    return reply.code(201).send({ id });
  });

  // The preference centre for a shop's own account page: the same door as the page and the library.
  app.post('/api/preferences', async (request, reply) => {
    const { customer, ...choice } = (
      typeof request.body === 'object' && request.body !== null ? request.body : {}
    ) as Record<string, unknown>;
    if (typeof customer !== 'string' && typeof customer !== 'number')
      return problem(reply, 400, 'invalid preference', [
        'customer: expected the external id (string) or internal id (number)',
      ]);
    const ua = request.headers['user-agent'];
    const evidence = requestEvidence(ctx.config.secret, 'api', { ip: request.ip, ...(ua ? { userAgent: ua } : {}) });
    return reply.code(200).send(await setPreference(ctx, customer, choice, evidence));
  });

  app.get<{ Params: { customer: string } }>('/api/preferences/:customer', async (request, reply) => {
    return reply.code(200).send(await getPreferences(ctx, request.params.customer));
  });

  app.post(INBOUND_PATH, async (request, reply) => {
    const raw = request.body;
    if (!Buffer.isBuffer(raw) || raw.length === 0)
      return problem(reply, 400, 'expected the raw mail as the body (content-type message/rfc822)');
    return reply.code(200).send(await engine.inbound(raw));
  });

  app.post('/api/trigger', async (request, reply) => {
    const parsed = TriggerBody.safeParse(request.body);
    if (!parsed.success) return problem(reply, 400, 'invalid trigger', issuesOf(parsed.error, TriggerBody));
    const { sequence, customer, data } = parsed.data;
    if (!ctx.sequences.ids().includes(sequence)) return problem(reply, 404, `sequence "${sequence}" not found`);
    const result = await engine.trigger(sequence, customer, data);
    return reply.code(200).send(result);
  });
};
