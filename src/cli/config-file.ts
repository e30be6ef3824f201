import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { EngineConfigInput } from '../config/schema.js';
import { ConfigError } from '../errors.js';

const DEFAULT_FILES = ['comeback.config.json', 'comeback.config.yaml', 'comeback.config.yml'];

/**
 * The engine config for a CLI run: the config file (`--config FILE`, else the first of
 * comeback.config.{json,yaml,yml} that exists), then environment overrides:
 * COMEBACK_DATABASE, COMEBACK_REDIS_URL, COMEBACK_SECRET, COMEBACK_API_KEY, COMEBACK_PUBLIC_URL,
 * COMEBACK_DASHBOARD_TOKEN.
 */
export function loadCliConfig(file?: string): EngineConfigInput {
  const path = file ?? DEFAULT_FILES.find((f) => existsSync(f));
  let config: Record<string, unknown> = {};
  if (path) {
    if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
    try {
      const text = readFileSync(path, 'utf8');
      config = (path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
    }
  }
  const env = process.env;
  if (env.COMEBACK_DATABASE) config.database = env.COMEBACK_DATABASE;
  if (env.COMEBACK_REDIS_URL) config.redisUrl = env.COMEBACK_REDIS_URL;
  if (env.COMEBACK_SECRET) config.secret = env.COMEBACK_SECRET;
  if (env.COMEBACK_API_KEY) config.apiKey = env.COMEBACK_API_KEY;
  if (env.COMEBACK_PUBLIC_URL) config.publicUrl = env.COMEBACK_PUBLIC_URL;
  if (env.COMEBACK_DASHBOARD_TOKEN) config.dashboard = { ...((config.dashboard as object | undefined) ?? {}), token: env.COMEBACK_DASHBOARD_TOKEN };
  return config as EngineConfigInput;
}
