/**
 * Render benchmark: complete personalised messages per second (HTML + text + subject, preheader
 * and headers, links rewritten to signed tracking links) through the template pipeline (MJML and
 * the text part compiled once per template version, only Handlebars per recipient), beside a naive
 * baseline that fills the MJML with Handlebars, compiles it with MJML and converts the HTML to text
 * for every recipient. The six example templates in de and en take turns. A second line adds
 * the personalisation from purchase history in SQLite to both sides.
 *   npm run bench -- render [--seconds 5] [--baseline 60] [--json]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { convert } from 'html-to-text';
import mjml2html from 'mjml';
import { createEngine } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { assertHeaderSafe } from '../src/delivery/compose.js';
import { MemoryTransport } from '../src/delivery/memory.js';
import { personalization } from '../src/engine/personalize.js';
import {
  renderBody,
  renderHeaderText,
  rewriteLinks,
  TemplateStore,
  type CompiledTemplate,
} from '../src/templates/index.js';
import { sampleData } from '../src/templates/sample.js';
import { TokenSigner } from '../src/tracking/tokens.js';
import { TrackingUrls } from '../src/tracking/urls.js';
import { report } from './report.js';

const NAMES = ['miss-you', 'reason-survey', 'offer', 'apology', 'new-arrivals', 'welcome-back'].map(
  (n) => `winback/${n}`,
);
const SUBJECT: Record<string, string> = {
  de: '{{salutation}}, wir haben etwas für {{formal "Sie" "dich"}}',
  en: '{{#if first_name}}{{first_name}}, w{{else}}W{{/if}}e miss you',
};
const PREHEADER: Record<string, string> = {
  de: 'Ihr Code {{#if coupon}}{{coupon.code}}{{/if}}',
  en: 'Your code {{#if coupon}}{{coupon.code}}{{/if}}',
};
const FIRST = ['Anna', 'Jürgen', 'سارة', 'Zoë 🌸', '<b>Bob</b>', 'Chloé', 'Łukasz', 'Mia'];
const LAST = ['Müller', 'Schmidt', "O'Brien", 'Nguyen', 'Weber', 'Kowalski', 'Fischer', 'Lee'];

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** One recipient's data as personalisation would produce it (varied names, locales, styles, coupons). */
function recipients(count: number): { name: string; locale: string; data: Record<string, unknown> }[] {
  return Array.from({ length: count }, (_, i) => {
    const locale = i % 2 ? 'de' : 'en';
    const data = sampleData({
      locale,
      style: i % 3 ? 'formal' : 'informal',
      coupon: i % 4 !== 0,
      images: 'remote',
      customer: {
        first_name: FIRST[i % FIRST.length]!,
        last_name: LAST[(i * 7) % LAST.length]!,
        gender: ['f', 'm', null][i % 3]!,
        title: i % 5 ? null : 'Dr.',
      },
    });
    if (data.coupon)
      (data.coupon as { code: string }).code = `CB-${(0x10000000 + i * 7919).toString(16).toUpperCase()}`;
    return { name: NAMES[i % NAMES.length]!, locale, data };
  });
}

