import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { preferencesOf } from '../../consent/preference-store.js';
import { FREQUENCIES, requestEvidence, SNOOZE_DAYS, type ChoiceEvidence, type Preferences } from '../../consent/preferences.js';
import { consentStates } from '../../consent/ledger.js';
import { setPreference } from '../../engine/preferences.js';
import { ComebackError, InputError } from '../../errors.js';
import { trackUnsubscribe } from '../../tracking/handlers.js';
import { BYTES } from '../../util/limits.js';
import { esc, page, pageHeaders, sendInvalid } from '../pages.js';
import { fill, preferenceTexts } from '../preference-texts.js';

/** How long after sending a preference link works (the footer link of an old mail expires). */
export const PREFERENCE_LINK_TTL_MS = 400 * 86_400_000;

const LANGUAGES = { de: 'Deutsch', en: 'English' } as const;
const STYLE =
  '<style>body{margin:1rem auto}section{border-top:1px solid #cbd2d9;padding:.5rem 0 1rem}h2{font-size:1.1rem;margin:.5rem 0}' +
  'fieldset{border:0;padding:0;margin:0}legend{padding:0;margin-bottom:.3rem}label{padding:.35rem 0}input{margin-right:.5rem;width:1.1rem;height:1.1rem}' +
  'button{min-height:44px;margin-top:.5rem}.stop{border:2px solid #8a1c1c;border-radius:6px;padding:.5rem 1rem 1rem}' +
  '.stop button{background:#8a1c1c}.status{background:#e3f2e1;color:#1d4620;padding:.6rem 1rem;border-radius:4px}select{min-height:44px}.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}</style>';

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
  const { ctx } = app.comeback;
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
    if (!m || m.erased_at !== null || m.sent_at === null || ctx.clock.now() - m.sent_at > PREFERENCE_LINK_TTL_MS) return undefined;
    return { messageId: m.id, customerId: m.customer_id, locale: m.locale };
  }

  async function render(reply: FastifyReply, target: Target, token: string, status: string | null, code = 200): Promise<FastifyReply> {
    const prefs = (await preferencesOf(ctx.k, [target.customerId])).get(target.customerId)!;
    const objected = (await consentStates(ctx.k, [target.customerId])).get(target.customerId)!.objected;
    const lang = (prefs.locale ?? target.locale).toLowerCase().startsWith('de') ? 'de' : 'en';
    const html = body(preferenceTexts(ctx.config.templatesDir, lang), lang, { ...prefs, snoozedUntil: prefs.snoozedUntil !== null && prefs.snoozedUntil > ctx.clock.now() ? prefs.snoozedUntil : null }, objected, ctx.config.topics, `/p/${token}`, status);
    return pageHeaders(reply).code(code).send(page(lang, preferenceTexts(ctx.config.templatesDir, lang).title ?? 'Email preferences', html));
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
    if (from !== undefined && from !== 'null' && from !== origin) return reply.code(403).send('cross-site form refused\n');
    const evidence = requestEvidence(ctx.config.secret, 'page', { ip: request.ip, userAgent: request.headers['user-agent'], messageId: target.messageId });
    try {
      const changed = await apply(request, target, evidence);
      return await render(reply, target, request.params.token, changed === 'unsubscribed' ? 'unsubscribed' : changed ? 'saved' : 'unchanged');
    } catch (err) {
      if (err instanceof InputError) return render(reply, target, request.params.token, null, 400);
      if (err instanceof ComebackError && err.code === 'E_NOT_FOUND') return sendInvalid(reply, 404);
      throw err;
    }
  });

  /** Applies the posted form; true when something was recorded. */
  async function apply(request: FastifyRequest, target: Target, evidence: ChoiceEvidence): Promise<boolean | 'unsubscribed'> {
    const b = request.body;
    const choice = field(b, 'choice')[0];
    const set = async (c: unknown) => (await setPreference(ctx, target.customerId, c, evidence)).recorded;
    switch (choice) {
      case 'unsubscribe': {
        const token = ctx.signer.sign({ purpose: 'unsubscribe', id: target.messageId });
        await trackUnsubscribe(ctx, token, 'all', { via: 'preference_page', evidence: { ...evidence } });
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
        for (const t of wanted) if (!ctx.config.topics.includes(t)) throw new InputError('preference', [`topic: unknown topic "${t}"`]);
        let any = false;
        for (const t of ctx.config.topics) any = (await set({ topic: t, subscribed: wanted.has(t) })) || any;
        return any;
      }
      default:
        throw new InputError('preference', ['choice: expected unsubscribe, snooze, frequency, topics or language']);
    }
  }
};

