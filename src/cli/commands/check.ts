import type { Command } from 'commander';
import { createEngine } from '../../app.js';
import { parseConfig } from '../../config/index.js';
import { deliversToPeople, liveSendingProblems } from '../../config/live-sending.js';
import type { SenderConfig, ShopConfig } from '../../config/schema.js';
import { shopClient } from '../../integrations/index.js';
import { addressOf } from '../../delivery/mime.js';
import { ConfigError, formatProblem } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { validatePaths } from '../../sequences/validate.js';
import { loadProjectConfig } from '../config-file.js';
import type { EngineContext } from '../../engine/context.js';
import { checkWebhookUrls, endpointStatuses, webhookNotices } from '../../webhooks/index.js';
import type { GlobalOptions } from '../context.js';

/** One line of the check: what, how it stands, and the detail (the fix for a failure). */
export interface CheckLine {
  what: string;
  verdict: 'ok' | 'warn' | 'FAIL';
  detail: string;
}

const MAX_PROBLEMS_SHOWN = 5;

/**
 * `comeback check`: before going live, everything that would otherwise surface as a failed send:
 * the settings for real recipients, the sequences and their templates, the database, the mail
 * provider (a session is opened, nothing is sent), the tracking server behind `publicUrl` and
 * Redis. Exit 1 when a line fails.
 */
export function register(program: Command): void {
  program
    .command('check')
    .description(
      'before going live: settings, sequences and templates, database, mail provider (connects, sends nothing), tracking server, Redis, shop (a read call); one line each, exit 1 on a failure',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const input = loadProjectConfig(g);
      const config = parseConfig(input);
      const lines: CheckLine[] = [];

      const problems = liveSendingProblems(config);
      lines.push(
        problems.length > 0
          ? { what: 'settings', verdict: 'FAIL', detail: problems.join('\n') }
          : {
              what: 'settings',
              verdict: 'ok',
              detail: deliversToPeople(config)
                ? `ready to send over ${config.transport.type}`
                : `transport ${config.transport.type}: nothing reaches real recipients`,
            },
      );

      const v = await validatePaths([config.sequencesDir], {
        templatesDir: config.templatesDir,
        fallbackLocale: config.defaults.locale,
      });
      const shown = v.problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
      if (v.problems.length > MAX_PROBLEMS_SHOWN)
        shown.push(`... and ${v.problems.length - MAX_PROBLEMS_SHOWN} more (comeback validate)`);
      lines.push(
        v.problems.length > 0
          ? { what: 'sequences', verdict: 'FAIL', detail: shown.join('\n') }
          : v.files.length === 0
            ? { what: 'sequences', verdict: 'warn', detail: `no sequence files in ${config.sequencesDir}` }
            : { what: 'sequences', verdict: 'ok', detail: `${v.files.length} valid, with the templates they use` },
      );

      // The sequences were checked above; the engine here is for the database and the transport.
      const engine = await createEngine(input, {
        sequences: [],
        logger: createLogger({ level: 'silent' }),
        jobs: false,
      }).catch((err: Error) => err);
      // A transport that cannot be set up (an unusable DKIM key) is a configuration error, not the database's.
      if (engine instanceof Error)
        lines.push({
          what: engine instanceof ConfigError ? 'configuration' : 'database',
          verdict: 'FAIL',
          detail: engine.message,
        });
      else {
        try {
          lines.push({ what: 'database', verdict: 'ok', detail: `${engine.ctx.db.dialect}, schema up to date` });
          const t = engine.ctx.transport;
          if (!t.verify)
            lines.push({ what: 'mail provider', verdict: 'ok', detail: `${t.name}: nothing to connect to` });
          else {
            const failed = await t.verify().then(
              () => undefined,
              (err: Error) => err.message,
            );
            lines.push(
              failed
                ? { what: 'mail provider', verdict: 'FAIL', detail: failed }
                : {
                    what: 'mail provider',
                    verdict: 'ok',
                    detail: `${t.name}: ${t.name === 'smtp' ? 'a session opened' : 'the API key may send mail'} (nothing was sent)`,
                  },
            );
          }
          lines.push(...(await checkWebhooks(engine.ctx)));
        } finally {
          await engine.close();
        }
      }

      if (config.transport.type === 'smtp') lines.push(checkBounces(config.sender));
      if (deliversToPeople(config)) lines.push(checkUnsubscribeMailbox(config.sender));
      if (deliversToPeople(config)) lines.push(await checkTrackingServer(config.publicUrl));
      if (config.redisUrl) lines.push(...(await checkRedis(config.redisUrl)));
      lines.push(await checkShop(config.shop));

      const width = Math.max(...lines.map((l) => l.what.length));
      for (const l of lines) {
        const [first, ...more] = l.detail.split('\n');
        process.stdout.write(
          `${l.verdict.padEnd(4)}  ${l.what.padEnd(width)}  ${first}\n${more.map((m) => `${' '.repeat(width + 8)}${m}\n`).join('')}`,
        );
      }
      if (lines.some((l) => l.verdict === 'FAIL')) process.exitCode = 1;
    });
}

