import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { renderPreview, type PreviewOptions } from '../../engine/preview.js';
import { MailRenderer, SCREENSHOT_WIDTHS } from '../../templates/screenshot.js';
import { withEngine } from '../context.js';

export { renderPreview, type Preview, type PreviewOptions } from '../../engine/preview.js';

/** `FILE.png` → `FILE-375.png`, `FILE-800.png`. */
export function screenshotFiles(file: string): string[] {
  const base = file.replace(/\.png$/i, '');
  return SCREENSHOT_WIDTHS.map((w) => `${base}-${w}.png`);
}

/** `comeback preview SEQUENCE STEP [--customer ID] [--variant V] [--locale L] [--html FILE] [--text] [--screenshot FILE.png]` */
export function register(program: Command): void {
  program
    .command('preview')
    .description('render a step exactly as one customer would get it (nothing is sent or recorded)')
    .argument('<sequence>', 'sequence id')
    .argument('<step>', 'step id')
    .option('--customer <id>', 'customer external id (or numeric id); default: a made-up sample customer')
    .option('--variant <id>', 'a variant of the step (default: the step itself)')
    .option('--locale <locale>', "render in this locale instead of the customer's")
    .option('--html <file>', 'write the HTML part to FILE ("-" for stdout)')
    .option('--text', 'print only the plain-text part')
    .option(
      '--screenshot <file>',
      `render in headless Chromium at ${SCREENSHOT_WIDTHS.join(' and ')} px: FILE-375.png, FILE-800.png`,
    )
    .action(
      async (
        sequence: string,
        step: string,
        opts: PreviewOptions & { html?: string; text?: boolean; screenshot?: string },
        cmd: Command,
      ) => {
        await withEngine(cmd, async (engine) => {
          const p = await renderPreview(engine, sequence, step, opts);
          const out = process.stdout;
          if (opts.html === '-') out.write(`${p.html}\n`);
          else if (opts.html) writeFileSync(opts.html, p.html);
          if (opts.screenshot) {
            const renderer = await MailRenderer.launch();
            try {
              const shots = await renderer.shoot(p.html);
              const files = screenshotFiles(opts.screenshot);
              shots.forEach((s, i) => {
                writeFileSync(files[i]!, s.png);
                const scroll = s.scrollWidth > s.width ? ` (scrolls horizontally: ${s.scrollWidth} px wide)` : '';
                process.stderr.write(`screenshot ${s.width} px: ${files[i]}${scroll}\n`);
              });
            } finally {
              await renderer.close();
            }
          }
          if (opts.text) out.write(`${p.text}\n`);
          else if (opts.html !== '-') {
            out.write(
              `From: ${p.from}\nTo: ${p.to ?? '(no address)'}\nSubject: ${p.subject}\nPreheader: ${p.preheader}\nTemplate: ${p.template} (${p.locale})\n`,
            );
            p.links.forEach((l, i) => out.write(`Link ${i}: ${l}\n`));
            out.write(`\n${p.text}\n`);
          }
          for (const w of p.warnings) process.stderr.write(`warning: ${w}\n`);
        });
      },
    );
}
