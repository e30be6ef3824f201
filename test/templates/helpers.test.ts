import { describe, expect, it } from 'vitest';
import { cleanName, createHandlebars, salutation, sinceText, agoText } from '../../src/templates/index.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1, 10);
const hb = createHandlebars();
const render = (t: string, data: Record<string, unknown>) =>
  hb.compile(t, { strict: true })({
    locale: 'de-DE',
    currency: 'EUR',
    time_zone: 'Europe/Berlin',
    now: NOW,
    style: 'formal',
    ...data,
  });

describe('Intl helpers', () => {
  it('formats money in the customer locale from minor units', () => {
    expect(render('{{money total}}', { total: 123450 })).toBe('1.234,50\u00a0€');
    expect(render('{{money total}}', { total: 123450, locale: 'en-GB' })).toBe('€1,234.50');
    expect(render('{{money total "JPY"}}', { total: 1500, locale: 'en' })).toBe('¥1,500');
  });

  it('formats dates in the customer time zone', () => {
    const t = Date.UTC(2026, 2, 11, 23, 30); // already 12 March in Berlin
    expect(render('{{date t}}', { t })).toBe('12.03.2026');
    expect(render('{{date t "long"}}', { t })).toBe('12. März 2026');
    expect(render('{{date t "long"}}', { t, locale: 'en-US', time_zone: 'America/New_York' })).toBe('March 11, 2026');
  });

  it('says how long something has been so: "seit 3 Monaten", "for 3 months"', () => {
    expect(sinceText(NOW - 95 * DAY, NOW, 'de')).toBe('seit 3 Monaten');
    expect(sinceText(NOW - 31 * DAY, NOW, 'de')).toBe('seit 4 Wochen');
    expect(sinceText(NOW - 7 * DAY, NOW, 'de')).toBe('seit 7 Tagen');
    expect(sinceText(NOW - 1 * DAY, NOW, 'de')).toBe('seit einem Tag');
    expect(sinceText(NOW - 30 * 30.44 * DAY, NOW, 'de')).toBe('seit 2 Jahren');
    expect(sinceText(NOW - 365 * DAY, NOW, 'de')).toBe('seit 12 Monaten');
    expect(sinceText(NOW - 95 * DAY, NOW, 'en')).toBe('for 3 months');
    expect(sinceText(NOW - 1 * DAY, NOW, 'en')).toBe('for 1 day');
    expect(agoText(NOW - 95 * DAY, NOW, 'de')).toBe('vor 3 Monaten');
    expect(agoText(NOW - 1 * DAY, NOW, 'de')).toBe('gestern');
    expect(render('{{since t}}', { t: NOW - 95 * DAY })).toBe('seit 3 Monaten');
    expect(render('{{ago t}}', { t: NOW - 95 * DAY, locale: 'en' })).toBe('3 months ago');
  });

  it('picks plural forms by the locale rules, with # as the number', () => {
    expect(render('{{plural n "# Bestellung" "# Bestellungen"}}', { n: 1 })).toBe('1 Bestellung');
    expect(render('{{plural n "# Bestellung" "# Bestellungen"}}', { n: 1234 })).toBe('1.234 Bestellungen');
    expect(render('{{plural n "order" "orders"}}', { n: 0, locale: 'en' })).toBe('orders');
    // Polish has a "few" form: 3 zamówienia, 5 zamówień.
    const pl = '{{plural n one="# zamówienie" few="# zamówienia" many="# zamówień" other="# zamówienia"}}';
    expect(render(pl, { n: 3, locale: 'pl' })).toBe('3 zamówienia');
    expect(render(pl, { n: 5, locale: 'pl' })).toBe('5 zamówień');
  });

  it('formats percentages and chooses formal or informal wording', () => {
    expect(render('{{percent 15}}', {})).toBe('15\u00a0%');
    expect(render('{{percent 15}}', { locale: 'en' })).toBe('15%');
    expect(render('{{formal "Sie" "du"}}', {})).toBe('Sie');
    expect(render('{{formal "Sie" "du"}}', { style: 'informal' })).toBe('du');
    expect(render('{{default name "Kundin"}}', { name: null })).toBe('Kundin');
    expect(render('{{#if (eq r "price")}}yes{{/if}}', { r: 'price' })).toBe('yes');
  });

  it('refuses a money value that is no amount instead of printing a blank', () => {
    expect(() => render('{{money total}}', { total: null })).toThrow(/money: expected an amount/);
  });
});

describe('salutation', () => {
  const c = (first: string | null, last: string | null, gender: string | null, title: string | null = null) => ({
    first_name: first,
    last_name: last,
    gender,
    title,
  });

  it('writes the German formal salutation with title', () => {
    expect(salutation(c('Anna', 'Müller', 'f', 'Dr.'), 'de', 'formal')).toBe('Sehr geehrte Frau Dr. Müller');
    expect(salutation(c('Jan', 'Schmidt', 'm'), 'de', 'formal')).toBe('Sehr geehrter Herr Schmidt');
    expect(salutation(c('Prof. Dr.', 'Weber', 'm', 'Prof. Dr.'), 'de-AT', 'formal')).toBe(
      'Sehr geehrter Herr Prof. Dr. Weber',
    );
  });

  it('falls back to a neutral form when gender or name is unknown', () => {
    expect(salutation(c('Alex', 'Schmidt', 'd'), 'de', 'formal')).toBe('Guten Tag Alex Schmidt');
    expect(salutation(c('Alex', 'Schmidt', null), 'de', 'formal')).toBe('Guten Tag Alex Schmidt');
    expect(salutation(c(null, null, 'f'), 'de', 'formal')).toBe('Guten Tag');
    expect(salutation(c(null, null, null), 'en', 'formal')).toBe('Hello');
    expect(salutation(c(null, 'Smith', null), 'en', 'formal')).toBe('Dear Smith');
  });

  it('writes the informal salutation', () => {
    expect(salutation(c('Anna', 'Müller', 'f', 'Dr.'), 'de', 'informal')).toBe('Hallo Anna');
    expect(salutation(c(null, 'Müller', 'f'), 'de', 'informal')).toBe('Hallo');
    expect(salutation(c('Anna', 'Müller', 'f'), 'en', 'informal')).toBe('Hi Anna');
    expect(salutation(c('Anna', 'Müller', 'f'), 'en', 'formal')).toBe('Dear Ms Müller');
    expect(salutation(c('Anna', 'Müller', 'f', 'Dr.'), 'en', 'formal')).toBe('Dear Dr Müller');
  });

  it('cleans names: control and bidi override characters removed, RTL names isolated', () => {
    expect(cleanName('  Anna\r\nBcc: x@evil.example ')).toBe('Anna Bcc: x@evil.example');
    expect(cleanName('Ann\u202Ea')).toBe('Ann a');
    expect(cleanName('\u200f')).toBeNull();
    expect(cleanName('سارة')).toBe('\u2068سارة\u2069');
    expect(cleanName('Zoë 🌸')).toBe('Zoë 🌸');
  });
});
