import { BYTES } from '../../util/limits.js';
import type { FastifyPluginAsync } from 'fastify';
import type { KeyObject } from 'node:crypto';
import { classifyClick, classifyOpen, type Verdict } from '../../tracking/classify.js';
import {
  mapSendgridEvent,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridPublicKey,
  verifySendgridSignature,
  type SendgridEvent,
} from '../../tracking/sendgrid.js';

/** Event types whose consequences (suppression, consent withdrawal) are applied before answering. */
const WITH_CONSEQUENCES = new Set(['bounce', 'complaint', 'unsubscribe']);

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * `POST /webhooks/sendgrid`: SendGrid's signed Event Webhook. The ECDSA signature over timestamp
 * and raw body is verified with `server.sendgridWebhookPublicKey` (401 and nothing stored when it
 * is missing or wrong, or no key is configured). Events are mapped to our message by the
 * `comeback_message_id` custom argument and deduplicated by `sg_event_id` (a redelivered batch
 * is stored once). Bounces, complaints and unsubscribes are applied at once (suppression, consent
 * withdrawal); the others go through the batch writer, flushed before the 200, so SendGrid's
 * retry covers a crash.
 */
export const sendgridRoutes: FastifyPluginAsync = async (app) => {
  const { engine, ctx, tracker, writer, metrics } = app.comeback;
  const configured = ctx.config.server.sendgridWebhookPublicKey;
  const key: KeyObject | undefined = configured ? sendgridPublicKey(configured) : undefined;
  const count = (outcome: string, n = 1) => n > 0 && metrics.webhook.inc({ provider: 'sendgrid', outcome }, n);

  /** Provider event ids of the batch already stored (a redelivery); the unique index settles races. */
  async function storedProviderIds(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await ctx.k
        .selectFrom('events')
        .select('provider_event_id')
        .where('provider_event_id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) if (r.provider_event_id) found.add(r.provider_event_id);
    }
    return found;
  }

  // The signature covers the exact bytes: keep the raw body for this route.
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: BYTES.webhookBody },
    (_req, body, done) => done(null, body),
  );

  app.post('/webhooks/sendgrid', async (request, reply) => {
    const raw = request.body;
    if (
      !key ||
      !Buffer.isBuffer(raw) ||
      !verifySendgridSignature(
        key,
        raw,
        header(request.headers[SENDGRID_SIGNATURE_HEADER]),
        header(request.headers[SENDGRID_TIMESTAMP_HEADER]),
      )
    ) {
      count('bad_signature');
      return reply.code(401).send({
        error: key
          ? 'signature verification failed'
          : 'no SendGrid webhook key configured (server.sendgridWebhookPublicKey)',
      });
    }
    let events: SendgridEvent[];
    try {
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      if (!Array.isArray(parsed)) throw new Error('expected a JSON array of events');
      events = parsed as SendgridEvent[];
    } catch (err) {
      count('bad_body');
      return reply.code(400).send({ error: (err as Error).message });
    }
    let accepted = 0;
    let duplicates = 0;
    let ignored = 0;
    const mappedEvents = events.map((e) =>
      typeof e === 'object' && e !== null ? mapSendgridEvent(e) : ({ skip: 'not_tracked' } as const),
    );
    const seen = await storedProviderIds(mappedEvents.flatMap((m) => ('skip' in m ? [] : [m.providerEventId])));
    for (const [i, e] of events.entries()) {
      const mapped = mappedEvents[i]!;
      if ('skip' in mapped) {
        ignored++;
        continue;
      }
      if (seen.has(mapped.providerEventId)) {
        duplicates++;
        continue;
      }
      seen.add(mapped.providerEventId);
      const m = await tracker.message(mapped.messageId);
      if (!m) {
        ignored++;
        continue;
      }
      const at = mapped.at ?? ctx.clock.now();
      if (WITH_CONSEQUENCES.has(mapped.type)) {
        const stored = await engine.events.record({
          messageId: m.id,
          type: mapped.type as 'bounce' | 'complaint' | 'unsubscribe',
          source: 'sendgrid',
          providerEventId: mapped.providerEventId,
          detail: mapped.detail,
          at,
        });
        if (stored) accepted++;
        else duplicates++;
        continue;
      }
      let verdict: Verdict = { machine: false };
      let linkIndex: number | null = null;
      const shape = {
        userAgent: e.useragent,
        ip: e.ip,
        sinceSentMs: m.sentAt !== null && at >= m.sentAt ? at - m.sentAt : undefined,
      };
      if (mapped.type === 'open')
        verdict = mapped.providerMachine
          ? { machine: true, reason: 'provider_machine_open' }
          : classifyOpen(shape, ctx.config.tracking);
      if (mapped.type === 'click') {
        verdict = classifyClick(shape, {}, ctx.config.tracking);
        const i = m.links.indexOf(String(mapped.detail.url ?? ''));
        linkIndex = i >= 0 ? i : null;
      }
      if (mapped.type === 'open' || mapped.type === 'click')
        metrics.events.inc({ type: mapped.type, verdict: verdict.machine ? 'machine' : 'human' });
      await writer.push({
        message_id: m.id,
        customer_id: m.customerId,
        enrollment_id: m.enrollmentId,
        type: mapped.type,
        link_index: linkIndex,
        machine: verdict.machine ? 1 : 0,
        machine_reason: verdict.machine ? verdict.reason : null,
        source: 'sendgrid',
        provider_event_id: mapped.providerEventId,
        user_agent: e.useragent ? String(e.useragent).slice(0, 512) : null,
        detail: JSON.stringify(mapped.detail),
        occurred_at: at,
      });
      accepted++;
    }
    await writer.flush();
    count('accepted', accepted);
    count('duplicate', duplicates);
    count('ignored', ignored);
    return reply.code(200).send({ received: events.length, accepted, duplicates, ignored });
  });
};
