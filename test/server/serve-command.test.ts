import { describe, expect, it } from 'vitest';
import { linksMissServer } from '../../src/cli/commands/serve.js';
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
      await expect(
        buildProgram().parseAsync(['node', 'comeback', '--db', sqliteUrl(), 'serve', '--port', '0']),
      ).rejects.toThrow(/development secret.*--dev/);
    } finally {
      if (saved !== undefined) process.env.COMEBACK_SECRET = saved;
    }
  });

  it('warns when links in mails point at this machine on another port than it listens on', () => {
    expect(linksMissServer('http://localhost:8080', 'http://127.0.0.1:8123')).toBe(
      'links in mails point at http://localhost:8080, but this server listens on port 8123: set publicUrl (or --public-url http://localhost:8123)',
    );
    expect(linksMissServer('http://localhost:8080', 'http://127.0.0.1:8080')).toBeNull();
    expect(linksMissServer('http://localhost', 'http://127.0.0.1:80')).toBeNull();
    // A public name or a proxy in front: different ports on purpose.
    expect(linksMissServer('https://track.tea.example', 'http://127.0.0.1:8080')).toBeNull();
    expect(linksMissServer('http://localhost:8080', 'http://0.0.0.0:9000')).toBeNull();
  });

  it('names a wrong port', async () => {
    await expect(
      buildProgram().parseAsync(['node', 'comeback', '--db', sqliteUrl(), 'serve', '--port', 'eighty', '--dev']),
    ).rejects.toThrow(/--port: expected a port number/);
  });
});
