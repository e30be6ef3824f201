import type { Command } from 'commander';
import { createEngine, type EngineOptions } from '../app.js';
import { createLogger } from '../logger.js';
import type { Engine } from '../engine/engine.js';
import { loadProjectConfig, type ConfigChoice } from './config-file.js';

/** Global options every command understands. */
export type GlobalOptions = ConfigChoice;

/**
 * Builds the engine for a command from the global options (`--config`, `--db`). Only
 * `comeback worker` passes `jobs: true`: every other command is a tool that must not consume send
 * jobs (nor wait for Redis) while it runs.
 */
export async function engineFor(cmd: Command, options: EngineOptions = {}): Promise<Engine> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const config = loadProjectConfig(g);
  return createEngine(config, { jobs: false, logger: createLogger({ audience: 'command' }), ...options });
}

/** Runs `fn` with an engine and always closes it. */
export async function withEngine<T>(
  cmd: Command,
  fn: (engine: Engine) => Promise<T>,
  options: EngineOptions = {},
): Promise<T> {
  const engine = await engineFor(cmd, options);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
