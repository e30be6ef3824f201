import type { Command } from 'commander';
import { sequenceJsonSchema } from '../../sequences/json-schema.js';

/** `comeback schema`: the JSON Schema of the sequence language on stdout (for editors). */
export function register(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema (draft 2020-12) of sequence files, for editor completion and checks')
    .action(() => {
      process.stdout.write(`${JSON.stringify(sequenceJsonSchema(), null, 2)}\n`);
    });
}
