import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { closeOnSignal } from '../../server/index.js';
import { loadSequenceFilesLeniently } from '../../studio/load.js';
import { startStudio } from '../../studio/index.js';
import { engineFor } from '../context.js';

/**
 * `comeback studio [--host H] [--port P] [--no-open]`: the studio on the project folder. It writes
 * files and can send test mail, so it always needs the token in the address it prints.
 */
export function register(program: Command): void {
  program
    .command('studio')
    .description(
      'edit sequences and templates with live validation, the flow picture, previews, test sends and a forecast (a local web app)',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '4455')
    .option('--no-open', 'do not open the browser, only print the address')
    .action(async (opts: { host: string; port: string; open: boolean }, cmd: Command) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new ConfigError(`--port: expected a port number 0-65535, got "${opts.port}"`);
      // A file with problems must not keep the studio from opening: it is where they get fixed.
      const engine = await engineFor(cmd, { sequences: [] });
      try {
        const notes = await loadSequenceFilesLeniently(engine);
        const studio = await startStudio({ engine, root: process.cwd(), host: opts.host, port });
        for (const n of notes) process.stderr.write(`note: ${n}\n`);
        process.stdout.write(
          `Comeback studio: ${studio.url}\n(the token in the address is required; Ctrl-C stops the studio)\n`,
        );
        if (opts.open) openBrowser(studio.url);
        await closeOnSignal(studio.app);
      } finally {
        await engine.close();
      }
    });
}

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    spawn(command, [url], { detached: true, stdio: 'ignore' })
      .on('error', () => process.stderr.write(`open ${url} in your browser\n`))
      .unref();
  } catch {
    process.stderr.write(`open ${url} in your browser\n`);
  }
}
