/**
 * `comeback studio` as a library call: the studio's server on a project folder. Public surface of
 * the folder; the CLI command and the tests start it through here.
 */
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { listen } from '../server/listen.js';
import { allowedHosts, newToken } from './guard.js';
import { buildStudioServer } from './server.js';
import { StudioSession } from './session.js';

export { StudioSession } from './session.js';
export { ProjectFiles, StudioError, textHash } from './files.js';
export { buildFlow, flowNodeCount, type Flow, type FlowNode } from './flow.js';
export { addStepAfter, setStepWait, setVersion } from './cst-edit.js';
export { sendTest, seedRecipients, SeedListError, type TestSendResult } from './test-send.js';
export { forecast, type Forecast } from './forecast.js';
export { TOKEN_HEADER } from './guard.js';

/** Options of a studio. */
export interface StudioOptions {
  engine: Engine;
  /** The project folder (the sequences and templates folders of the config are inside it). */
  root: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Default: a fresh random token. */
  token?: string;
}

/** A running studio. */
export interface RunningStudio {
  app: FastifyInstance;
  /** The address to open, with the token. */
  url: string;
  base: string;
  token: string;
  session: StudioSession;
  close(): Promise<void>;
}

/** Starts the studio's server; the engine stays the caller's to close. */
export async function startStudio(options: StudioOptions): Promise<RunningStudio> {
  const token = options.token ?? newToken();
  const hosts = new Set<string>();
  const session = new StudioSession(options.engine, options.root);
  const app = await buildStudioServer(session, token, hosts);
  const host = options.host ?? '127.0.0.1';
  const { port } = await listen(app, { host, port: options.port ?? 4455 });
  for (const h of allowedHosts(host, port)) hosts.add(h);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = `http://${shown}:${port}`;
  return { app, base, url: `${base}/?token=${encodeURIComponent(token)}`, token, session, close: () => app.close() };
}
