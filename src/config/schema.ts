import { z } from 'zod';
import { DEFAULT_GUARD_THRESHOLDS, DEFAULT_OPT_IN_TTL_HOURS, MAX_REQUESTS_PER_DAY } from './defaults.js';
import { BYTES, COUNT, TEXT } from '../util/limits.js';
import { WEBHOOK_EVENT_TYPES } from '../webhooks/catalogue.js';
import { secretKey } from '../webhooks/sign.js';

/** Where mail goes. `outbox` writes .eml files, `memory` keeps them in RAM (tests). */
export const TransportConfig = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('outbox'),
    dir: z.string().default('outbox'),
    rateLimit: z.number().positive().optional(),
  }),
  z.strictObject({ type: z.literal('memory'), rateLimit: z.number().positive().optional() }),
  z.strictObject({
    type: z.literal('smtp'),
    url: z.string().describe('smtp://user:pass@host:port'),
    /** Persistent connections per worker process. */
    pool: z.number().int().positive().default(5),
    /** Socket timeout in milliseconds: a reply that takes longer fails the send (unknown outcome after the final dot). */
    timeoutMs: z.number().int().positive().default(60_000),
    /** Most messages per second through this transport, shared by all workers (through Redis on BullMQ). */
    rateLimit: z.number().positive().optional(),
    dkim: z.strictObject({ domainName: z.string(), keySelector: z.string(), privateKey: z.string() }).optional(),
  }),
  z.strictObject({
    type: z.literal('sendgrid'),
    apiKey: z.string().min(1),
    baseUrl: z.string().url().optional(),
    /** How long a request may take: a reply that takes longer leaves the mail `uncertain` (it may have been accepted). */
    timeoutMs: z.number().int().positive().default(30_000),
    /** Most messages per second through this transport, shared by all workers (through Redis on BullMQ). */
    rateLimit: z.number().positive().optional(),
  }),
]);
export type TransportConfig = z.infer<typeof TransportConfig>;

/** The identity every mail is sent under; the postal address is legally required in every mail. */
export const SenderConfig = z.strictObject({
  name: z.string().default('Comeback Demo Shop'),
  from: z.string().default('shop@example.com'),
  replyTo: z.string().optional(),
  postalAddress: z.string().default('Comeback Demo Shop GmbH, Musterstraße 1, 10115 Berlin, Germany'),
  unsubscribeMailto: z.string().optional(),
  /** The envelope sender (SMTP MAIL FROM), where bounces go: a mailbox `comeback inbound` reads. Default: the address of `from`. */
  returnPath: z.email().optional(),
  /** The largest mail the sender builds (subject, HTML and text, in bytes); a larger one fails with the reason. */
  maxMessageBytes: z.number().int().min(1024).default(BYTES.message),
});
export type SenderConfig = z.infer<typeof SenderConfig>;

/** The default tracking secret: fine on a laptop, refused by `comeback serve` unless `--dev`. */
export const DEVELOPMENT_SECRET = 'comeback-development-secret-change-me';

/** `comeback serve`: where it listens, how events are written, provider webhooks. */
export const ServerConfig = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Trust X-Forwarded-For (behind a reverse proxy), so the client address is the visitor's. */
  trustProxy: z.boolean().default(false),
  /** Events are written in batches of at most this many rows... */
  eventBatchSize: z.number().int().min(1).max(2000).default(500),
  /** ...at least this often (milliseconds). */
  eventFlushMs: z.number().int().min(1).default(50),
  /** SendGrid Event Webhook verification key (base64 DER or PEM); the webhook is refused without it. */
  sendgridWebhookPublicKey: z.string().min(1).optional(),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

/**
 * The dashboard at `/dashboard` on `comeback serve`. Without a token or basic-auth credentials it
 * is refused (it shows customer names and revenue); `comeback demo` generates a random token.
 */
export const DashboardConfig = z.strictObject({
  /** Serve the dashboard at all (credentials are still required). */
  enabled: z.boolean().default(true),
  /** Bearer token: `Authorization: Bearer TOKEN`, or `/dashboard?token=TOKEN` once (a session cookie follows). */
  token: z.string().min(16).optional(),
  /** Basic auth for browsers: the username and password the login prompt asks for. */
  basicAuth: z.strictObject({ username: z.string().min(1), password: z.string().min(12) }).optional(),
});
export type DashboardConfig = z.infer<typeof DashboardConfig>;

