import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { preferencesOf } from '../../consent/preference-store.js';
import { requestEvidence, type ChoiceEvidence } from '../../consent/preferences.js';
import { consentStates } from '../../consent/ledger.js';
import { setPreference } from '../../engine/preferences.js';
import { ComebackError, InputError } from '../../errors.js';
import { BYTES } from '../../util/limits.js';
import { page, pageHeaders, sendInvalid } from '../pages.js';
import { preferencePageBody } from '../preference-page.js';
import { preferenceTexts } from '../preference-texts.js';

/** How long after sending a preference link works (the footer link of an old mail expires). */
export const PREFERENCE_LINK_TTL_MS = 400 * 86_400_000;

interface Target {
  messageId: number;
  customerId: number;
  locale: string;
}

function field(body: unknown, name: string): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const v = (body as Record<string, unknown>)[name];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/**
 * The preference page behind each mail's footer link (`/p/<signed token>`): unsubscribe from
 * everything (always first, one click), snooze 30/90/180 days, one mail a week or a month, the
 * config's topics, the language. Every form posts back to the same signed URL, with the same
 * evidence (message, keyed hashes of IP and user agent), through `setPreference`, the one door the
 * API and the library use as well. A forged, altered or expired link, or an erased customer, gets
 * the generic "link not valid" page and changes nothing.
 */
export const preferenceRoutes: FastifyPluginAsync = async (app) => {
  const { ctx, tracker } = app.comeback;
  const origin = new URL(ctx.config.publicUrl).origin;

  async function resolve(token: string): Promise<Target | undefined> {
    const p = ctx.signer.verify(token, 'preferences');
    if (!p) return undefined;
    const m = await ctx.k
      .selectFrom('messages')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select(['messages.id', 'messages.customer_id', 'messages.sent_at', 'customers.erased_at', 'customers.locale'])
      .where('messages.id', '=', p.id)
      .executeTakeFirst();
    if (!m || m.erased_at !== null || m.sent_at === null || ctx.clock.now() - m.sent_at > PREFERENCE_LINK_TTL_MS)
      return undefined;
    return { messageId: m.id, customerId: m.customer_id, locale: m.locale };
  }

  async function render(
    reply: FastifyReply,
    target: Target,
    token: string,
    status: string | null,
    code = 200,
  ): Promise<FastifyReply> {
    const prefs = (await preferencesOf(ctx.k, [target.customerId])).get(target.customerId)!;
    const objected = (await consentStates(ctx.k, [target.customerId])).get(target.customerId)!.objected;
    const lang = (prefs.locale ?? target.locale).toLowerCase().startsWith('de') ? 'de' : 'en';
    const texts = preferenceTexts(ctx.config.templatesDir, lang);
    // An ended snooze is not shown as running.
    const running = prefs.snoozedUntil !== null && prefs.snoozedUntil > ctx.clock.now();
    const html = preferencePageBody({
      texts,
      lang,
      prefs: running ? prefs : { ...prefs, snoozedUntil: null },
      objected,
      topics: ctx.config.topics,
      action: `/p/${token}`,
      status,
    });
    return pageHeaders(reply)
      .code(code)
      .send(page(lang, texts.title ?? 'Email preferences', html));
  }

  app.get<{ Params: { token: string } }>('/p/:token', async (request, reply) => {
    const target = await resolve(request.params.token);
    if (!target) return sendInvalid(reply, 404);
    return render(reply, target, request.params.token, null);
  });

  app.post<{ Params: { token: string } }>('/p/:token', { bodyLimit: BYTES.unsubscribeBody }, async (request, reply) => {
    const target = await resolve(request.params.token);
    if (!target) return sendInvalid(reply, 404);
    // A form posted from another site (CSRF) is refused; mail clients' one-click POSTs go to /u/.
    const from = request.headers.origin;
    if (from !== undefined && from !== 'null' && from !== origin)
      return reply.code(403).send('cross-site form refused\n');
    const evidence = requestEvidence(ctx.config.secret, 'page', {
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      messageId: target.messageId,
    });
    try {
      const changed = await apply(request, target, evidence);
      return await render(
        reply,
        target,
        request.params.token,
        changed === 'unsubscribed' ? 'unsubscribed' : changed ? 'saved' : 'unchanged',
      );
    } catch (err) {
      if (err instanceof InputError) return render(reply, target, request.params.token, null, 400);
      if (err instanceof ComebackError && err.code === 'E_NOT_FOUND') return sendInvalid(reply, 404);
      throw err;
    }
  });

  /** Applies the posted form; true when something was recorded. */
  async function apply(
    request: FastifyRequest,
    target: Target,
    evidence: ChoiceEvidence,
  ): Promise<boolean | 'unsubscribed'> {
    const b = request.body;
    const choice = field(b, 'choice')[0];
    const set = async (c: unknown) => (await setPreference(ctx, target.customerId, c, evidence)).recorded;
    switch (choice) {
      case 'unsubscribe': {
        const token = ctx.signer.sign({ purpose: 'unsubscribe', id: target.messageId });
        await tracker.unsubscribe(token, 'all', { via: 'preference_page', evidence: { ...evidence } });
        return 'unsubscribed';
      }
      case 'snooze':
        return set({ snooze: Number(field(b, 'days')[0]) });
      case 'frequency':
        return set({ frequency: field(b, 'frequency')[0] });
      case 'language':
        return set({ locale: field(b, 'locale')[0] });
      case 'topics': {
        const wanted = new Set(field(b, 'topic'));
        for (const t of wanted)
          if (!ctx.config.topics.includes(t)) throw new InputError('preference', [`topic: unknown topic "${t}"`]);
        let any = false;
        for (const t of ctx.config.topics) any = (await set({ topic: t, subscribed: wanted.has(t) })) || any;
        return any;
      }
      default:
        throw new InputError('preference', ['choice: expected unsubscribe, snooze, frequency, topics or language']);
    }
  }
};