/**
 * The connected shop: a cheap read call proves the credentials (nothing is changed). Without a
 * shop, coupon codes exist in Comeback only and the checkout will not know them.
 */
export async function checkShop(shop: ShopConfig | undefined): Promise<CheckLine> {
  if (!shop)
    return {
      what: 'shop',
      verdict: 'warn',
      detail:
        'none connected: coupon codes exist in Comeback only, the checkout will refuse them (config shop, docs/INTEGRATIONS.md)',
    };
  try {
    const name = await shopClient({ ...shop, timeoutMs: Math.min(shop.timeoutMs, 10_000) }).check();
    return {
      what: 'shop',
      verdict: 'ok',
      detail: `${shop.type} ${shop.domain}: the credentials may read (${name}); nothing was changed`,
    };
  } catch (err) {
    return { what: 'shop', verdict: 'FAIL', detail: `${shop.type} ${shop.domain}: ${(err as Error).message}` };
  }
}

/**
 * SMTP: where the delivery reports of mails the relay accepted but could not deliver go. Without a
 * mailbox of their own that `comeback inbound` reads, hard-bounced addresses are mailed again.
 */
export function checkBounces(sender: SenderConfig): CheckLine {
  if (sender.returnPath)
    return {
      what: 'bounces',
      verdict: 'ok',
      detail: `go to ${sender.returnPath}: read them with comeback inbound (from cron)`,
    };
  return {
    what: 'bounces',
    verdict: 'warn',
    detail: `go to ${addressOf(sender.from)} with the replies: set sender.returnPath to a mailbox of their own and read it with comeback inbound`,
  };
}

/**
 * Where the unsubscribe requests some mail clients send to the List-Unsubscribe `mailto:` address
 * go: they must be read (`comeback inbound`), or those opt-outs go unheard.
 */
export function checkUnsubscribeMailbox(sender: SenderConfig): CheckLine {
  if (sender.unsubscribeMailto)
    return {
      what: 'unsubscribe mail',
      verdict: 'ok',
      detail: `goes to ${sender.unsubscribeMailto}: read it with comeback inbound (from cron)`,
    };
  return {
    what: 'unsubscribe mail',
    verdict: 'warn',
    detail: `goes to ${addressOf(sender.from)} with the replies: set sender.unsubscribeMailto to a mailbox of its own and read it with comeback inbound`,
  };
}

/**
 * The tracking server answers at `publicUrl` (its /healthz): else the unsubscribe and tracked links
 * of every mail would fail. A warning, not a failure: this machine may not be where recipients are.
 */
export async function checkTrackingServer(publicUrl: string): Promise<CheckLine> {
  const url = new URL('healthz', publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`).toString();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    if (res.ok) return { what: 'tracking server', verdict: 'ok', detail: `${url} answers` };
    return {
      what: 'tracking server',
      verdict: 'warn',
      detail: `${url} answered ${res.status}: is comeback serve behind publicUrl?`,
    };
  } catch (err) {
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    return {
      what: 'tracking server',
      verdict: 'warn',
      detail: `${url} does not answer from here (${reason}): the unsubscribe and tracked links of every mail point there`,
    };
  }
}

/** Webhook endpoints: URLs allowed (not this machine), none gone or paused, no dead letters. */
export async function checkWebhooks(ctx: EngineContext): Promise<CheckLine[]> {
  const { config } = ctx;
  if (config.webhooks.length === 0) return [];
  const refused = await checkWebhookUrls(config.webhooks, config.webhookDelivery.allowLocal).then(
    () => undefined,
    (err: Error) => err.message,
  );
  if (refused) return [{ what: 'webhooks', verdict: 'FAIL', detail: refused }];
  const notes = await webhookNotices(ctx.k, config, ctx.clock.now());
  if (notes.length) return notes.map((n) => ({ what: 'webhooks', verdict: 'warn' as const, detail: n }));
  const pending = (await endpointStatuses(ctx.k, config)).reduce((n, s) => n + s.pending, 0);
  return [
    {
      what: 'webhooks',
      verdict: 'ok',
      detail: `${config.webhooks.length} endpoint(s) active, ${pending} event(s) waiting`,
    },
  ];
}

/** Redis answers, and keeps what it is given (AOF, no eviction). */
async function checkRedis(url: string): Promise<CheckLine[]> {
  // Loaded here, not at start: every other command would pay for ioredis and BullMQ.
  const [{ Redis }, { redisDurabilityWarnings }] = await Promise.all([
    import('ioredis'),
    import('../../queue/bullmq.js'),
  ]);
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // reported below
  try {
    await redis.connect();
    await redis.ping();
    const warnings = await redisDurabilityWarnings(redis);
    return warnings.length > 0
      ? warnings.map((w) => ({ what: 'redis', verdict: 'warn' as const, detail: w }))
      : [{ what: 'redis', verdict: 'ok', detail: 'answers, with AOF and noeviction' }];
  } catch (err) {
    return [
      { what: 'redis', verdict: 'FAIL', detail: `${url.replace(/\/\/[^@]*@/, '//')}: ${(err as Error).message}` },
    ];
  } finally {
    redis.disconnect();
  }
}
