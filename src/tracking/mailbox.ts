import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ComebackError } from '../errors.js';

/** One mail read from a file, a Maildir folder or an mbox. */
export interface MailboxMessage {
  /** Where it came from: `FILE`, `FILE#3` for the third mail of an mbox, `stdin`. */
  source: string;
  raw: Buffer;
}

/**
 * The mails of an mbox file (`From ` lines separate them; `>From ` lines are unescaped), or the
 * file as one mail when it is not an mbox.
 */
export function splitMbox(source: string, data: Buffer): MailboxMessage[] {
  const text = data.toString('latin1');
  if (!text.startsWith('From ')) return [{ source, raw: data }];
  const mails = text
    .split(/\r?\n(?=From )/)
    .map((chunk) => chunk.replace(/^From [^\n]*\n/, '').replace(/^>(>*From )/gm, '$1'))
    .filter((chunk) => chunk.trim() !== '');
  return mails.map((m, i) => ({ source: mails.length > 1 ? `${source}#${i + 1}` : source, raw: Buffer.from(m, 'latin1') }));
}

/**
 * Reads the mails at `path`: a file (one mail, or an mbox), or a folder whose files are one mail
 * each (a Maildir's `new/` and `cur/`), in name order. A missing or unreadable path is an error.
 */
export function readMailbox(path: string): MailboxMessage[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new ComebackError('E_INPUT', `${path}: no such file or folder`);
  }
  if (stat.isDirectory()) {
    return readdirSync(path)
      .sort()
      .map((name) => join(path, name))
      .filter((file) => statSync(file).isFile())
      .map((file) => ({ source: file, raw: readFileSync(file) }));
  }
  try {
    return splitMbox(path, readFileSync(path));
  } catch (err) {
    throw new ComebackError('E_INPUT', `${path}: cannot be read (${(err as Error).message})`);
  }
}
