import { accessSync, closeSync, constants, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline, Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { ComebackError, ImportRowError } from '../../errors.js';
import { BYTES, COUNT, formatBytes } from '../../util/limits.js';

/** One record read from an import file, or the reason it could not be read. */
export type SourceRecord = { line: number; record: Record<string, unknown> } | { line: number; error: string };

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
  if (!stat.isFile())
    throw new ComebackError(
      'E_INPUT',
      `${file}: not a file (a folder or a device); name the .csv or .jsonl file to import`,
    );
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
      const body =
        decoder && bytes === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf
          ? chunk.subarray(3)
          : chunk;
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
    throw new ComebackError(
      'E_INPUT',
      `unknown encoding "${name}": use utf-8, or windows-1252 for files saved by Excel`,
    );
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
  return (Object.keys(counts) as (keyof typeof counts)[]).reduce(
    (best, d) => (counts[d] > counts[best] ? d : best),
    ',',
  );
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;

/**
 * Passes whole records on and drops a record longer than `maxBytes` while it streams past, so an
 * overlong line costs no more memory than the limit. A record is a line, or with `quotes` a CSV
 * record whose quoted fields may hold line breaks. A dropped record is replaced by its line breaks
 * alone, so the lines after it keep their numbers; `onTooLong` gets the line it started on.
 */
export function boundRecords(maxBytes: number, quotes: boolean, onTooLong: (line: number) => void): Transform {
  let tail: Buffer[] = [];
  let tailBytes = 0;
  let quoted = false;
  let dropping = false;
  /** The line the current record starts on, and the line breaks inside it so far. */
  let line = 1;
  let breaks = 0;
  const drop = () => {
    dropping = true;
    tail = [];
    tailBytes = 0;
    onTooLong(line);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const out: Buffer[] = [];
      let start = 0;
      let i: number;
      let nextQuote = quotes ? chunk.indexOf(QUOTE) : -1;
      let nextBreak = chunk.indexOf(NEWLINE);
      while (nextBreak !== -1) {
        if (nextQuote !== -1 && nextQuote < nextBreak) {
          quoted = !quoted;
          i = nextQuote + 1;
          nextQuote = chunk.indexOf(QUOTE, i);
          continue;
        }
        i = nextBreak + 1;
        nextBreak = chunk.indexOf(NEWLINE, i);
        if (quoted) {
          breaks++;
          continue;
        }
        if (!dropping && tailBytes + i - start > maxBytes) drop();
        out.push(...(dropping ? [Buffer.alloc(breaks + 1, NEWLINE)] : [...tail, chunk.subarray(start, i)]));
        dropping = false;
        tail = [];
        tailBytes = 0;
        start = i;
        line += breaks + 1;
        breaks = 0;
      }
      // Quotes after the last line break still count for the record that goes on.
      for (; quotes && nextQuote !== -1; nextQuote = chunk.indexOf(QUOTE, nextQuote + 1)) quoted = !quoted;
      if (!dropping && tailBytes + chunk.length - start > maxBytes) drop();
      if (!dropping && start < chunk.length) {
        tail.push(chunk.subarray(start));
        tailBytes += chunk.length - start;
      }
      cb(null, out.length ? Buffer.concat(out) : undefined);
    },
    flush(cb) {
      cb(null, dropping ? Buffer.alloc(breaks, NEWLINE) : tail.length ? Buffer.concat(tail) : undefined);
    },
  });
}

/** The longest line an import takes, for messages. */
const LINE_TOO_LONG = `longer than ${formatBytes(BYTES.importLine)}: skipped without reading it (a field this long is not a customer, order or product; is it the right file?)`;

/** Text decoded from bytes that are not UTF-8 holds U+FFFD: such a row would store garbled names. */
const NOT_UTF8 =
  'not valid UTF-8 (a file saved by Excel is usually Windows-1252: import it with --encoding windows-1252, or save it as CSV UTF-8)';
const garbled = (record: Record<string, unknown>) =>
  Object.values(record).some((v) => typeof v === 'string' && v.includes('\uFFFD'));

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
  // Lines that could not be read, kept in line order and yielded before the first record after them.
  const skipped: SourceRecord[] = [];
  const skip = (s: SourceRecord) => {
    let at = skipped.length;
    while (at > 0 && skipped[at - 1]!.line > s.line) at--;
    skipped.splice(at, 0, s);
  };
  function* skippedBefore(line: number): Generator<SourceRecord> {
    while (skipped.length && skipped[0]!.line < line) yield skipped.shift()!;
  }
  const bounded = boundRecords(BYTES.importLine, format === 'csv', (line) => {
    if (format === 'csv' && line === 1) bounded.destroy(new ImportRowError(1, `the header line is ${LINE_TOO_LONG}`));
    else skip({ line, error: `line ${LINE_TOO_LONG}` });
  });
  if (format === 'jsonl') {
    pipeline(input, bounded, () => undefined);
    let line = 0;
    for await (const text of createInterface({ input: bounded, crlfDelay: Infinity })) {
      line++;
      yield* skippedBefore(line + 1);
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
    yield* skippedBefore(Infinity);
    return;
  }
  const parser = parse({
    columns: (header: string[]) => {
      // Checked before the names are looked at: a million columns are refused without listing them.
      if (header.length > COUNT.columns)
        throw new ImportRowError(
          1,
          `the header has ${header.length.toLocaleString('en')} columns, more than the limit of ${COUNT.columns}: is it the right file?`,
        );
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
    skip({ line: err.lines ?? 0, error: err.message.replace(/^Invalid Record Length: /, '') });
  });
  // pipeline() destroys every stream when one fails: a refused header stops the file being read.
  pipeline(input, bounded, parser, () => undefined);
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    yield* skippedBefore(info.lines);
    yield garbled(record) ? { line: info.lines, error: NOT_UTF8 } : { line: info.lines, record };
  }
  yield* skippedBefore(Infinity);
}
