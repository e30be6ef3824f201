import type { Command } from 'commander';
import { parseConfig } from '../../config/index.js';
import { formatProblem } from '../../errors.js';
import { validatePaths } from '../../sequences/validate.js';
import { loadCliConfig } from '../config-file.js';
import type { GlobalOptions } from '../context.js';
import { count } from '../format/plural.js';

/** `comeback validate [FILES|DIRS]`: exit 0 when all are valid, 1 with one line per problem otherwise. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('check sequence files: YAML, keys, values, conditions, template references; one line per problem')
    .argument('[paths...]', 'sequence files or folders (default: the sequences folder of the config)')
    .option('--templates <dir>', 'templates folder to check references against (default: from the config)')
    .option('--no-templates', 'skip template references and template checks')
    .option('-q, --quiet', 'print nothing when everything is valid')
    .action(async (paths: string[], opts: { templates?: string | boolean; quiet?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = parseConfig(loadCliConfig(g.config));
      const templatesDir =
        opts.templates === false ? false : typeof opts.templates === 'string' ? opts.templates : config.templatesDir;
      const targets = paths.length > 0 ? paths : [config.sequencesDir];
      const { problems, files } = await validatePaths(targets, {
        templatesDir,
        fallbackLocale: config.defaults.locale,
        topics: config.topics,
      });
      for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
      if (problems.length > 0) {
        process.stderr.write(
          `${count(problems.length, 'problem')} in ${count(new Set(problems.map((p) => p.file)).size, 'file')}\n`,
        );
        process.exitCode = 1;
      } else if (!opts.quiet) {
        process.stdout.write(`${count(files.length, 'sequence file')} valid\n`);
      }
    });
}
