import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanName, renderBody, renderHeaderText, salutation, TemplateStore } from '../../src/templates/index.js';
import { sampleData } from '../../src/templates/sample.js';
import { section, TEMPLATES_DIR, templatesDir } from './fixtures.js';

const rewrite = (_target: string, i: number) => `http://localhost:8080/c/t${i}`;

/** Data for a customer whose name carries hostile or unusual text, cleaned as personalisation does. */
function withName(first: string, last = 'Test') {
  const data = sampleData({ locale: 'en', style: 'informal' });
  data.first_name = cleanName(first);
  data.last_name = cleanName(last);
  data.salutation = salutation({ first_name: first, last_name: last, gender: null, title: null }, 'en', 'informal');
  return data;
}

describe('escaping customer data', () => {
  const dir = templatesDir({
    'winback/t.en.mjml': section(
      '{{salutation}}, {{#if first_name}}<span title="{{first_name}}">{{first_name}}</span>{{/if}}',
    ),
  });
  const store = new TemplateStore(dir);

  it('escapes script tags in HTML and keeps them readable in the text part', async () => {
    const t = await store.get('winback/t', 'en');
    const r = renderBody(t, withName('<script>alert(1)</script>'), rewrite);
    expect(r.html).not.toContain('<script>alert(1)</script>');
    expect(r.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(r.text).toContain('Hi <script>alert(1)</script>,');
  });

  it('escapes quotes so a name cannot leave an attribute', async () => {
    const t = await store.get('winback/t', 'en');
    const r = renderBody(t, withName('" onmouseover="alert(1)'), rewrite);
    expect(r.html).toContain('title="&quot; onmouseover&#x3D;&quot;alert(1)"');
    expect(r.html).not.toMatch(/title="" onmouseover/);
  });

  it('isolates right-to-left names and removes bidi overrides', async () => {
    const t = await store.get('winback/t', 'en');
    const rtl = renderBody(t, withName('سارة'), rewrite);
    expect(rtl.html).toContain('Hi \u2068سارة\u2069,');
    const override = renderBody(t, withName('Eve\u202Egnp.exe'), rewrite);
    expect(override.html).not.toContain('\u202E');
  });

  it('keeps emoji and accents intact', async () => {
    const t = await store.get('winback/t', 'en');
    const r = renderBody(t, withName('Zoë 🌸'), rewrite);
    expect(r.html).toContain('Hi Zoë 🌸,');
    expect(r.text).toContain('Hi Zoë 🌸,');
  });
});

describe('header values', () => {
  const hb = new TemplateStore(TEMPLATES_DIR).hb;

  it('refuses a subject that renders to CR or LF (header injection)', () => {
    const data = { ...sampleData({ locale: 'en' }), first_name: 'Anna\r\nBcc: all@example.com' };
    expect(() => renderHeaderText(hb, '{{first_name}}, we miss you', data)).toThrow(
      /line break \(header injection refused\)/,
    );
  });

  it('accepts names cleaned by personalisation, emoji included', () => {
    const data = { ...sampleData({ locale: 'en' }), first_name: cleanName('Anna\r\nBcc: x 🌸') };
    expect(renderHeaderText(hb, '{{first_name}}, we miss you', data)).toBe('Anna Bcc: x 🌸, we miss you');
  });

  it('fails a subject whose value is missing instead of sending a blank', () => {
    const data = { ...sampleData({ locale: 'en' }), first_name: null };
    expect(() => renderHeaderText(hb, '{{first_name}}, we miss you', data)).toThrow(
      /\{\{first_name\}\} has no value for this recipient/,
    );
    expect(renderHeaderText(hb, '{{#if first_name}}{{first_name}}, w{{else}}W{{/if}}e miss you', data)).toBe(
      'We miss you',
    );
  });
});

describe('a missing value at send time', () => {
  const dir = templatesDir({ 'winback/t.de.mjml': section('{{first_name}}: {{money last_order.total}}') });

  it('fails the message naming template and variable when a printed value is null', async () => {
    const t = await new TemplateStore(dir).get('winback/t', 'de');
    expect(() => renderBody(t, { ...sampleData(), first_name: null }, rewrite)).toThrow(
      /template winback\/t \(de\): \{\{first_name\}\} has no value for this recipient/,
    );
  });

  it('fails the message when an object the path goes through is missing', async () => {
    const t = await new TemplateStore(dir).get('winback/t', 'de');
    expect(() => renderBody(t, { ...sampleData(), last_order: null }, rewrite)).toThrow(
      /template winback\/t \(de\): a value is missing for this recipient: "total" not defined in null/,
    );
  });

  it('fails the message when the data lacks a key the data model guarantees', async () => {
    const t = await new TemplateStore(
      templatesDir({ 'winback/t.de.mjml': section('{{salutation}}, {{orders_count}}') }),
    ).get('winback/t', 'de');
    const data = sampleData();
    delete data.salutation;
    expect(() => renderBody(t, data, rewrite)).toThrow(
      /template winback\/t \(de\): a value is missing for this recipient: "salutation" not defined in the data/,
    );
  });

  it('fails the message when the data lacks a key entirely', async () => {
    const t = await new TemplateStore(dir).get('winback/t', 'de');
    const data = sampleData();
    delete data.first_name;
    expect(() => renderBody(t, data, rewrite)).toThrow(
      /template winback\/t \(de\): \{\{first_name\}\} has no value for this recipient/,
    );
  });
});

describe('links', () => {
  const body = section(
    [
      '<a href="{{shop_url}}/neu">Neu</a>',
      '<a href="{{shop_url}}/sale?utm_campaign=summer&amp;x=1">Sale</a>',
      '<a href="https://partner.example.org/x">Partner</a>',
      '<a href="mailto:service@example.com?subject=Hilfe">Mail</a>',
      '<a href="{{reason_links.price}}">Preis</a>',
      '<a href="{{shop_url}}/neu">Nochmal neu</a>',
    ].join(' '),
  );

  it('tracks http links with UTM parameters for the shop only, leaves mailto, unsubscribe and survey links alone', async () => {
    const store = new TemplateStore(templatesDir({ 'winback/t.de.mjml': body }));
    const t = await store.get('winback/t', 'de');
    const data = sampleData();
    data.message = { sequence: 'winback-lapsed', step: 'offer', variant: 'b', template: 'winback/t' };
    const r = renderBody(t, data, rewrite, 'http://localhost:8080/o/x.gif');
    expect(r.links).toEqual([
      'https://shop.example.com/neu?utm_source=comeback&utm_medium=email&utm_campaign=winback-lapsed&utm_content=offer-b',
      'https://shop.example.com/sale?utm_campaign=summer&x=1&utm_source=comeback&utm_medium=email&utm_content=offer-b',
      'https://partner.example.org/x',
    ]);
    expect(r.html).toContain('href="http://localhost:8080/c/t0">Neu</a>');
    expect(r.html).toContain('href="http://localhost:8080/c/t0">Nochmal neu</a>');
    expect(r.html).toContain('href="mailto:service@example.com?subject=Hilfe"');
    expect(r.html).toContain(`href="${data.unsubscribe_url}"`);
    expect(r.html).toContain(`href="${(data.reason_links as Record<string, string>).price}"`);
    expect(r.html).not.toContain('shop.example.com/neu');
    expect(r.html).toMatch(/<img src="http:\/\/localhost:8080\/o\/x\.gif"[^>]*><\/body>/);
    expect(r.text).toContain('Neu <http://localhost:8080/c/t0>');
    expect(r.text).toContain(`<${data.unsubscribe_url}>`);
  });

  it('takes UTM parameters and hosts from templates/settings.yaml, or none', async () => {
    const dir = templatesDir({
      'winback/t.de.mjml': body,
      'settings.yaml':
        'utm:\n  utm_source: newsletter\n  utm_campaign: "wb-{sequence}"\nutm_hosts: [partner.example.org]\n',
    });
    const t = await new TemplateStore(dir).get('winback/t', 'de');
    expect(renderBody(t, sampleData(), rewrite).links).toEqual([
      'https://shop.example.com/neu',
      'https://shop.example.com/sale?utm_campaign=summer&x=1',
      'https://partner.example.org/x?utm_source=newsletter&utm_campaign=wb-winback-lapsed',
    ]);
    writeFileSync(join(dir, 'settings.yaml'), 'utm: false\n');
    const off = await new TemplateStore(dir).get('winback/t', 'de');
    expect(renderBody(off, sampleData(), rewrite).links[0]).toBe('https://shop.example.com/neu');
  });

  it('refuses unsafe link schemes and relative links at send time', async () => {
    const dir = templatesDir({
      'winback/t.de.mjml': section('{{#each recommendations}}<a href="{{url}}">{{name}}</a>{{/each}}'),
    });
    const t = await new TemplateStore(dir).get('winback/t', 'de');
    const data = sampleData();
    (data.recommendations as { url: string }[])[0]!.url = 'java\tscript:alert(1)';
    expect(() => renderBody(t, data, rewrite)).toThrow(/link scheme "javascript:" is not allowed/);
    (data.recommendations as { url: string }[])[0]!.url = '/p/1';
    expect(() => renderBody(t, data, rewrite)).toThrow(/is not absolute/);
  });
});

describe('the compile cache', () => {
  it('compiles once, serves the same template per recipient, and notices an edited file', async () => {
    const dir = templatesDir({ 'winback/t.de.mjml': section('Version eins') });
    const store = new TemplateStore(dir, 'en', { checkIntervalMs: 0 });
    const a = await store.get('winback/t', 'de');
    expect(await store.get('winback/t', 'de')).toBe(a);
    expect(await store.get('winback/t', 'de-AT')).toBe(a); // same file, same version, same compile
    const file = join(dir, 'winback/t.de.mjml');
    writeFileSync(file, section('Version zwei'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const b = await store.get('winback/t', 'de');
    expect(b).not.toBe(a);
    expect(renderBody(b, sampleData()).text).toContain('Version zwei');
  });

  it('switches to a more specific locale file when one appears, and reload() forgets everything', async () => {
    const dir = templatesDir({ 'winback/t.en.mjml': section('English') });
    const store = new TemplateStore(dir, 'en', { checkIntervalMs: 0 });
    expect((await store.get('winback/t', 'de')).locale).toBe('en'); // fallback
    writeFileSync(join(dir, 'winback/t.de.mjml'), section('Deutsch'));
    expect((await store.get('winback/t', 'de')).locale).toBe('de');
    const slow = new TemplateStore(dir, 'en', { checkIntervalMs: 60_000 });
    const first = await slow.get('winback/t', 'de');
    slow.reload();
    expect(await slow.get('winback/t', 'de')).not.toBe(first);
  });
});
