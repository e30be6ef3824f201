import { Command, CommanderError } from 'commander';
import { ComebackError, ValidationError, formatProblem } from '../errors.js';
import * as audience from './commands/audience.js';
import * as audit from './commands/audit.js';
import * as check from './commands/check.js';
import * as customer from './commands/customer.js';
import * as demo from './commands/demo.js';
import * as enroll from './commands/enroll.js';
import * as experiment from './commands/experiment.js';
import * as exportCmd from './commands/export.js';
import * as forget from './commands/forget.js';
import * as importCmd from './commands/import.js';
import * as inbound from './commands/inbound.js';
import * as log from './commands/log.js';
import * as init from './commands/init.js';
import * as migrate from './commands/migrate.js';
import * as pause from './commands/pause.js';
import * as preview from './commands/preview.js';
import * as resume from './commands/resume.js';
import * as serve from './commands/serve.js';
import * as schema from './commands/schema.js';
import * as sendTest from './commands/send-test.js';
import * as score from './commands/score.js';
import * as simulate from './commands/simulate.js';
import * as stats from './commands/stats.js';
import * as studio from './commands/studio.js';
import * as sync from './commands/sync.js';
import * as uncertain from './commands/uncertain.js';
import * as users from './commands/users.js';
import * as validate from './commands/validate.js';
import * as webhooks from './commands/webhooks.js';
import * as worker from './commands/worker.js';

/** Every command module registers itself here; the order is the order of `comeback --help`. */
const COMMANDS = [
  demo,
  init,
  experiment,
  importCmd,
  sync,
  migrate,
  check,
  enroll,
  worker,
  serve,
  stats,
  uncertain,
  webhooks,
  inbound,
  pause,
  resume,
  log,
  users,
  preview,
  studio,
  sendTest,
  validate,
  schema,
  simulate,
  audience,
  score,
  customer,
  exportCmd,
  forget,
  audit,
];

/** The `comeback` program. */
export function buildProgram(): Command {
  const program = new Command('comeback')
    .description('Comeback: win back customers who stopped buying, with consent-safe email sequences written in YAML')
    .option('-c, --config <file>', 'config file (JSON or YAML; default comeback.config.json/.yaml if present)')
    .option('--db <url>', 'SQLite file or postgres:// URL (overrides the config)')
    .showHelpAfterError()
    .exitOverride();
  for (const c of COMMANDS) c.register(program);
  return program;
}

/** CLI entry point: the only place that decides exit codes. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode);
    }
    if (err instanceof ValidationError) {
      for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
      process.exit(1);
    }
    if (err instanceof ComebackError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  }
  // Pools (pg, pino) may keep the loop alive; a finished command exits with its code.
  process.exit(process.exitCode ?? 0);
}
