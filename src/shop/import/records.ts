import { accessSync, closeSync, constants, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { ComebackError } from '../../errors.js';

/** One record read from an import file, or the reason it could not be read. */
export type SourceRecord =
  | { line: number; record: Record<string, unknown> }
  | { line: number; error: string };

/** Progress of a running import, for a progress bar. */
export interface ReadProgress {
  bytes: number;
  totalBytes: number;
}

/** The file format, from the extension: `.csv` or `.jsonl` / `.ndjson`. */
export function formatOf(file: string): 'csv' | 'jsonl' {
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.csv$/i.test(file)) return 'csv';
  throw new ComebackError('E_INPUT', `cannot tell the format of "${file}": use a .csv or .jsonl file`);
}

/** The size of a readable regular file; a clear error for a missing, unreadable or non-file path. */
function readableSize(file: string): number {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new ComebackError('E_INPUT', `${file}: no such file`);
  }
  if (!stat.isFile()) throw new ComebackError('E_INPUT', `${file}: not a file (a folder or a device); name the .csv or .jsonl file to import`);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new ComebackError('E_INPUT', `${file}: not readable (permission denied)`);
  }
  return stat.size;
}

function countingStream(file: string, encoding: string, onBytes: (n: number) => void) {
  let bytes = 0;
  // Files in another encoding (Excel saves Windows-1252) are decoded to text here.
  const decoder = encoding === 'utf-8' ? undefined : new TextDecoder(encoding);
  const counting = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // A UTF-8 byte order mark says nothing in another encoding but would garble the first column.
      const body = decoder && bytes === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? chunk.subarray(3) : chunk;
      bytes += chunk.length;
      onBytes(bytes);
      cb(null, decoder ? Buffer.from(decoder.decode(body, { stream: true })) : chunk);
    },
    flush(cb) {
      const rest = decoder?.decode();
      cb(null, rest ? Buffer.from(rest) : undefined);
    },
  });
  // pipe() does not forward errors: a read error must reach the reader, not crash the process.
  return createReadStream(file)
    .on('error', (err) => counting.destroy(err))
    .pipe(counting);
}

/** The text encoding, checked: a name TextDecoder knows (utf-8, windows-1252, latin1, ...). */
function encodingOf(name: string | undefined): string {
  if (name === undefined) return 'utf-8';
  try {
    return new TextDecoder(name).encoding;
  } catch {
    throw new ComebackError('E_INPUT', `unknown encoding "${name}": use utf-8, or windows-1252 for files saved by Excel`);
  }
}

/**
 * The CSV field delimiter, from the header line: comma, semicolon (Excel in German and other
 * locales) or tab, whichever occurs most outside quotes; comma when none does.
 */
export function detectDelimiter(file: string): ',' | ';' | '\t' {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(64 * 1024);
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const line = head.subarray(0, n).toString('latin1').split(/\r?\n/, 1)[0] ?? '';
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch as keyof typeof counts]++;
  }
  return (Object.keys(counts) as (keyof typeof counts)[]).reduce((best, d) => (counts[d] > counts[best] ? d : best), ',');
}

/** Text decoded from bytes that are not UTF-8 holds U+FFFD: such a row would store garbled names. */
const NOT_UTF8 = 'not valid UTF-8 (a file saved by Excel is usually Windows-1252: import it with --encoding windows-1252, or save it as CSV UTF-8)';
const garbled = (record: Record<string, unknown>) => Object.values(record).some((v) => typeof v === 'string' && v.includes('\uFFFD'));

/**
 * Streams records from a CSV (with a header row) or JSON Lines file in constant memory.
 * Malformed lines, and lines that are not valid text in the file's encoding, are yielded as
 * errors with their line number; reading goes on. CSV files may use `,`, `;` or tab.
 * `onHeader` receives the CSV column names before the first record.
 */
export async function* readRecords(
  file: string,
  options: { encoding?: string; onProgress?: (p: ReadProgress) => void; onHeader?: (columns: string[]) => void } = {},
): AsyncGenerator<SourceRecord> {
  const format = formatOf(file);
  const encoding = encodingOf(options.encoding);
  const totalBytes = readableSize(file);
  const input = countingStream(file, encoding, (bytes) => options.onProgress?.({ bytes, totalBytes }));
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      if (text.includes('\uFFFD')) {
        yield { line, error: NOT_UTF8 };
        continue;
      }
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          yield { line, error: 'expected a JSON object on this line' };
        } else yield { line, record: value as Record<string, unknown> };
      } catch (err) {
        yield { line, error: `invalid JSON: ${(err as Error).message}` };
      }
    }
    return;
  }
  const skipped: SourceRecord[] = [];
  const parser = parse({
    columns: (header: string[]) => {
      const columns = header.map((h) => h.trim());
      options.onHeader?.(columns);
      return columns;
    },
    bom: true,
    delimiter: detectDelimiter(file),
    trim: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
  });
  parser.on('skip', (err: Error & { lines?: number }) => {
    skipped.push({ line: err.lines ?? 0, error: err.message.replace(/^Invalid Record Length: /, '') });
  });
  input.pipe(parser);
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (skipped.length) yield skipped.shift()!;
    yield garbled(record) ? { line: info.lines, error: NOT_UTF8 } : { line: info.lines, record };
  }
  while (skipped.length) yield skipped.shift()!;
}
