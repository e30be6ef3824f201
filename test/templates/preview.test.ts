import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderPreview } from '../../src/cli/commands/preview.js';
import { buildProgram } from '../../src/cli/main.js';
import { createEngine, DAY } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { TEMPLATES_DIR } from './fixtures.js';

const SEQUENCE = `id: preview-test
name: Preview test
version: 1
audience: { trigger: manual }
consent: [double_opt_in]
salutation: formal
steps:
  - id: survey
    template: winback/reason-survey
    subject: { de: "{{salutation}}, eine kurze Frage", en: "{{salutation}}, one quick question" }
    preheader: { de: "Ein Klick genügt", en: "One click is enough" }
    coupon: { percent: 5, valid: 30d }
  - id: offer
    template: winback/offer
    subject: { de: "Ein Dankeschön für Sie", en: "A thank-you" }
    coupon: { percent: 10, valid: 14d }
    variants:
      - id: fixed
        coupon: { amount: 500, valid: 14d }
`;

let dir: string;
let config: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comeback-preview-'));
  mkdirSync(join(dir, 'sequences'));
  writeFileSync(join(dir, 'sequences', 'preview-test.yaml'), SEQUENCE);
  config = join(dir, 'comeback.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      database: join(dir, 'shop.db'),
      sequencesDir: join(dir, 'sequences'),
      templatesDir: TEMPLATES_DIR,
    }),
  );
  const engine = await createEngine(
    { database: join(dir, 'shop.db'), sequencesDir: join(dir, 'sequences'), templatesDir: TEMPLATES_DIR },
    { transport: new MemoryTransport() },
  );
  await engine.customers.upsert({
    externalId: 'anna',
    email: 'anna@example.com',
    firstName: 'Anna',
    lastName: 'Müller',
    gender: 'f',
    title: 'Dr.',
    locale: 'de-DE',
  });
  await engine.products.upsert([
    { externalId: 'TEA-2', name: 'Matcha', category: 'Tee', priceMinor: 2990, url: 'https://shop.example.com/p/tea-2' },
  ]);
  await engine.orders.record({
    externalId: 'o1',
    customerExternalId: 'anna',
    orderedAt: Date.now() - 120 * DAY,
    totalMinor: 1290,
    items: [{ sku: 'TEA-1', name: 'Sencha', category: 'Tee', unitPriceMinor: 1290 }],
  });
  await engine.close();
});

afterEach(() => vi.restoreAllMocks());

async function cli(...args: string[]): Promise<string> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await buildProgram().parseAsync(['node', 'comeback', '--config', config, ...args]);
  return out;
}

describe('comeback preview', () => {
  it('renders a step exactly as the customer would get it, without sending or recording anything', async () => {
    const out = await cli('preview', 'preview-test', 'survey', '--customer', 'anna');
    expect(out).toContain('To: anna@example.com');
    expect(out).toContain('Subject: Sehr geehrte Frau Dr. Müller, eine kurze Frage');
    expect(out).toContain('Preheader: Ein Klick genügt');
    expect(out).toMatch(/Template: .*winback\/reason-survey\.de\.mjml \(de\)/);
    expect(out).toMatch(/\nDie Preise sind mir zu hoch <http:\/\/localhost:8080\/r\/[^>]+>\n/); // one line per reason
    expect(out).toContain('CB-PREVIEW00');
    expect(out).toContain('5\u00a0% Rabatt');
    const engine = await createEngine(
      { database: join(dir, 'shop.db'), sequencesDir: join(dir, 'sequences') },
      { transport: new MemoryTransport() },
    );
    try {
      expect(await engine.ctx.k.selectFrom('coupons').selectAll().execute()).toEqual([]);
      expect(await engine.ctx.k.selectFrom('messages').selectAll().execute()).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('takes a variant and a locale, prints only the text part with --text, writes the HTML with --html', async () => {
    const html = join(dir, 'offer.html');
    const out = await cli(
      'preview',
      'preview-test',
      'offer',
      '--customer',
      'anna',
      '--variant',
      'fixed',
      '--locale',
      'en',
      '--text',
      '--html',
      html,
    );
    expect(out).not.toContain('Subject:');
    expect(out).toContain('Dear Dr Müller,');
    expect(out).toContain('€5.00 off');
    expect(out).toContain('Matcha'); // recommended: same category, not owned, in stock
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>[\s\S]*lang="en"/);
  });

  it('without --customer renders for a made-up sample customer in the default locale, with the configured sender', async () => {
    const out = await cli('preview', 'preview-test', 'offer');
    expect(out).toContain('To: anna.mueller@example.com (a made-up sample customer; --customer ID shows a real one)');
    expect(out).toContain('Subject: A thank-you');
    expect(out).toMatch(/Template: .*winback\/offer\.en\.mjml \(en\)/);
    expect(out).toContain('Dear Dr Müller,');
    expect(out).toContain('10% off'); // the step's coupon, not the sample's
    const de = await cli('preview', 'preview-test', 'survey', '--locale', 'de');
    expect(de).toContain('Subject: Sehr geehrte Frau Dr. Müller, eine kurze Frage');
    const sender = {
      name: 'Tea & Co',
      from: 'hello@tea.example',
      postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg',
    };
    const engine = await createEngine(
      { database: join(dir, 'shop.db'), sequencesDir: join(dir, 'sequences'), templatesDir: TEMPLATES_DIR, sender },
      { transport: new MemoryTransport() },
    );
    try {
      const p = await renderPreview(engine, 'preview-test', 'offer', {});
      expect(p.from).toBe('"Tea & Co" <hello@tea.example>');
      expect(p.text).toContain('Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg');
      expect(p.text).not.toContain('Comeback Demo Shop');
    } finally {
      await engine.close();
    }
  });

  it('writes screenshots at 375 and 800 px', async () => {
    const png = join(dir, 'shot.png');
    await cli('preview', 'preview-test', 'offer', '--customer', 'anna', '--screenshot', png);
    for (const w of [375, 800])
      expect(
        readFileSync(join(dir, `shot-${w}.png`))
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
    expect(existsSync(png)).toBe(false);
  }, 30_000);

  it('names unknown steps and variants with what exists', async () => {
    const engine = await createEngine(
      { database: join(dir, 'shop.db'), sequencesDir: join(dir, 'sequences'), templatesDir: TEMPLATES_DIR },
      { transport: new MemoryTransport() },
    );
    try {
      await expect(renderPreview(engine, 'preview-test', 'ofer', { customer: 'anna' })).rejects.toThrow(
        /step of preview-test "ofer" not found\. Did you mean "offer"\?/,
      );
      await expect(renderPreview(engine, 'preview-test', 'offer', { customer: 'anna', variant: 'b' })).rejects.toThrow(
        /Variants: fixed/,
      );
      await expect(renderPreview(engine, 'preview-test', 'offer', { customer: 'nobody' })).rejects.toThrow(
        /customer "nobody" not found.*or leave --customer out for a made-up sample customer/,
      );
    } finally {
      await engine.close();
    }
  });
});
