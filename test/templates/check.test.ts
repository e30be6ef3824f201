import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import {
  checkHeaderTemplate,
  checkTemplate,
  checkTemplates,
  describeDataModel,
  DATA_MODEL,
  TemplateStore,
} from '../../src/templates/index.js';
import { EXAMPLES, SUBSCRIPTION_EXAMPLES, TEMPLATES_DIR, section, templatesDir } from './fixtures.js';

const messages = async (dir: string, name = 'winback/t', locale = 'de') =>
  (await checkTemplate(name, locale, { dir })).errors.map(formatProblem);

describe('the shipped example templates', () => {
  it.each([...EXAMPLES, ...SUBSCRIPTION_EXAMPLES].flatMap((n) => ['de', 'en'].map((l) => [n, l])))(
    '%s (%s) passes every check without warnings',
    async (name, locale) => {
      const r = await checkTemplate(name, locale, { dir: TEMPLATES_DIR });
      expect(r.file).toBe(`${name}.${locale}.mjml`);
      expect(r.errors.map(formatProblem)).toEqual([]);
      expect(r.warnings.map(formatProblem)).toEqual([]);
    },
  );

  it('lists every template of the folder with its locales', async () => {
    const all = await checkTemplates({ dir: TEMPLATES_DIR });
    for (const name of EXAMPLES) expect(all.filter((c) => c.name === name).map((c) => c.locale)).toEqual(['de', 'en']);
    expect(all.flatMap((c) => c.errors)).toEqual([]);
  });

  it('documents every data-model key in one constant', () => {
    expect(Object.keys(DATA_MODEL)).toEqual(
      expect.arrayContaining([
        'last_order',
        'recommendations',
        'coupon',
        'reasons',
        'reason_links',
        'favorite_categories',
        'days_since_last_order',
        'orders_count',
        'total_spent',
        'unsubscribe_url',
        'webview_url',
      ]),
    );
    expect(describeDataModel()).toContain('last_order.items[].name: string — product name');
  });
});

describe('static check of variables', () => {
  it('names template file, line, column (of the name) and variable of an unknown variable, with a suggestion', async () => {
    const dir = templatesDir({
      'winback/t.de.mjml': `${section('{{salutation}},')}${section('Ihr Code: {{#if coupon}}{{cupon.code}}{{/if}}')}`,
    });
    expect(await messages(dir)).toEqual([
      expect.stringMatching(
        /winback\/t\.de\.mjml:8:40 \{\{cupon\.code\}\}: unknown variable "cupon\.code"; did you mean "coupon"\?$/,
      ),
    ]);
  });

  it('names the partial file when the typo is in a partial', async () => {
    const dir = templatesDir({
      'winback/t.en.mjml': section('{{salutation}}'),
      'partials/header.mjml': '<mj-section><mj-column><mj-text>{{sender.nmae}}</mj-text></mj-column></mj-section>',
    });
    expect(await messages(dir, 'winback/t', 'en')).toEqual([
      expect.stringMatching(
        /partials\/header\.mjml:1:35 \{\{sender\.nmae\}\}: unknown variable "sender\.nmae" in sender; did you mean "name"\?/,
      ),
    ]);
  });

  it('explains that names inside {{#each}} refer to the item', async () => {
    const dir = templatesDir({
      'winback/t.de.mjml': section('{{#each recommendations}}<a href="{{url}}">{{name}}</a> {{shop_url}}{{/each}}'),
    });
    expect(await messages(dir)).toEqual([
      expect.stringMatching(/unknown variable "shop_url" in recommendations\[\].*write @root\.shop_url/),
    ]);
  });

  it('refuses unknown helpers, objects printed whole, triple braces and partials with arguments', async () => {
    const dir = templatesDir({
      'winback/t.de.mjml': section(
        '{{mony total_spent}} {{last_order}} {{{first_name}}} {{> footer last_order}} {{money coupon.code}}',
      ),
    });
    const m = await messages(dir);
    expect(m.join('\n')).toMatch(/unknown helper "mony"; did you mean "money"\?/);
    expect(m.join('\n')).toMatch(
      /"last_order" is an object: print one of its fields \(number, ordered_at, total, items\)/,
    );
    expect(m.join('\n')).toMatch(/triple braces print without HTML escaping/);
    expect(m.join('\n')).toMatch(/partial could not be included/);
    expect(m.join('\n')).toMatch(/money expects an amount in minor units; coupon\.code is a string/);
  });

  it('warns about a value that may be null printed without a guard, and accepts it guarded', async () => {
    const dir = templatesDir({
      'winback/t.de.mjml': section(
        '{{first_name}} {{last_order.total}} {{#if last_order}}{{money last_order.total}}{{/if}} {{#with coupon}}{{code}}{{/with}}',
      ),
    });
    const r = await checkTemplate('winback/t', 'de', { dir });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.path)).toEqual(['{{first_name}}', '{{last_order.total}}']);
  });

  it('checks subject lines against the same data model', () => {
    expect(checkHeaderTemplate('{{first_name}}, wir vermissen Sie')).toEqual([]);
    expect(checkHeaderTemplate('{{frist_name}}, wir vermissen Sie')).toEqual([
      '{{frist_name}}: unknown variable "frist_name"; did you mean "first_name"?',
    ]);
  });

  it('reports a Handlebars syntax error at its line', async () => {
    const dir = templatesDir({ 'winback/t.de.mjml': `${section('ok')}${section('{{#if coupon}}never closed')}` });
    expect((await messages(dir))[0]).toMatch(/winback\/t\.de\.mjml:\d+:\d+ Handlebars syntax/);
  });
});

