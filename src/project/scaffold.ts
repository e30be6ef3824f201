/**
 * A new Comeback project in a folder: a commented config file with freshly generated secrets,
 * the example sequences and templates to start from, the sequence JSON Schema wired up for
 * editors, and a .gitignore for what the engine writes. Nothing that exists is ever overwritten: such files are kept and reported.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ComebackError } from '../errors.js';
import { sequenceJsonSchema } from '../sequences/json-schema.js';
import { packageRoot } from '../util/package-root.js';

/** What `scaffoldProject` wrote and what it left alone, as paths relative to the project folder. */
export interface ScaffoldResult {
  created: string[];
  kept: string[];
}

const CONFIG_FILES = ['comeback.config.json', 'comeback.config.yaml', 'comeback.config.yml'];

/** The starter configuration: outbox transport, generated secrets, the fields to set before real sending. */
export function starterConfig(secret: string, dashboardToken: string, shop?: 'shopify' | 'woocommerce'): string {
  return `# Comeback configuration (every key and its default: docs/CONFIG.md). Environment variables override it:
# COMEBACK_DATABASE, COMEBACK_SECRET, COMEBACK_PUBLIC_URL, COMEBACK_REDIS_URL, COMEBACK_API_KEY.

database: comeback.db            # a SQLite file, or postgres://user@host/db for scale-out
sequencesDir: sequences
templatesDir: templates

# Mails are written to ./outbox/ as .eml files until you configure a real transport.
transport:
  type: outbox
  dir: outbox
# transport:
#   type: smtp
#   url: smtp://user:password@mail.your-shop.example:587
#   pool: 5

# Who the mails come from and where their links point. \`comeback worker\` refuses SMTP and
# SendGrid until these are yours (the demo values are used while they are commented out).
# sender:
#   name: Your Shop
#   from: hello@your-shop.example
#   postalAddress: Your Shop GmbH, Street 1, 12345 City, Country
#   returnPath: bounces@your-shop.example   # SMTP: where bounces go; \`comeback inbound\` reads them
#   unsubscribeMailto: unsubscribe@your-shop.example   # unsubscribe requests by mail; read them the same way
# publicUrl: https://track.your-shop.example   # where \`comeback serve\` is reachable
# shopUrl: https://your-shop.example

# Signs tracking and unsubscribe links; generated for this project. Keep it out of version
# control (or delete it here and set COMEBACK_SECRET).
secret: ${secret}

# The dashboard of \`comeback serve\`: open /dashboard?token=... once.
dashboard:
  token: ${dashboardToken}

defaults:
  locale: en
  timeZone: Europe/Berlin
  currency: EUR
${shop ? shopSkeleton(shop) : ''}`;
}

/**
 * The shop block of \`comeback init --shop\`, commented out until the shop's values are filled in
 * (docs/INTEGRATIONS.md): an active block with placeholders would make every mail with a coupon wait.
 */
function shopSkeleton(type: 'shopify' | 'woocommerce'): string {
  const shopify = type === 'shopify';
  return `
# The connected ${shopify ? 'Shopify store' : 'WooCommerce shop'} (docs/INTEGRATIONS.md): orders and customers by webhook
# and \`comeback sync ${type}\`, coupon codes created in the shop before their mail goes out.
# Fill in and uncomment; keep the secrets in the environment (COMEBACK_SHOP_ACCESS_TOKEN,
# COMEBACK_SHOP_WEBHOOK_SECRET) rather than here. \`comeback check\` tests the credentials.
# shop:
#   type: ${type}
#   domain: ${shopify ? 'your-store.myshopify.com' : 'your-shop.example'}
#   accessToken: ${shopify ? 'shpat_...            # Admin API access token of your custom app' : 'ck_...:cs_...        # REST API consumer key:secret (read/write)'}
#   webhookSecret: ${shopify ? "...               # the app's client secret (signs webhooks)" : '...               # the secret of the webhooks you add'}
`;
}

const GITIGNORE = `# written by Comeback
comeback.db
comeback.db-*
outbox/
.comeback/
# holds the link-signing secret; to version it, move the secret to COMEBACK_SECRET first
comeback.config.yaml
`;

/** Writes a file unless it exists. */
function writeNew(dir: string, name: string, text: string, result: ScaffoldResult): void {
  if (existsSync(join(dir, name))) result.kept.push(name);
  else {
    writeFileSync(join(dir, name), text);
    result.created.push(name);
  }
}

/** Copies a folder tree file by file, keeping files that exist. */
function copyTree(from: string, to: string, root: string, result: ScaffoldResult): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).sort()) {
    const source = join(from, name);
    const target = join(to, name);
    if (statSync(source).isDirectory()) copyTree(source, target, root, result);
    else if (existsSync(target)) result.kept.push(relative(root, target));
    else {
      copyFileSync(source, target);
      result.created.push(relative(root, target));
    }
  }
}

/**
 * Sets up a project in `dir` (created when missing): `comeback.config.yaml`, `sequences/` and
 * `templates/` from the examples shipped with Comeback, `sequence.schema.json` with
 * `.vscode/settings.json`, and `.gitignore`. Existing files stay.
 */
export function scaffoldProject(dir: string, options: { shop?: 'shopify' | 'woocommerce' } = {}): ScaffoldResult {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new ComebackError('E_INPUT', `${dir} is a file, not a folder`);
  const root = packageRoot();
  if (!root)
    throw new ComebackError(
      'E_INPUT',
      'the example sequences and templates shipped with Comeback were not found next to its code',
    );
  const result: ScaffoldResult = { created: [], kept: [] };
  try {
    writeProject(dir, root, result, options.shop);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    // A folder that cannot be written (no permission, a file in the path, a full disk).
    const done = result.created.length
      ? ` ${result.created.length} file(s) were written before it and stay; run again after the fix (existing files are kept).`
      : '';
    throw new ComebackError('E_INPUT', `cannot set up the project in ${dir}: ${(err as Error).message}.${done}`);
  }
  return result;
}

function writeProject(dir: string, root: string, result: ScaffoldResult, shop?: 'shopify' | 'woocommerce'): void {
  mkdirSync(dir, { recursive: true });
  const existingConfig = CONFIG_FILES.find((f) => existsSync(join(dir, f)));
  if (existingConfig) result.kept.push(existingConfig);
  else {
    const token = () => randomBytes(32).toString('base64url');
    writeFileSync(join(dir, 'comeback.config.yaml'), starterConfig(token(), token(), shop), { mode: 0o600 });
    result.created.push('comeback.config.yaml');
  }
  copyTree(join(root, 'sequences'), join(dir, 'sequences'), dir, result);
  copyTree(join(root, 'templates'), join(dir, 'templates'), dir, result);
  // Completion and checks while typing, for editors with yaml-language-server (docs/SEQUENCES.md).
  writeNew(dir, 'sequence.schema.json', `${JSON.stringify(sequenceJsonSchema(), null, 2)}\n`, result);
  mkdirSync(join(dir, '.vscode'), { recursive: true });
  writeNew(
    dir,
    '.vscode/settings.json',
    `${JSON.stringify({ 'yaml.schemas': { './sequence.schema.json': 'sequences/*.yaml' } }, null, 2)}\n`,
    result,
  );
  writeNew(dir, '.gitignore', GITIGNORE, result);
}