/** The page body: trusted HTML, every text escaped. */
function body(t: Record<string, string>, lang: 'de' | 'en', p: Preferences, objected: boolean, topics: readonly string[], action: string, status: string | null): string {
  const x = (k: string) => esc(t[k] ?? k);
  const form = (choice: string, inner: string, button: string) =>
    `<form method="post" action="${esc(action)}"><input type="hidden" name="choice" value="${choice}">${inner}<button type="submit">${x(button)}</button></form>`;
  const radio = (name: string, value: string | number, label: string, checked: boolean, id: string) =>
    `<label for="${id}"><input type="radio" id="${id}" name="${name}" value="${esc(value)}"${checked ? ' checked' : ''}>${esc(label)}</label>`;
  const out: string[] = [STYLE];
  const shown = objected && status !== 'unchanged' ? 'unsubscribed' : status;
  if (shown) out.push(`<p class="status" role="status">${x(shown)}</p>`);
  else out.push(`<p>${x('intro')}</p>`);
  out.push(`<section class="stop" aria-labelledby="h-stop"><h2 id="h-stop">${x('unsubscribe_heading')}</h2><p>${x('unsubscribe_text')}</p>${form('unsubscribe', '', 'unsubscribe_button')}</section>`);
  const until = p.snoozedUntil !== null ? new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'long' }).format(p.snoozedUntil) : null;
  const snooze = SNOOZE_DAYS.map((d, i) => radio('days', d, fill(t.snooze_days, { days: d }, `${d} days`), p.snooze?.days === d || (!p.snooze && i === 1), `snooze-${d}`)).join('');
  out.push(
    `<section aria-labelledby="h-snooze"><h2 id="h-snooze">${x('snooze_heading')}</h2>` +
      (until ? `<p>${esc(fill(t.snoozed_until, { date: until }))}</p>${form('snooze', '<input type="hidden" name="days" value="0">', 'snooze_end')}` : '') +
      form('snooze', `<fieldset><legend>${x('snooze_text')}</legend>${snooze}</fieldset>`, 'snooze_button') +
      '</section>',
  );
  const freq = FREQUENCIES.map((f) => radio('frequency', f, t[`frequency_${f}`] ?? f, p.frequency === f, `freq-${f}`)).join('');
  out.push(`<section aria-labelledby="h-freq"><h2 id="h-freq">${x('frequency_heading')}</h2>${form('frequency', `<fieldset><legend class="vh">${x('frequency_heading')}</legend>${freq}</fieldset>`, 'frequency_button')}</section>`);
  if (topics.length > 0) {
    const boxes = topics
      .map((tp) => `<label for="topic-${esc(tp)}"><input type="checkbox" id="topic-${esc(tp)}" name="topic" value="${esc(tp)}"${p.topicsOut.includes(tp) ? '' : ' checked'}>${esc(t[`topic.${tp}`] ?? tp)}</label>`)
      .join('');
    out.push(`<section aria-labelledby="h-topics"><h2 id="h-topics">${x('topics_heading')}</h2>${form('topics', `<fieldset><legend class="vh">${x('topics_heading')}</legend>${boxes}</fieldset>`, 'topics_button')}</section>`);
  }
  const options = Object.entries(LANGUAGES)
    .map(([code, name]) => `<option value="${code}" lang="${code}"${code === lang ? ' selected' : ''}>${name}</option>`)
    .join('');
  out.push(`<section aria-labelledby="h-lang"><h2 id="h-lang">${x('language_heading')}</h2>${form('language', `<label for="locale" class="vh">${x('language_heading')}</label><select id="locale" name="locale">${options}</select><br>`, 'language_button')}</section>`);
  return out.join('');
}
