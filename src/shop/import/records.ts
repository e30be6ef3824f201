import { accessSync, constants, createReadStream, statSync } from 'node:fs';
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

function countingStream(file: string, onBytes: (n: number) => void) {
  let bytes = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      onBytes(bytes);
      cb(null, chunk);
    },
  });
  // pipe() does not forward errors: a read error must reach the reader, not crash the process.
  return createReadStream(file)
    .on('error', (err) => counting.destroy(err))
    .pipe(counting);
}

/**
 * Streams records from a CSV (with a header row) or JSON Lines file in constant memory.
 * Malformed lines are yielded as errors with their line number; reading goes on.
 * `onHeader` receives the CSV column names before the first record.
 */
export async function* readRecords(
  file: string,
  options: { onProgress?: (p: ReadProgress) => void; onHeader?: (columns: string[]) => void } = {},
): AsyncGenerator<SourceRecord> {
  const format = formatOf(file);
  const totalBytes = readableSize(file);
  const input = countingStream(file, (bytes) => options.onProgress?.({ bytes, totalBytes }));
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
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
    yield { line: info.lines, record };
  }
  while (skipped.length) yield skipped.shift()!;
}
