/**
 * Bound parameters one statement may carry on both dialects: SQLite's default limit is 32,766,
 * PostgreSQL's 65,535. Multi-row inserts stay below it however many rows a caller passes.
 */
export const MAX_PARAMETERS = 30_000;

/** Splits `rows` into slices small enough for one multi-row statement of `columnsPerRow` columns each. */
export function* statementChunks<T>(rows: readonly T[], columnsPerRow: number): Generator<T[]> {
  const size = Math.max(1, Math.floor(MAX_PARAMETERS / Math.max(1, columnsPerRow)));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
