import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { ConfigError } from '../../src/index.js';
import { sqliteUrl } from '../helpers/backends.js';

describe('comeback serve', () => {
  it('refuses the built-in development secret unless --dev', async () => {
    const saved = process.env.COMEBACK_SECRET;
    delete process.env.COMEBACK_SECRET;
    try {
      const run = buildProgram().parseAsync(['node', 'comeback', '--db', sqliteUrl(), 'serve', '--port', '0']);
      await expect(run).rejects.toThrow(ConfigError);
      await expect(buildProgram().parseAsync(['node', 'comeback', '--db', sqliteUrl(), 'serve', '--port', '0'])).rejects.toThrow(/development secret.*--dev/);
    } finally {
      if (saved !== undefined) process.env.COMEBACK_SECRET = saved;
    }
  });

  it('names a wrong port', async () => {
    await expect(buildProgram().parseAsync(['node', 'comeback', '--db', sqliteUrl(), 'serve', '--port', 'eighty', '--dev'])).rejects.toThrow(/--port: expected a port number/);
  });
});
