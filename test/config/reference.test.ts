/**
 * docs/CONFIG.md names every key of the engine configuration: the keys are read from the zod
 * schema itself (nested objects, the transport types, webhook endpoints), so a new key fails
 * here until it is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { EngineConfig } from '../../src/config/schema.js';
import { ROOT } from '../worker/fixture.js';

type Schema = z.core.$ZodType;

const WRAPPERS = ['default', 'optional', 'nullable', 'prefault'];

/** The schema under defaults, optionals and transforms. */
function unwrap(schema: Schema): Schema {
  for (;;) {
    const def = schema._zod.def as { type: string; innerType?: Schema; in?: Schema };
    if (def.type === 'pipe' && def.in) schema = def.in;
    else if (def.innerType && WRAPPERS.includes(def.type)) schema = def.innerType;
    else return schema;
  }
}

/** Every key path: `worker.batchSize`, `transport.pool` (any transport type), `webhooks[].url`. */
function keyPaths(schema: Schema, prefix = ''): string[] {
  type Def = { type: string; shape?: Record<string, Schema>; options?: Schema[]; element?: Schema };
  const def = unwrap(schema)._zod.def as Def;
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([k, v]) => {
      const path = prefix ? `${prefix}.${k}` : k;
      return [path, ...keyPaths(v, path)];
    });
  }
  if (def.type === 'union' && def.options) return [...new Set(def.options.flatMap((o) => keyPaths(o, prefix)))];
  if (def.type === 'array' && def.element) return keyPaths(def.element, `${prefix}[]`);
  return [];
}

describe('docs/CONFIG.md', () => {
  it('has a row for every key of the config schema', () => {
    const doc = readFileSync(join(ROOT, 'docs/CONFIG.md'), 'utf8');
    const paths = keyPaths(EngineConfig as unknown as Schema);
    expect(paths.length).toBeGreaterThan(80);
    // A key with keys of its own may be a section heading instead of a row.
    const isGroup = (p: string): boolean => paths.some((q) => q.startsWith(`${p}.`) || q.startsWith(`${p}[]`));
    const missing = paths.filter((p) => !doc.includes(isGroup(p) ? `\`${p}\`` : `| \`${p}\` |`));
    expect(missing).toEqual([]);
  });
});
