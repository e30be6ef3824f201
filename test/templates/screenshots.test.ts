import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBody, TemplateStore } from '../../src/templates/index.js';
import { sampleData } from '../../src/templates/sample.js';
import { MailRenderer } from '../../src/templates/screenshot.js';
import { EXAMPLES, TEMPLATES_DIR } from './fixtures.js';

/** Where the PNGs go, to look at after a run (COMEBACK_SCREENSHOTS overrides). */
const OUT = process.env.COMEBACK_SCREENSHOTS ?? join(tmpdir(), 'comeback-screenshots');

const cases = EXAMPLES.flatMap((name) =>
  ['de', 'en'].flatMap((locale) => [
    { name, locale, style: 'formal' as const },
    { name, locale, style: 'informal' as const },
  ]),
).filter((c) => c.locale === 'de' || c.style === 'informal');

describe('example templates in headless Chromium', () => {
  let renderer: MailRenderer;
  const store = new TemplateStore(TEMPLATES_DIR);
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    renderer = await MailRenderer.launch();
  }, 30_000);
  afterAll(async () => {
    await renderer?.close();
  });

  it.each(cases)(
    '$name ($locale, $style) renders at 375 and 800 px without horizontal scrolling',
    async ({ name, locale, style }) => {
      const t = await store.get(name, locale);
      // A long name and a long product name are the usual causes of a phone layout that scrolls sideways.
      const data = sampleData({
        locale,
        style,
        customer: { first_name: 'Maximiliane-Konstanze', last_name: 'Schwarzenberg-Hohenlohe' },
      });
      const body = renderBody(
        t,
        data,
        (_target, i) => `http://localhost:8080/c/preview-${i}`,
        'http://localhost:8080/o/preview.gif',
      );
      const shots = await renderer.shoot(body.html, [375, 800]);
      for (const s of shots) {
        writeFileSync(join(OUT, `${name.replace('/', '_')}.${locale}.${style}-${s.width}.png`), s.png);
        expect(s.png.length).toBeGreaterThan(10_000);
        expect(s.scrollWidth, `${name} (${locale}) at ${s.width} px is ${s.scrollWidth} px wide`).toBeLessThanOrEqual(
          s.width,
        );
      }
    },
    30_000,
  );

  it('has a test for every example in both languages', () => {
    expect(new Set(cases.map((c) => `${c.name}.${c.locale}`)).size).toBe(EXAMPLES.length * 2);
  });
});
