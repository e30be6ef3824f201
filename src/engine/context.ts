import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EngineConfig } from '../config/schema.js';
import type { Db } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import type { Transport } from '../delivery/types.js';
import type { TemplateStore } from '../templates/store.js';
import type { TokenSigner } from '../tracking/tokens.js';
import type { TrackingUrls } from '../tracking/urls.js';
import type { SequenceRegistry } from './registry.js';

/** Everything the engine's parts share. Built once by the composition root (`app.ts`). */
export interface EngineContext {
  config: EngineConfig;
  db: Db;
  k: Kysely<Database>;
  clock: Clock;
  transport: Transport;
  templates: TemplateStore;
  sequences: SequenceRegistry;
  signer: TokenSigner;
  urls: TrackingUrls;
  log: Logger;
}
