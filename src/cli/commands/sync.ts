import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { runSync, shopClient } from '../../integrations/index.js';
import { parseTimeOption } from '../../util/time.js';
import { withEngine } from '../context.js';
import { count } from '../format/plural.js';

/** `comeback sync shopify|woocommerce [--since DATE]`: backfill and nightly reconciliation from the shop's API. */
export function register(program: Command): void {
  program
    .command('sync')
    .description(
      "read customers and orders from the shop's API (config `shop`): a first run reads everything, later runs what changed; an interrupted run resumes where it stopped",
    )
    .argument('<shop>', 'shopify or woocommerce (must match config shop.type)')
    .option('--since <time>', 'only records changed since this time (default: since the last finished run)')
    .option('--page-size <n>', 'records per API call', (v) => Number.parseInt(v, 10))
    .option('--bulk', 'Shopify: read the orders by one bulk operation (large shops; outside the rate limit)')
    .action(async (shop: string, opts: { since?: string; pageSize?: number; bulk?: boolean }, cmd: Command) => {
      const since = opts.since === undefined ? undefined : parseTimeOption(opts.since, '--since');
      await withEngine(cmd, async (engine) => {
        const config = engine.ctx.config.shop;
        if (!config)
          throw new ConfigError(
            'no shop configured: add `shop: { type, domain, accessToken, webhookSecret }` to comeback.config.yaml (comeback init --shop shopify writes it)',
          );
        if (config.type !== shop) throw new ConfigError(`the configured shop is ${config.type}, not ${shop}`);
        const client = shopClient(config, { pageSize: opts.pageSize });
        let shown = '';
        const result = await runSync(engine, client, {
          since,
          bulk: opts.bulk,
          onProgress: (p) => {
            const line = `${p.resumed ? 'resumed: ' : ''}${p.resource} ${p.records}${p.total ? ` of ${p.total}` : ''}`;
            // One line per thousand records keeps a log readable; a terminal shows every page.
            if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
            else if (
              Math.floor(p.records / 1000) !== Math.floor(Number(shown.split(' ').at(-1) ?? 0) / 1000) ||
              !shown.includes(p.resource)
            )
              process.stderr.write(`${line}\n`);
            shown = `${p.resource} ${p.records}`;
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        for (const r of result.rejected.slice(0, 50)) process.stderr.write(`order ${r.externalId}: ${r.reason}\n`);
        process.stdout.write(
          `synced ${config.type}${result.resumed ? ' (resumed)' : ''}: ${count(result.customers, 'customer')}, ${count(result.orders, 'order')}, ${count(result.conversions, 'conversion')}, ${result.stale} older than stored, ${result.rejected.length} rejected; ${count(result.pages, 'page')}, throttled ${result.throttled}×\n`,
        );
        if (result.rejected.length > 0) process.exitCode = 1;
      });
    });
}
