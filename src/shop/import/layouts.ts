import { readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ComebackError } from '../../errors.js';
import { detectDelimiter, formatOf } from './records.js';

/** File layouts `comeback import` reads: its own columns, and Shopify's export files as they come. */
export const LAYOUTS = ['comeback', 'shopify-customers', 'shopify-orders'] as const;
export type Layout = (typeof LAYOUTS)[number];

/**
 * Columns that only Shopify's exports have (help.shopify.com: "Exporting orders" and
 * "Importing and exporting customers" list the columns).
 */
const SIGNATURES: Record<Exclude<Layout, 'comeback'>, string[]> = {
  'shopify-orders': ['Name', 'Email', 'Financial Status', 'Lineitem name'],
  'shopify-customers': ['Customer ID', 'First Name', 'Email', 'Accepts Email Marketing'],
};

/** The layout of a header line: a Shopify export when it has that export's own columns. */
export function layoutOfColumns(columns: string[]): Layout {
  const have = new Set(columns.map((c) => c.trim()));
  for (const [layout, needed] of Object.entries(SIGNATURES))
    if (needed.every((c) => have.has(c))) return layout as Layout;
  return 'comeback';
}

/** The layout of a file, from its header line (JSON Lines files are always Comeback's own). */
export function detectLayout(file: string): Layout {
  if (formatOf(file) === 'jsonl') return 'comeback';
  let head: string;
  try {
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    closeSync(fd);
    head =
      buf
        .subarray(0, n)
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .split(/\r?\n/, 1)[0] ?? '';
  } catch {
    readFileSync(file); // the same clear "no such file" error as the import gives
    throw new ComebackError('E_INPUT', `${file}: cannot read the header line`);
  }
  const columns = (parse(head, { delimiter: detectDelimiter(file), relax_quotes: true }) as string[][])[0] ?? [];
  return layoutOfColumns(columns);
}

/** Checks a `--format` value. */
export function parseLayout(text: string): Layout {
  if ((LAYOUTS as readonly string[]).includes(text)) return text as Layout;
  throw new ComebackError('E_INPUT', `unknown format "${text}": known layouts are ${LAYOUTS.join(', ')}`);
}