/** Everything the sender does per message after personalisation: subject, preheader, body, headers. */
function compose(
  hb: TemplateStore['hb'],
  t: CompiledTemplate,
  base: Record<string, unknown>,
  locale: string,
  id: number,
  urls: TrackingUrls,
) {
  const data: Record<string, unknown> = { ...base, unsubscribe_url: urls.unsubscribe(id), webview_url: urls.view(id) };
  const subject = renderHeaderText(hb, SUBJECT[locale]!, data);
  data.preheader = renderHeaderText(hb, PREHEADER[locale]!, data);
  const body = renderBody(t, data, (_target, i) => urls.click(id, i), urls.open(id));
  const headers = {
    Subject: subject,
    'List-Unsubscribe': `<${data.unsubscribe_url}>, <mailto:unsubscribe@example.com?subject=unsubscribe-${id}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    'X-Comeback-Message': String(id),
  };
  for (const [k, v] of Object.entries(headers)) assertHeaderSafe(k, v);
  return body.html.length + body.text.length + subject.length;
}

/** The naive way: Handlebars over the MJML source, MJML compile and HTML → text per recipient. */
async function composeNaive(
  store: TemplateStore,
  name: string,
  base: Record<string, unknown>,
  locale: string,
  id: number,
  urls: TrackingUrls,
) {
  const data: Record<string, unknown> = { ...base, unsubscribe_url: urls.unsubscribe(id), webview_url: urls.view(id) };
  const hb = store.hb;
  const subject = hb.compile(SUBJECT[locale]!, { noEscape: true })(data);
  data.preheader = hb.compile(PREHEADER[locale]!, { noEscape: true })(data);
  const source = hb.compile(store.expand(name, locale).source)(data);
  const { html } = await mjml2html(source, { validationLevel: 'soft', ignoreIncludes: true, keepComments: false });
  const text = convert(html, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }] });
  const body = rewriteLinks(html, text, data, { utm: null, utmHosts: null }, (_target, i) => urls.click(id, i));
  return body.html.length + body.text.length + subject.length;
}

/**
 * The sender's whole path after consent: personalisation from purchase history in SQLite (two
 * queries per recipient, shared per-shop data) and the render, beside the same personalisation
 * with the naive render.
 */
async function withPersonalization(
  store: TemplateStore,
  urls: TrackingUrls,
  seconds: number,
  sample: number,
): Promise<{ rate: number; baseline: number; customers: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-render-'));
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const engine = await createEngine(
    { database: join(dir, 'bench.db'), sequencesDir: join(dir, 'none') },
    { clock, transport: new MemoryTransport() },
  );
  try {
    const customers = 2000;
    const cats = ['Tee', 'Zubehör', 'Feinkost', 'Kaffee'];
    await engine.products.upsert(
      Array.from({ length: 200 }, (_, i) => ({
        externalId: `P${i}`,
        name: `Produkt ${i}`,
        category: cats[i % 4]!,
        priceMinor: 500 + i * 37,
        url: `https://shop.example.com/p/${i}`,
        inStock: i % 9 !== 0,
      })),
    );
    for (let from = 0; from < customers; from += 200) {
      await engine.customers.upsert(
        Array.from({ length: 200 }, (_, k) => from + k).map((i) => ({
          externalId: `C${i}`,
          email: `c${i}@example.com`,
          firstName: FIRST[i % FIRST.length]!,
          lastName: LAST[i % LAST.length]!,
          gender: (['f', 'm', 'd'] as const)[i % 3],
          locale: i % 2 ? 'de' : 'en',
        })),
      );
    }
    for (let i = 0; i < customers * 3; i++) {
      const items = [0, 1, 2].slice(0, 1 + (i % 3)).map((k) => ({
        sku: `P${(i * 13 + k * 7) % 200}`,
        name: `Produkt ${(i * 13 + k * 7) % 200}`,
        category: cats[(i + k) % 4]!,
        unitPriceMinor: 990,
      }));
      await engine.orders.record({
        externalId: `O${i}`,
        customerExternalId: `C${i % customers}`,
        orderedAt: clock.now() - (30 + (i % 300)) * 86_400_000,
        totalMinor: 990 * items.length,
        items,
      });
    }
    const ctx = engine.ctx;
    const rows = await ctx.k.selectFrom('customers').selectAll().execute();
    const one = async (i: number, naive: boolean) => {
      const c = rows[i % rows.length]!;
      const name = NAMES[i % NAMES.length]!;
      const t = await store.get(name, c.locale);
      const data = await personalization(ctx.k, ctx.config, urls, c, i + 1, clock.now(), {
        coupon: null,
        style: 'formal',
        locale: t.locale,
        uses: t.uses,
      });
      return naive
        ? composeNaive(store, name, data, t.locale, i + 1, urls)
        : compose(store.hb, t, data, t.locale, i + 1, urls);
    };
    for (let i = 0; i < 500; i++) await one(i, false);
    let n = 0;
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) for (let j = 0; j < 200; j++, n++) await one(n, false);
    const rate = n / ((performance.now() - started) / 1000);
    const naiveStart = performance.now();
    for (let i = 0; i < sample; i++) await one(i, true);
    return { rate, baseline: sample / ((performance.now() - naiveStart) / 1000), customers };
  } finally {
    await engine.close();
  }
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      baseline: { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = join(import.meta.dirname, '../../templates');
  const store = new TemplateStore(dir);
  const urls = new TrackingUrls('https://t.example.com', new TokenSigner('bench-secret-0123456789abcdef'));
  const people = recipients(1000);

  // Warm up: first compile of every template version (once per version, not per recipient).
  const compileStart = performance.now();
  for (const name of NAMES) for (const l of ['de', 'en']) await store.get(name, l);
  const compileMs = (performance.now() - compileStart) / (NAMES.length * 2);
  for (let i = 0; i < 2000; i++) {
    const p = people[i % people.length]!;
    compose(store.hb, await store.get(p.name, p.locale), p.data, p.locale, i + 1, urls);
  }

  // Pipeline and baseline take turns in rounds, each starting on a collected heap, so load from
  // other processes during the run falls on both sides alike and the ratio stays meaningful.
  const rounds = 6;
  const sample = Number(values.baseline);
  await composeNaive(store, NAMES[0]!, people[0]!.data, people[0]!.locale, 1, urls); // warm-up
  let n = 0;
  let bytes = 0;
  let pipelineMs = 0;
  let naive = 0;
  let naiveMs = 0;
  for (let round = 0; round < rounds; round++) {
    collectGarbage();
    const started = performance.now();
    const until = started + (Number(values.seconds) * 1000) / rounds;
    while (performance.now() < until) {
      for (let j = 0; j < 100; j++, n++) {
        const p = people[n % people.length]!;
        bytes += compose(store.hb, await store.get(p.name, p.locale), p.data, p.locale, n + 1, urls);
      }
    }
    pipelineMs += performance.now() - started;
    collectGarbage();
    await composeNaive(store, NAMES[round % NAMES.length]!, people[round]!.data, people[round]!.locale, 1, urls); // untimed: warm again after the pipeline's turn
    const naiveStart = performance.now();
    for (let i = 0; i < Math.ceil(sample / rounds); i++, naive++) {
      const p = people[naive % people.length]!;
      await composeNaive(store, p.name, p.data, p.locale, naive + 1, urls);
    }
    naiveMs += performance.now() - naiveStart;
  }
  const rate = n / (pipelineMs / 1000);
  const baseline = naive / (naiveMs / 1000);

  const full = await withPersonalization(store, urls, Number(values.seconds), Math.ceil(sample / 2));

  report(
    {
      name: 'render_messages',
      ops_per_s: Math.round(rate),
      baseline_ops_per_s: Number(baseline.toFixed(1)),
      messages: n,
      avg_message_kib: Number((bytes / n / 1024).toFixed(1)),
      compile_ms_per_version: Number(compileMs.toFixed(1)),
    },
    values.json!,
  );
  report(
    {
      name: 'render_messages_personalized_sqlite',
      ops_per_s: Math.round(full.rate),
      baseline_ops_per_s: Number(full.baseline.toFixed(1)),
      customers: full.customers,
    },
    values.json!,
  );
}
