import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Stands in for a named parameter while the query is compiled once. */
const MARK = '\u0000cb-param:';

type Slot = { name: string } | { value: unknown };

/** A query compiled once per database and run with new parameter values. */
export interface PreparedQuery<P extends string, R> {
  /** Runs the query on `k` (a Kysely instance or a transaction) with these parameter values. */
  run(k: Kysely<Database>, values: Record<P, unknown>): Promise<QueryResult<R>>;
  /** The query as compiled for `k`'s dialect with these values, not run. */
  compile(k: Kysely<Database>, values: Record<P, unknown>): CompiledQuery<R>;
}

/**
 * Kysely builds and compiles a query anew on every call: 10–50 µs for a small update, more than
 * SQLite needs to run it, and the send path runs several per message. `prepared` compiles a
 * query once per database (keyed by the dialect adapter, which transactions share) with a marker
 * in place of each named parameter, then only fills in the values. Parameters must be plain
 * values (`=`, `set`, `values`), not lists whose length varies (`in`).
 */
export function prepared<P extends string, R>(
  names: readonly P[],
  build: (k: Kysely<Database>, p: Record<P, never>) => Compilable<R>,
): PreparedQuery<P, R> {
  const cache = new WeakMap<object, { template: CompiledQuery<R>; slots: Slot[] }>();
  const markers = Object.fromEntries(names.map((n) => [n, `${MARK}${n}`])) as unknown as Record<P, never>;
  const compile = (k: Kysely<Database>) => {
    const template = build(k, markers).compile();
    const slots = template.parameters.map((v): Slot =>
      typeof v === 'string' && v.startsWith(MARK) ? { name: v.slice(MARK.length) } : { value: v },
    );
    const used = new Set(slots.flatMap((s) => ('name' in s ? [s.name] : [])));
    const missing = names.filter((n) => !used.has(n));
    if (missing.length || template.sql.includes(MARK))
      throw new Error(
        `prepared query: parameters ${missing.join(', ') || '(inlined)'} are not bound parameters in: ${template.sql}`,
      );
    return { template, slots };
  };
  const withValues = (k: Kysely<Database>, values: Record<P, unknown>): CompiledQuery<R> => {
    const key = k.getExecutor().adapter;
    let entry = cache.get(key);
    if (!entry) cache.set(key, (entry = compile(k)));
    const parameters = entry.slots.map((s) => ('name' in s ? values[s.name as P] : s.value));
    return { ...entry.template, parameters };
  };
  return {
    compile: withValues,
    run: async (k, values) => k.executeQuery<R>(withValues(k, values)),
  };
}
