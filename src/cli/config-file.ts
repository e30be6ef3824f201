import { existsSync, readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, parse as parseYaml, type Node } from 'yaml';
import { formatConfigIssues } from '../config/index.js';
import { EngineConfig, type EngineConfigInput } from '../config/schema.js';
import { ConfigError } from '../errors.js';

const DEFAULT_FILES = ['comeback.config.json', 'comeback.config.yaml', 'comeback.config.yml'];
const DEFAULT_DATABASE = 'comeback.db';

/** The global options that choose the config and the database. */
export interface ConfigChoice {
  config?: string;
  db?: string;
}

/**
 * The config of a command that opens the database, with `--db` applied. In a folder without a
 * config file, where no database was chosen (`--db`, COMEBACK_DATABASE), a stray `./comeback.db`
 * (and `./outbox/`) would be created and filled unnoticed: the command refuses with the fix
 * instead. A folder that already holds `comeback.db` runs on the defaults, with a note on stderr.
 */
export function loadProjectConfig(g: ConfigChoice): EngineConfigInput {
  const config = loadCliConfig(g.config);
  if (g.db) config.database = g.db;
  if (g.config || DEFAULT_FILES.some((f) => existsSync(f)) || config.database) return config;
  const here = process.cwd();
  if (!existsSync(DEFAULT_DATABASE)) {
    throw new ConfigError(
      `no comeback.config.json, .yaml or .yml in ${here}, and no ${DEFAULT_DATABASE}: nothing to work on here.\n` +
        `  comeback init          starts a project in this folder (config, sequences, templates)\n` +
        `  --config FILE          uses a project's config from anywhere\n` +
        `  --db FILE|postgres://  uses a database with the default settings`,
    );
  }
  process.stderr.write(
    `note: no comeback.config.* in ${here}; using the defaults (database ${DEFAULT_DATABASE}, sequences/, templates/, mails to outbox/)\n`,
  );
  return config;
}

/**
 * The engine config for a CLI run: the config file (`--config FILE`, else the first of
 * comeback.config.{json,yaml,yml} that exists), then environment overrides:
 * COMEBACK_DATABASE, COMEBACK_REDIS_URL, COMEBACK_SECRET, COMEBACK_API_KEY, COMEBACK_PUBLIC_URL,
 * COMEBACK_DASHBOARD_TOKEN, COMEBACK_SHOP_ACCESS_TOKEN, COMEBACK_SHOP_WEBHOOK_SECRET.
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
  if (env.COMEBACK_DASHBOARD_TOKEN)
    config.dashboard = { ...((config.dashboard as object | undefined) ?? {}), token: env.COMEBACK_DASHBOARD_TOKEN };
  // Shop secrets stay out of the file when the environment has them.
  const shop = config.shop as Record<string, unknown> | undefined;
  if (shop && env.COMEBACK_SHOP_ACCESS_TOKEN) shop.accessToken = env.COMEBACK_SHOP_ACCESS_TOKEN;
  if (shop && env.COMEBACK_SHOP_WEBHOOK_SECRET) shop.webhookSecret = env.COMEBACK_SHOP_WEBHOOK_SECRET;
  // Checked here, where the file is at hand, so that each problem names its line and column.
  const checked = EngineConfig.safeParse(config);
  if (!checked.success && path) {
    throw new ConfigError(
      `invalid configuration:\n${formatConfigIssues(EngineConfig, checked.error.issues, 'config', locator(path, text))}`,
    );
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
