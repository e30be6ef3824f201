import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { liveSendingProblems } from './config/live-sending.js';
import { parseConfig, type EngineConfigInput } from './config/index.js';
import { migrateToLatest, openDatabase } from './db/index.js';
import { createTransport } from './delivery/factory.js';
import type { Transport } from './delivery/types.js';
import { Engine } from './engine/engine.js';
import { SequenceRegistry } from './engine/registry.js';
import { createLogger } from './logger.js';
import { createBackend } from './queue/factory.js';
import { SendPipeline } from './engine/pipeline.js';
import { NoJobsBackend } from './queue/none.js';
import type { JobBackend } from './queue/types.js';
import { assertTopics, loadSequences, type LoadedSequence } from './sequences/loader.js';
import { TemplateStore } from './templates/store.js';
import { TokenSigner } from './tracking/tokens.js';
import { TrackingUrls } from './tracking/urls.js';
import { shopClient } from './integrations/index.js';
import { CohortShares } from './metrics/cohort-allocation.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Things that are objects, not configuration: injected by tests, the demo and embedding apps. */
export interface EngineOptions {
  clock?: Clock;
  /** Overrides the configured transport (e.g. a MemoryTransport in tests). */
  transport?: Transport;
  backend?: JobBackend;
  logger?: Logger;
  /** Sequences to use instead of loading `sequencesDir`. */
  sequences?: LoadedSequence[];
  /** Run migrations on start (default true). */
  migrate?: boolean;
  /**
   * False for a process that does not send (a CLI tool, the tracking server): no job backend, so
   * with BullMQ configured it neither consumes send jobs nor connects to Redis. Default true.
   */
  jobs?: boolean;
}

/**
 * Builds an engine from configuration: validates the config (a wrong field is named with its
 * fix), opens and migrates the database, loads the sequences and templates, and wires the
 * transport and job backend.
 *
 * ```ts
 * const engine = await createEngine({ database: 'shop.db' });
 * await engine.customers.upsert({ externalId: 'c-1', email: 'anna@example.com' });
 * await engine.runDue();
 * ```
 */
export async function createEngine(input: EngineConfigInput = {}, options: EngineOptions = {}): Promise<Engine> {
  const config = parseConfig(input);
  const log = options.logger ?? createLogger();
  const db = await openDatabase(config.database, { log });
  try {
    if (options.migrate !== false) await migrateToLatest(db);
    const clock = options.clock ?? systemClock;
    const sequences = new SequenceRegistry(db.kysely, options.sequences ? undefined : resolve(config.sequencesDir));
    const loaded =
      options.sequences ??
      (existsSync(config.sequencesDir) ? loadSequences([config.sequencesDir], undefined, config.topics) : []);
    // Sequences given in code are held to the config's topics like files (`topic:` must be declared).
    if (options.sequences) assertTopics(loaded, config.topics);
    await sequences.sync(loaded, clock.now());
    const signer = new TokenSigner(config.secret);
    const ctx = {
      config,
      db,
      k: db.kysely,
      clock,
      transport: options.transport ?? (await createTransport(config.transport)),
      templates: new TemplateStore(config.templatesDir, config.defaults.locale),
      sequences,
      signer,
      urls: new TrackingUrls(config.publicUrl, signer),
      log,
      cohortShares: new CohortShares(db.kysely),
      shop: config.shop ? shopClient(config.shop) : undefined,
    };
    // Only a process that sends needs the warning; tools (import, stats, ...) would repeat it every run.
    const problems = options.transport || options.jobs === false ? [] : liveSendingProblems(config);
    if (problems.length > 0)
      ctx.log.warn(
        { problems },
        `demo settings with the ${config.transport.type} transport: mails to real people would carry them (comeback worker refuses them without --dev)`,
      );
    const backend =
      options.backend ?? (options.jobs === false ? new NoJobsBackend() : await createBackend(config, ctx.log));
    const engine = new Engine(ctx, backend, new SendPipeline(ctx, backend));
    await engine.init();
    return engine;
  } catch (err) {
    await db.close();
    throw err;
  }
}
