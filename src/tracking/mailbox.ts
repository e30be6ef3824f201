import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ComebackError } from '../errors.js';

/** One mail read from a file, a Maildir folder or an mbox. */
export interface MailboxMessage {
  /** Where it came from: `FILE`, `FILE#3` for the third mail of an mbox, `stdin`. */
  source: string;
  raw: Buffer;
  /** The file that holds this mail alone (not an mbox, not stdin): it may be removed once read. */
  file?: string;
}

/**
 * The mails of an mbox file (`From ` lines separate them; `>From ` lines are unescaped), or the
 * data as one mail when it is not an mbox.
 */
export function splitMbox(source: string, data: Buffer): MailboxMessage[] {
  if (!isMbox(data)) return [{ source, raw: data }];
  const mails = data
    .toString('latin1')
    .split(/\r?\n(?=From )/)
    .map((chunk) => chunk.replace(/^From [^\n]*\n/, '').replace(/^>(>*From )/gm, '$1'))
    .filter((chunk) => chunk.trim() !== '');
  return mails.map((m, i) => ({
    source: mails.length > 1 ? `${source}#${i + 1}` : source,
    raw: Buffer.from(m, 'latin1'),
  }));
}

function readMailFile(file: string): MailboxMessage[] {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new ComebackError('E_INPUT', `${file}: cannot be read (${(err as Error).message})`);
  }
  // A file of one mail may be removed once it is read; an mbox holds others too.
  return isMbox(data) ? splitMbox(file, data) : [{ source: file, raw: data, file }];
}

/** An mbox starts with a `From ` line; a single mail starts with its headers. */
function isMbox(data: Buffer): boolean {
  return data.subarray(0, 5).toString('latin1') === 'From ';
}

/**
 * The files at `paths`, checked before anything is read: a file (one mail, or an mbox), or a
 * folder whose files are one mail each (a Maildir's `new/` and `cur/`), in name order.
 */
export function mailFiles(paths: string[]): string[] {
  return paths.flatMap((path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new ComebackError('E_INPUT', `${path}: no such file or folder`);
    }
    const files = stat.isDirectory()
      ? readdirSync(path)
          .sort()
          .map((name) => join(path, name))
          .filter((file) => statSync(file).isFile())
      : [path];
    for (const file of files) {
      try {
        accessSync(file, constants.R_OK);
      } catch {
        throw new ComebackError('E_INPUT', `${file}: not readable (permission denied)`);
      }
    }
    return files;
  });
}

/** The mails of the files, one file at a time (a Maildir of any size is never held in memory at once). */
export function* readMailFiles(files: string[]): Generator<MailboxMessage> {
  for (const file of files) yield* readMailFile(file);
}