/** Thresholds of the human-or-machine rules (docs/TRACKING.md). */
export const TrackingConfig = z.strictObject({
  /** An open this soon after sending is a prefetch. */
  machineOpenWithinMs: z.number().int().min(0).default(5_000),
  /** A click this soon after sending is a link scanner. */
  botClickWithinMs: z.number().int().min(0).default(10_000),
  /** Clicks on two different links of one message within this window are a scanner. */
  burstWindowMs: z.number().int().min(0).default(2_000),
});
export type TrackingConfig = z.infer<typeof TrackingConfig>;

/**
 * The deliverability guard and the variant optimiser (docs/METRICS.md). Rates are fractions of
 * the mails sent in the rolling window (0.001 = 0.1 %).
 */
export const GuardConfig = z
  .strictObject({
    /** Length of the rolling window the guard judges, in days. */
    windowDays: z.number().int().positive().default(30),
    /** How often the worker runs the guard, in minutes of engine time. */
    checkIntervalMinutes: z
      .number()
      .positive()
      .max(24 * 60)
      .default(1),
    /** Acceptable complaint rate: the guard's null hypothesis, and a warning from there (providers want spam under 0.1 %). */
    complaintWarn: z.number().gt(0).lt(1).default(DEFAULT_GUARD_THRESHOLDS.complaintWarn),
    /** Harmful complaint rate the sequential test is built to catch (Gmail's and Yahoo's bulk-sender limit is 0.3 %). */
    complaintPause: z.number().gt(0).lt(1).default(DEFAULT_GUARD_THRESHOLDS.complaintPause),
    /** Likelihood ratio harmful : acceptable at which complaints pause a sequence. */
    complaintEvidence: z.number().gt(1).default(DEFAULT_GUARD_THRESHOLDS.complaintEvidence),
    /** Acceptable hard-bounce rate, and a warning from there. */
    hardBounceWarn: z.number().gt(0).lt(1).default(DEFAULT_GUARD_THRESHOLDS.hardBounceWarn),
    /** Harmful hard-bounce rate the test is built to catch (above ~5 % the list itself is stale). */
    hardBouncePause: z.number().gt(0).lt(1).default(DEFAULT_GUARD_THRESHOLDS.hardBouncePause),
    /** Likelihood ratio harmful : acceptable at which hard bounces pause a sequence. */
    hardBounceEvidence: z.number().gt(1).default(DEFAULT_GUARD_THRESHOLDS.hardBounceEvidence),
    /** Complaints (or hard bounces) in the window below which they never pause. */
    minEvents: z.number().int().min(1).default(DEFAULT_GUARD_THRESHOLDS.minEvents),
    /** Mails in the window below which nothing pauses. */
    minVolume: z.number().int().min(1).default(DEFAULT_GUARD_THRESHOLDS.minVolume),
    /** Traffic share every variant keeps however badly it does, so the optimiser can still learn it is better. */
    minExplorationShare: z.number().min(0).max(0.5).default(0.05),
  })
  .refine((g) => g.complaintWarn < g.complaintPause, {
    message: 'complaintWarn must be below complaintPause',
    path: ['complaintWarn'],
  })
  .refine((g) => g.hardBounceWarn < g.hardBouncePause, {
    message: 'hardBounceWarn must be below hardBouncePause',
    path: ['hardBounceWarn'],
  });
export type GuardConfig = z.infer<typeof GuardConfig>;

/**
 * The global control group (docs/METRICS.md, "The whole programme"): a share of customers that no
 * sequence ever mails, drawn by a stable hash of the address and `rotation`, the baseline of the
 * programme's uplift. Changing `rotation` (e.g. once a year) draws a new group; enrolments keep
 * the membership recorded when they started.
 */
export const ControlGroupConfig = z.strictObject({
  /** Share of customers in the group (0.05 = 5 %); 0 switches it off. Raising it keeps the old members. */
  share: z.number().min(0).max(0.5).default(0),
  /** Salt of the draw: a new value draws a new group (e.g. "2027"). */
  rotation: z.string().min(1).max(64).default('1'),
  /** Days after a customer's first entry in the period over which their orders count. */
  windowDays: z.number().int().min(1).max(365).default(30),
});
export type ControlGroupConfig = z.infer<typeof ControlGroupConfig>;

