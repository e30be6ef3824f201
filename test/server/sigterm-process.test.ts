import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/index.js';
import { sqliteUrl } from '../helpers/backends.js';
import { waitFor } from '../worker/fixture.js';
import { SECRET, seedMessage, startServer, UA } from './helpers.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/comeback.js');

describe('comeback serve as a process', () => {
  it('writes every click it answered when a real SIGTERM arrives during load', async () => {
    // Seed sent messages, then serve the same database from the built CLI.
    const database = sqliteUrl();
    const seeding = await startServer({ database });
    const paths: string[] = [];
    for (let i = 0; i < 30; i++) {
      const { messageId } = await seedMessage(seeding);
      for (const index of [0, 1])
        paths.push(`/c/${seeding.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index })}`);
    }
    await seeding.close();

    const child = spawn(process.execPath, [BIN, '--db', database, 'serve', '--port', '0'], {
      env: { ...process.env, COMEBACK_SECRET: SECRET },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`comeback serve exited before listening: ${stderr}`)));
    });

    let n = 0;
    // Stopped below once the server has exited; the signal comes after 150 answered clicks, however busy the machine.
    const load = autocannon({
      url,
      connections: 16,
      duration: 120,
      headers: { 'user-agent': UA.chromeMac },
      requests: [{ setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length]! }) }],
    });
    let redirects = 0;
    load.on('response', (_client, status) => void (status === 307 && redirects++));
    await waitFor(() => redirects >= 150, 60_000, '150 answered clicks');
    child.kill('SIGTERM');
    const code = await exited;
    load.stop();
    const result = await load;

    const accepted = result.statusCodeStats['307']?.count ?? 0;
    const db = await openDatabase(database);
    const stored = await db.kysely
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('type', '=', 'click')
      .executeTakeFirstOrThrow();
    await db.close();
    expect(code).toBe(0);
    expect(stderr).toContain('all accepted events written');
    expect(accepted).toBeGreaterThan(100);
    // Every 307 the client got is stored; a request in flight when the client stopped may be stored unanswered.
    expect(Number(stored.n)).toBeGreaterThanOrEqual(accepted);
    expect(Number(stored.n)).toBeLessThanOrEqual(accepted + 16);
  }, 30_000);
});
