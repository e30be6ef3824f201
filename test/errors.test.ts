import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, createEngine, NotFoundError, parseConfig } from '../src/index.js';
import { MemoryTransport } from '../src/testing.js';
import { loadCliConfig } from '../src/cli/config-file.js';
import { sqliteUrl } from './helpers/backends.js';

describe('clear errors for bad input', () => {
  it('names a mistyped config field and suggests the right one', () => {
    expect(() => parseConfig({ databse: 'x.db' } as never)).toThrow(ConfigError);
    expect(() => parseConfig({ databse: 'x.db' } as never)).toThrow(
      /config\.databse: unknown field \(did you mean "database"\?\)/,
    );
    expect(() => parseConfig({ worker: { batchSze: 10 } } as never)).toThrow(
      /config\.worker\.batchSze: unknown field \(did you mean "batchSize"\?\)/,
    );
    expect(() => parseConfig({ publicUrl: 'not a url' })).toThrow(/config\.publicUrl/);
  });

  it('names the file, line and column of each problem in a YAML or JSON config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-config-'));
    const yaml = join(dir, 'comeback.config.yaml');
    writeFileSync(
      yaml,
      'database: shop.db\nwroker:\n  concurrency: 4\ntransport:\n  type: smtp\n  url: smtp://mail.example.com\n  pool: -1\n',
    );
    expect(() => loadCliConfig(yaml)).toThrow(ConfigError);
    const lines = (() => {
      try {
        loadCliConfig(yaml);
        return [];
      } catch (err) {
        return (err as Error).message.split('\n').slice(1).sort();
      }
    })();
    expect(lines).toEqual([
      `${yaml}:2:1 config.wroker: unknown field (did you mean "worker"?)`,
      `${yaml}:7:3 config.transport.pool: Too small: expected number to be >0`,
    ]);
    const json = join(dir, 'comeback.config.json');
    writeFileSync(json, '{\n  "database": "shop.db",\n  "worker": { "concurrency": "x", "batchSze": 3 }\n}\n');
    expect(() => loadCliConfig(json)).toThrow(
      `${json}:3:15 config.worker.concurrency: Invalid input: expected number, received string\n${json}:3:35 config.worker.batchSze: unknown field (did you mean "batchSize"?)`,
    );
    writeFileSync(json, '{ "database": "shop.db", "worker": { "concurrency": 4 } }');
    expect(loadCliConfig(json)).toMatchObject({ database: 'shop.db', worker: { concurrency: 4 } });
  });

  it('a trigger for an unknown sequence names it and the closest known one; nothing is stored', async () => {
    const engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: join(import.meta.dirname, '..', 'sequences') },
      { transport: new MemoryTransport() },
    );
    try {
      await engine.customers.upsert({ externalId: 'c1', email: 'a@example.com' });
      const attempt = engine.trigger('winback-lapsd', 'c1');
      await expect(attempt).rejects.toThrow(NotFoundError);
      await expect(engine.trigger('winback-lapsd', 'c1')).rejects.toThrow(
        /sequence "winback-lapsd" not found\. Did you mean "winback-lapsed"\?/,
      );
      await expect(engine.trigger('winback-lapsed', 'nobody')).rejects.toThrow(/customer "nobody" not found/);
      const n = await engine.ctx.k
        .selectFrom('enrollments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(0);
      expect((await engine.customers.get('c1'))?.email).toBe('a@example.com');
    } finally {
      await engine.close();
    }
  });

  it('library input is validated with the field named', async () => {
    const engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: '/nonexistent' },
      { transport: new MemoryTransport() },
    );
    try {
      await expect(engine.customers.upsert({ externalId: 'c1', email: 'nope' })).rejects.toThrow(
        /invalid customer c1: email/,
      );
      await expect(
        engine.orders.record({ externalId: 'o1', customerExternalId: 'c1', orderedAt: 'soon', totalMinor: 1 }),
      ).rejects.toThrow(/invalid order o1: orderedAt/);
      // No sequence was loaded: the error says from where, which is usually the mistake.
      await expect(engine.trigger('winback-lapsed', 'c1')).rejects.toThrow(
        'Known sequences: none: nothing was loaded from /nonexistent (run the command in the project folder, or set sequencesDir)',
      );
    } finally {
      await engine.close();
    }
  });
});