describe('compliance: footer parts are required', () => {
  const footerWithout = (drop: string) =>
    [
      '<mj-section><mj-column><mj-text>',
      drop === 'notice' ? '' : '{{notice.right_to_object}}',
      drop === 'unsubscribe' ? '' : '<a href="{{unsubscribe_url}}">{{notice.unsubscribe}}</a>',
      drop === 'address' ? '' : '{{sender.postal_address}}',
      '</mj-text></mj-column></mj-section>',
    ].join('\n');

  it.each([
    ['unsubscribe', /missing the unsubscribe link/],
    ['address', /missing the sender's postal address/],
    ['notice', /missing the notice of the right to object/],
  ])('refuses a template without the %s at validate time and at send time', async (drop, message) => {
    const dir = templatesDir({
      'winback/t.de.mjml': section('{{salutation}}'),
      'partials/footer.mjml': footerWithout(drop),
    });
    expect((await messages(dir)).join('\n')).toMatch(message);
    await expect(new TemplateStore(dir).get('winback/t', 'de')).rejects.toThrow(message);
  });

  it('does not accept the unsubscribe link only inside a condition or only as text', async () => {
    const footer =
      '<mj-section><mj-column><mj-text>{{notice.right_to_object}} {{sender.postal_address}} {{#if first_name}}<a href="{{unsubscribe_url}}">x</a>{{/if}} {{unsubscribe_url}}</mj-text></mj-column></mj-section>';
    const dir = templatesDir({ 'winback/t.de.mjml': section('hi'), 'partials/footer.mjml': footer });
    expect((await messages(dir)).join('\n')).toMatch(/missing the unsubscribe link/);
  });
});

describe('no access outside the templates folder', () => {
  it('refuses template names that leave the folder', async () => {
    const dir = templatesDir({ 'winback/t.de.mjml': section('hi') });
    expect((await messages(dir, '../../../etc/passwd')).join('\n')).toMatch(/leaves the templates folder/);
    await expect(new TemplateStore(dir).get('/etc/passwd', 'de')).rejects.toThrow(/leaves the templates folder/);
  });

  it('never expands a partial path with dots, and refuses a symbolic link out of the folder', async () => {
    const outside = join(tmpdir(), `comeback-secret-${process.pid}.mjml`);
    writeFileSync(outside, '<mj-section><mj-column><mj-text>SECRET</mj-text></mj-column></mj-section>');
    const dir = templatesDir({ 'winback/t.de.mjml': section('{{> ../../secret}}') });
    expect((await messages(dir)).join('\n')).toMatch(/partial could not be included/);
    mkdirSync(join(dir, 'partials', 'evil'), { recursive: true });
    symlinkSync(outside, join(dir, 'partials', 'evil', 'link.mjml'));
    writeFileSync(join(dir, 'winback', 't.de.mjml'), `{{> evil/link}}\n${section('x')}`);
    expect((await messages(dir)).join('\n')).toMatch(/links outside the templates folder/);
  });

  it('refuses mj-include (MJML would read any file)', async () => {
    const dir = templatesDir({ 'winback/t.de.mjml': `<mj-include path="/etc/passwd" />\n${section('hi')}` });
    const m = await messages(dir);
    expect(m.join('\n')).toMatch(/winback\/t\.de\.mjml:1:1 <mj-include>: mj-include is not allowed/);
  });
});

describe('MJML structure', () => {
  it('reports a block helper that MJML would drop between components', async () => {
    const body =
      '<mj-section>\n  <mj-column>\n    {{#each recommendations}}\n    <mj-text>{{name}}</mj-text>\n    {{/each}}\n  </mj-column>\n</mj-section>\n';
    const dir = templatesDir({ 'winback/t.de.mjml': body });
    expect((await messages(dir)).join('\n')).toMatch(
      /winback\/t\.de\.mjml:3:5 #each: MJML dropped or moved this expression: put block helpers between components inside <mj-raw>/,
    );
  });

  it('reports a template that is missing in every locale', async () => {
    const dir = templatesDir({});
    expect((await messages(dir, 'winback/none')).join('\n')).toMatch(/template "winback\/none" not found/);
  });
});
