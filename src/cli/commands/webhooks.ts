import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { deadLetters, endpointStatuses, newSecret, replay, sendTest } from '../../webhooks/index.js';
import { withEngine } from '../context.js';

const when = (ms: number | null) => (ms ? new Date(ms).toISOString() : '-');

/** `comeback webhooks list|replay|test|secret`: inspect and replay outbound webhooks (docs/WEBHOOKS.md). */
export function register(program: Command): void {
  const hooks = program
    .command('webhooks')
    .description('outbound webhooks: endpoints and their state, the dead-letter list, replay, a test event');
  hooks
    .command('list')
    .description(
      'each endpoint with pending, delivered and dead events and its state (paused, gone); --dead lists the dead letters',
    )
    .option('--dead', 'list the dead letters (events that failed for good)')
    .option('--json', 'print JSON')
    .action(async (opts: { dead?: boolean; json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const { k, config } = engine.ctx;
        const out = opts.dead ? await deadLetters(k, 1000) : await endpointStatuses(k, config);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        if (opts.dead) {
          const rows = out as Awaited<ReturnType<typeof deadLetters>>;
          if (rows.length === 0) return void process.stdout.write('no dead letters\n');
          for (const d of rows)
            process.stdout.write(
              `${d.id}\t${d.endpoint}\tevt_${d.eventId}\t${d.type}\t${d.attempts} attempts\t${when(d.updatedAt)}\t${d.lastError ?? ''}\n`,
            );
          return;
        }
        const rows = out as Awaited<ReturnType<typeof endpointStatuses>>;
        if (rows.length === 0)
          return void process.stdout.write(
            'no webhook endpoints configured (webhooks in the config; docs/WEBHOOKS.md)\n',
          );
        for (const s of rows) {
          const state = s.goneAt
            ? `GONE since ${when(s.goneAt)}`
            : s.pausedUntil && s.pausedUntil > engine.ctx.clock.now()
              ? `PAUSED until ${when(s.pausedUntil)}`
              : 'active';
          process.stdout.write(
            `${s.name}  ${s.url}\n  ${state}; pending ${s.pending}, delivered ${s.delivered}, dead ${s.dead}${s.reason ? `; ${s.reason}` : ''}\n  events: ${s.events.join(', ')}\n`,
          );
        }
      });
    });
  hooks
    .command('replay')
    .description(
      "send dead letters again with a fresh retry period (all, one endpoint's, or the given ids) and lift a pause or a 410 of the endpoint",
    )
    .argument('[ids...]', 'dead-letter ids (comeback webhooks list --dead)')
    .option('--endpoint <name>', 'only this endpoint')
    .action(async (ids: string[], opts: { endpoint?: string }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const n = await replay(engine.ctx.k, engine.ctx.clock.now(), { endpoint: opts.endpoint, ids: ids.map(Number) });
        process.stdout.write(`${n} event${n === 1 ? '' : 's'} queued again; the worker delivers them\n`);
      });
    });
  hooks
    .command('test')
    .description('send a signed webhook.test event to an endpoint now and show the answer (exit 1 when it failed)')
    .argument('<endpoint>', 'endpoint name (or URL when it has no name)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const r = await sendTest(engine.ctx.config, name, engine.ctx.clock.now());
        process.stdout.write(`${r.id}: ${r.ok ? `delivered (HTTP ${r.status})` : `failed: ${r.error}`}\n`);
        if (!r.ok) process.exitCode = 1;
      });
    });
  hooks
    .command('secret')
    .description('print a new random secret in the Standard Webhooks form (whsec_...)')
    .action(() => void process.stdout.write(`${newSecret(randomBytes(32))}\n`));
}
