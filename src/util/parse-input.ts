import type { z } from 'zod';
import { InputError } from '../errors.js';

/** Parses library input with a zod schema; throws InputError naming each wrong field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new InputError(
    what,
    r.error.issues.map(
      (i) =>
        `${i.path.join('.') || '(value)'}: ${i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : i.message}`,
    ),
  );
}
