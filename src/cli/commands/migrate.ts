import type { Command } from 'commander';
import { withEngine } from '../context.js';

/** `comeback migrate` */
export function register(program: Command): void {
  program
    .command('migrate')
    .description('create or upgrade the database schema (also done automatically on start)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        process.stdout.write(`database schema is up to date (${engine.ctx.db.dialect})\n`);
      });
    });
}