/** Double opt-in limits (docs/CONSENT.md). */
export const ConsentConfig = z.strictObject({
  /** How long a confirmation link stays valid. */
  optInTtlHours: z
    .number()
    .positive()
    .max(24 * 30)
    .default(DEFAULT_OPT_IN_TTL_HOURS),
  /** Confirmation mails per address and 24 hours at most (abuse protection). */
  optInRequestsPerDay: z.number().int().min(1).max(20).default(MAX_REQUESTS_PER_DAY),
});
export type ConsentConfig = z.infer<typeof ConsentConfig>;

/**
 * A connected shop (docs/INTEGRATIONS.md): orders and customers come in by webhook and
 * `comeback sync`, coupon codes are created in the shop before their mail goes out. Secrets
 * may come from COMEBACK_SHOP_ACCESS_TOKEN and COMEBACK_SHOP_WEBHOOK_SECRET instead.
 */
export const ShopConfig = z.strictObject({
  type: z.enum(['shopify', 'woocommerce']),
  /** The shop's host: `example.myshopify.com`, or the WordPress site's host for WooCommerce. */
  domain: z
    .string()
    .min(3)
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'expected a host name like example.myshopify.com'),
  /** Shopify: the Admin API access token. WooCommerce: `consumer_key:consumer_secret`. */
  accessToken: z.string().min(8),
  /** The secret webhooks are signed with (Shopify: the app's client secret). */
  webhookSecret: z.string().min(8),
  /** The API's base URL, when it is not the shop's own https host (a proxy, a local test shop). */
  apiUrl: z.string().url().optional(),
  /** Shopify Admin API version. */
  apiVersion: z
    .string()
    .regex(/^\d{4}-\d{2}$/)
    .default('2025-01'),
  /** How long a call to the shop may take before it counts as unreachable. */
  timeoutMs: z.number().int().positive().default(10_000),
});
export type ShopConfig = z.infer<typeof ShopConfig>;
/** A webhook secret, or `env:NAME` to read it from the environment variable NAME; two while rotating. Parsed to a list. */
const WebhookSecrets = z.union([z.string(), z.array(z.string()).min(1).max(2)]).transform((value, c) => {
  const out: string[] = [];
  for (const [i, v] of (Array.isArray(value) ? value : [value]).entries()) {
    const name = v.startsWith('env:') ? v.slice(4) : undefined;
    const secret = name === undefined ? v : process.env[name];
    const path = Array.isArray(value) ? [i] : [];
    if (secret === undefined) {
      c.addIssue({ code: 'custom', message: `the environment variable ${name} is not set`, path });
      continue;
    }
    try {
      secretKey(secret);
      out.push(secret);
    } catch (err) {
      c.addIssue({ code: 'custom', message: (err as Error).message, path });
    }
  }
  return out;
});

