import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { scaffoldProject } from '../../project/scaffold.js';

/** Files grouped by their top folder: `sequences/ (5 files)`. */
function summarise(files: string[]): string[] {
  const groups = new Map<string, number>();
  for (const f of files) {
    const top = f.includes('/') ? `${f.split('/')[0]}/` : f;
    groups.set(top, (groups.get(top) ?? 0) + 1);
  }
  return [...groups].map(([name, n]) => (name.endsWith('/') ? `${name} (${n} file${n === 1 ? '' : 's'})` : name));
}

/** `comeback init [DIR]`: a project to start from, without overwriting anything. */
export function register(program: Command): void {
  program
    .command('init')
    .description(
      'set up a project: comeback.config.yaml with generated secrets, the example sequences and templates, the sequence JSON Schema for editors, .gitignore (existing files are kept)',
    )
    .argument('[dir]', 'project folder (created when missing)', '.')
    .addOption(
      new Option('--shop <type>', 'add the skeleton of a shop connection to the config').choices([
        'shopify',
        'woocommerce',
      ]),
    )
    .action((dir: string, opts: { shop?: 'shopify' | 'woocommerce' }) => {
      const { created, kept } = scaffoldProject(resolve(dir), { shop: opts.shop });
      const out: string[] = [];
      if (created.length > 0) out.push(`created in ${resolve(dir)}:`, ...summarise(created).map((f) => `  ${f}`));
      if (kept.length > 0) out.push(`kept ${kept.length} existing file(s), unchanged:`, ...kept.map((f) => `  ${f}`));
      out.push('', 'Next:');
      if (resolve(dir) !== process.cwd()) out.push(`  cd ${dir}`);
      out.push(
        '  comeback validate                         # check the sequences and templates',
        '  comeback import customers customers.csv   # your shop (columns: docs/IMPORT.md)',
        '  comeback import orders orders.csv',
        '  comeback import products products.csv     # optional: the catalogue for recommendations',
        '  comeback audience winback-lapsed          # who would be enrolled, rule by rule',
        '  comeback simulate winback-lapsed          # who would get which mail when',
        '  comeback worker --once                    # mails land in ./outbox/ as .eml files',
        'Before sending for real: set sender, publicUrl and transport in comeback.config.yaml, then comeback check.',
      );
      if (opts.shop)
        out.push(
          `Connect the shop: fill in the shop block of comeback.config.yaml, comeback check, then comeback sync ${opts.shop} (docs/INTEGRATIONS.md).`,
        );
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
