import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { withEngine } from '../context.js';
import type { ImportKind } from '../../shop/import/run.js';
import { count } from '../format/plural.js';
import { detectLayout, LAYOUTS, parseLayout } from '../../shop/import/layouts.js';
import { importShopifyExport, type ShopifyExportResult } from '../../integrations/shopify/export.js';
import { ComebackError } from '../../errors.js';

/** `comeback import customers|orders|products FILE [--strict] [--encoding NAME]` */
export function register(program: Command): void {
  program
    .command('import')
    .description(
      "import customers, orders or products from CSV or JSON Lines (upsert by the shop's id; bad rows are skipped and listed, or with --strict the whole import rolls back)",
    )
    .addArgument(
      new Command().createArgument('kind', 'what the file holds').choices(['customers', 'orders', 'products']),
    )
    .argument('<file>', 'a .csv (with header row) or .jsonl file')
    .option('--strict', 'roll back everything at the first bad row')
    .option('--encoding <name>', 'text encoding of the file: utf-8 (default), or windows-1252 for CSV saved by Excel')
    .addOption(
      new Option('--format <layout>', `the file's layout; default: recognised from the header (${LAYOUTS.join(', ')})`),
    )
    .addOption(
      new Option('--batch-size <n>', 'rows per transaction').default('1000').argParser((v) => Number.parseInt(v, 10)),
    )
    .action(
      async (
        kind: ImportKind,
        file: string,
        opts: { strict?: boolean; batchSize: number; encoding?: string; format?: string },
        cmd: Command,
      ) => {
        const layout = opts.format ? parseLayout(opts.format) : detectLayout(file);
        if (layout !== 'comeback') {
          if (layout !== `shopify-${kind}`)
            throw new ComebackError(
              'E_INPUT',
              `${file} is a ${layout} export, not ${kind}: import it as ${layout.slice('shopify-'.length)}`,
            );
          await withEngine(cmd, async (engine) =>
            printShopify(file, await importShopifyExport(engine, layout, file, { encoding: opts.encoding })),
          );
          return;
        }
        await withEngine(cmd, async (engine) => {
          const bar = process.stderr.isTTY
            ? new cliProgress.SingleBar(
                {
                  format: `importing ${kind} [{bar}] {percentage}% | {rows} rows | {rejected} rejected | {eta_formatted} left`,
                  stream: process.stderr,
                },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
          bar?.start(100, 0, { rows: 0, rejected: 0 });
          const result = await engine.import(kind, file, {
            strict: opts.strict,
            batchSize: opts.batchSize,
            encoding: opts.encoding,
            onProgress: (p) =>
              bar?.update(Math.floor((p.bytes / Math.max(1, p.totalBytes)) * 100), {
                rows: p.rows,
                rejected: p.rejected,
              }),
          });
          bar?.stop();
          // Rows refused while reading and rows refused when their batch was stored, in file order.
          const rejected = [...result.rejected].sort((a, b) => a.line - b.line);
          for (const r of rejected.slice(0, 50)) process.stderr.write(`${file}:${r.line}: ${r.reason}\n`);
          if (result.rejected.length > 50)
            process.stderr.write(`... and ${result.rejected.length - 50} more rejected rows\n`);
          const rate = Math.round(result.imported / Math.max(result.seconds, 1e-9));
          if (result.rolledBack) {
            process.stderr.write(`import rolled back (--strict): nothing was stored\n`);
            process.exitCode = 1;
          } else {
            process.stdout.write(
              `imported ${count(result.imported, kind.slice(0, -1))} in ${result.seconds.toFixed(1)} s (${rate}/s), ${result.rejected.length} rejected\n`,
            );
            if (result.conversions > 0)
              process.stdout.write(`${count(result.conversions, 'conversion')} attributed; those enrolments ended\n`);
            if (result.objected.length > 0)
              process.stdout.write(
                `${count(result.objected.length, 'new objection')} recorded; their pending mail was stopped\n`,
              );
            if (result.rejected.length > 0) process.exitCode = 1;
          }
        });
      },
    );
}

/** The exact counts of a Shopify export import, and its refused rows with their line. */
function printShopify(file: string, r: ShopifyExportResult): void {
  for (const x of r.rejected.slice(0, 50)) process.stderr.write(`${file}:${x.line}: ${x.reason}\n`);
  if (r.rejected.length > 50) process.stderr.write(`... and ${r.rejected.length - 50} more rejected rows\n`);
  const parts =
    r.layout === 'shopify-customers'
      ? [count(r.customers, 'customer'), count(r.consents, 'consent')]
      : [
          count(r.orders, 'order'),
          count(r.lineItems, 'line item'),
          count(r.refunds, 'refund'),
          `${r.cancelled} cancelled`,
          count(r.consents, 'consent'),
          count(r.conversions, 'conversion'),
        ];
  process.stdout.write(`imported Shopify export (${r.layout}): ${parts.join(', ')}; ${r.rejected.length} rejected\n`);
  if (r.rejected.length > 0) process.exitCode = 1;
}
