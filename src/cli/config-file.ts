import { existsSync, readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, parse as parseYaml, type Node } from 'yaml';
import { formatConfigIssues } from '../config/index.js';
import { EngineConfig, type EngineConfigInput } from '../config/schema.js';
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
  let text = '';
  if (path) {
    if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
    try {
      text = readFileSync(path, 'utf8');
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
  // Checked here, where the file is at hand, so that each problem names its line and column.
  const checked = EngineConfig.safeParse(config);
  if (!checked.success && path) {
    throw new ConfigError(`invalid configuration:\n${formatConfigIssues(EngineConfig, checked.error.issues, 'config', locator(path, text))}`);
  }
  return config as EngineConfigInput;
}

/** `file:line:column` of a config path in the file (JSON is YAML too), or undefined when it is not in the file. */
function locator(file: string, text: string): (path: PropertyKey[]) => string | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) break;
        offset = (pair.key as Node).range?.[0];
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
        node = node.items[key];
        offset = (node as Node).range?.[0];
      } else break;
    }
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
}