/** One receiver of outbound webhooks (docs/WEBHOOKS.md). */
export const WebhookEndpoint = z.strictObject({
  /** Names the endpoint in `comeback webhooks` and the database; default: the URL. */
  name: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional(),
  url: z.url({ protocol: /^https?$/ }).max(2000),
  /** Event types it receives (docs/WEBHOOKS.md), or `*` for all. */
  events: z.array(z.enum([...WEBHOOK_EVENT_TYPES, '*'])).min(1),
  /** `whsec_...` secret(s); two while rotating: every request is signed with each. */
  secret: WebhookSecrets,
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

/** How the dispatcher delivers webhooks (docs/WEBHOOKS.md). */
export const WebhookDeliveryConfig = z.strictObject({
  /** A request that takes longer fails (and is retried). */
  timeoutMs: z.number().int().positive().default(10_000),
  /** First retry delay; doubles per attempt up to `backoffMaxMs`, with jitter. */
  backoffBaseMs: z.number().int().positive().default(5_000),
  backoffMaxMs: z.number().int().positive().default(3_600_000),
  /** An event that still fails this long after its first attempt goes to the dead-letter list. */
  retryForHours: z.number().positive().default(26),
  /** Requests in flight per endpoint. */
  concurrency: z.number().int().min(1).max(64).default(8),
  /** Failures in a row after which an endpoint is paused for `pauseMs` (shown by stats and check). */
  pauseAfterFailures: z.number().int().min(1).default(20),
  pauseMs: z.number().int().positive().default(300_000),
  /** Milliseconds between looks at the outbox when it was empty. */
  pollIntervalMs: z.number().int().positive().default(1_000),
  /** Delivered events are kept this long for `comeback webhooks list`. */
  keepDeliveredDays: z.number().min(0).default(7),
  /** Allow URLs on this machine (a local receiver in development); `--dev` allows them too. */
  allowLocal: z.boolean().default(false),
});
export type WebhookDeliveryConfig = z.infer<typeof WebhookDeliveryConfig>;

/** Engine configuration. Every field has a default so `createEngine({})` is a working embedded setup. */
export const EngineConfig = z.strictObject({
  /** A SQLite file path (embedded default) or a `postgres://` URL (scale-out). `?schema=NAME` selects a PostgreSQL schema. */
  database: z.string().min(1).default('comeback.db'),
  sequencesDir: z.string().default('sequences'),
  templatesDir: z.string().default('templates'),
  transport: TransportConfig.default({ type: 'outbox', dir: 'outbox' }),
  sender: SenderConfig.default(SenderConfig.parse({})),
  /** The only addresses test sends (`comeback studio`, `comeback send-test`) go to: the team's own inboxes. */
  seedList: z.array(z.email().max(TEXT.email)).max(COUNT.seedList).default([]),
  /** Base URL of `comeback serve`, used in tracking and unsubscribe links. */
  publicUrl: z.string().url().default('http://localhost:8080'),
  /** The shop's own site, offered to templates as `shop_url`. */
  shopUrl: z.string().url().default('https://shop.example.com'),
  /** HMAC key(s) for tracking tokens; the first signs, all verify (key rotation). */
  secret: z.union([z.string().min(16), z.array(z.string().min(16)).min(1)]).default(DEVELOPMENT_SECRET),
  /**
   * Topics (sequence families) customers can opt out of on the preference page, e.g. offers, news,
   * surveys; each sequence names its `topic`. At most `COUNT.topics` (20).
   */
  topics: z
    .array(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a topic name: lower-case letters, digits, - and _'))
    .max(COUNT.topics)
    .default([])
    .refine((t) => new Set(t).size === t.length, { message: 'a topic is declared twice' }),
  /** Bearer key for the shop-facing HTTP API (orders, trigger). */
  apiKey: z.string().min(16).optional(),
  server: ServerConfig.default(ServerConfig.parse({})),
  tracking: TrackingConfig.default(TrackingConfig.parse({})),
  dashboard: DashboardConfig.default(DashboardConfig.parse({})),
  guard: GuardConfig.default(GuardConfig.parse({})),
  controlGroup: ControlGroupConfig.default(ControlGroupConfig.parse({})),
  consent: ConsentConfig.default(ConsentConfig.parse({})),
  /** The connected shop, if any: without it coupon codes exist in Comeback only. */
  shop: ShopConfig.optional(),
  /** Outbound webhooks: who hears about enrolments, sends, opens, clicks, conversions... (docs/WEBHOOKS.md). */
  webhooks: z
    .array(WebhookEndpoint)
    .max(20)
    .default([])
    .refine((list) => new Set(list.map((w) => w.name ?? w.url)).size === list.length, {
      message: 'two webhook endpoints have the same name (or URL); give each a distinct name',
    }),
  webhookDelivery: WebhookDeliveryConfig.default(WebhookDeliveryConfig.parse({})),
  /** Redis URL: when set, the worker dispatches send jobs through BullMQ. */
  redisUrl: z.string().optional(),
  /**
   * How long `comeback worker` and `comeback serve` wait at start for an unreachable PostgreSQL
   * (and Redis, for the worker on BullMQ) before they give up; 0 fails at once.
   */
  startupWaitSeconds: z.number().int().min(0).max(86_400).default(300),
  defaults: z
    .strictObject({
      locale: z.string().default('en'),
      timeZone: z.string().default('Europe/Berlin'),
      currency: z.string().length(3).default('EUR'),
    })
    .default({ locale: 'en', timeZone: 'Europe/Berlin', currency: 'EUR' }),
  /**
   * Rates into the shop's currency (`defaults.currency`): `{ USD: 0.92 }` says one US dollar is
   * 0.92 of it. An order in another currency is converted with its rate (the original amount and
   * currency are kept); an order in a currency without a rate is refused.
   */
  exchangeRates: z
    .record(z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like USD'), z.number().positive().finite())
    .default({}),
  worker: z
    .strictObject({
      /** Enrolments claimed per scheduler transaction. */
      batchSize: z.number().int().positive().default(500),
      /**
       * Send jobs per worker process at once. Only `maxInDoubt` at a time pass the point of no
       * return; the others claim, read and render meanwhile, in batches (`claimLingerMs`).
       */
      concurrency: z.number().int().positive().default(32),
      /** How long a send job waits for others to claim and read their rows in one batch (queries per batch, not per mail). */
      claimLingerMs: z.number().int().min(0).default(5),
      /** A message stuck in `sending` this long becomes `uncertain` (never resent blindly). */
      sendingTimeoutMs: z
        .number()
        .int()
        .positive()
        .default(10 * 60_000),
      /** Milliseconds between passes of `startWorker()`. */
      pollIntervalMs: z.number().int().positive().default(1000),
      /** A message claimed but not yet handed to the provider this long (its worker died) is sent again. */
      claimTimeoutMs: z.number().int().positive().default(120_000),
      /**
       * Most messages per worker process past the point of no return at once: what a crash can
       * leave `uncertain`. Default: one per pooled SMTP connection (`transport.pool`), so a reply
       * that hangs on one connection holds up only that one; 1 for the other transports.
       */
      maxInDoubt: z.number().int().positive().optional(),
      /** BullMQ: jobs waiting in the queue (all workers) above which a pass hands over no more; the rest follow in later passes. */
      maxQueued: z.number().int().positive().default(50_000),
      /** BullMQ: a reserved message handed to the queue this long ago and still not sent is handed over again. */
      redispatchAfterMs: z.number().int().positive().default(300_000),
      /**
       * BullMQ: a send job's lock, renewed while it runs. A job of a worker that died is taken up
       * again after about twice this (BullMQ's stall check); the message's claim keeps it from
       * being sent twice.
       */
      jobLockMs: z.number().int().min(1000).default(30_000),
      /** First retry delay after a transient failure; doubles per attempt, with jitter. */
      retryBaseMs: z.number().int().positive().default(30_000),
      /** Attempts before a message that keeps failing transiently ends `failed`. */
      maxAttempts: z.number().int().positive().default(8),
      /** How long an SMTP policy block (5.7.x) pauses the sender. */
      policyPauseMs: z.number().int().positive().default(3_600_000),
      /** First pause when the provider cannot be reached at all; doubles while it stays down, up to 10 minutes. */
      unreachablePauseMs: z.number().int().positive().default(15_000),
      /** Human opens needed before a follow-up waits for the customer's usual opening hour (0: never). */
      preferredHourMinOpens: z.number().int().min(0).default(3),
      /** BullMQ queue name (and Redis key prefix): workers of one installation share it. */
      queueName: z
        .string()
        .regex(/^[\w.-]+$/)
        .default('comeback-send'),
      /** On SIGTERM/SIGINT, sends in flight get this long to finish before the process exits anyway. */
      shutdownTimeoutMs: z.number().int().positive().default(8_000),
      /** How often `comeback worker` evaluates the audiences of all sequences and enrols who qualifies (0: never; use `comeback enroll` from cron). */
      audienceIntervalMs: z.number().int().min(0).default(3_600_000),
    })
    .default({
      batchSize: 500,
      concurrency: 32,
      claimLingerMs: 5,
      sendingTimeoutMs: 600_000,
      pollIntervalMs: 1000,
      claimTimeoutMs: 120_000,
      maxQueued: 50_000,
      redispatchAfterMs: 300_000,
      jobLockMs: 30_000,
      retryBaseMs: 30_000,
      maxAttempts: 8,
      policyPauseMs: 3_600_000,
      unreachablePauseMs: 15_000,
      preferredHourMinOpens: 3,
      queueName: 'comeback-send',
      shutdownTimeoutMs: 8_000,
      audienceIntervalMs: 3_600_000,
    }),
});
export type EngineConfig = z.infer<typeof EngineConfig>;
/** What a caller may pass: every field optional. */
export type EngineConfigInput = z.input<typeof EngineConfig>;

/**
 * The in-doubt limit in force: `worker.maxInDoubt` when set, else one per pooled SMTP connection
 * (each connection can hold one mail past its final dot), else 1.
 */
export function maxInDoubtOf(config: Pick<EngineConfig, 'worker' | 'transport'>): number {
  if (config.worker.maxInDoubt !== undefined) return config.worker.maxInDoubt;
  return config.transport.type === 'smtp' ? config.transport.pool : 1;
}
