/**
 * A direct MIME writer for the one shape Comeback sends: multipart/alternative with a text and an
 * HTML part, both UTF-8 and quoted-printable. It writes the whole message into one Buffer in a
 * single pass per part, where a general stream-based composer pipes every part through several
 * transform streams (the cost that dominated sending in a profile; see docs/PERFORMANCE.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { assertHeaderSafe } from './headers.js';
import type { OutgoingMail } from './types.js';

const HEX = Buffer.from('0123456789ABCDEF');
/** Longest encoded line before a soft break (76 with the `=`), RFC 2045 §6.7. */
const QP_LINE = 75;

function atLineEnd(src: Uint8Array, j: number): boolean {
  return j >= src.length || src[j] === 0x0a || (src[j] === 0x0d && src[j + 1] === 0x0a);
}

/**
 * Quoted-printable (RFC 2045) of a UTF-8 string: printable ASCII stays as it is, line breaks
 * become CRLF, whitespace before a line break and every other byte is `=XX`, lines are at most
 * 76 characters (soft breaks `=` CRLF).
 */
export function encodeQuotedPrintable(input: string): Buffer {
  const src = Buffer.from(input, 'utf8');
  const out = Buffer.allocUnsafe(src.length * 3 + Math.ceil(src.length / 25) * 3 + 8);
  let o = 0;
  let line = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x0a || (b === 0x0d && src[i + 1] === 0x0a)) {
      if (b === 0x0d) i++;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      line = 0;
      continue;
    }
    const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !atLineEnd(src, i + 1));
    const width = literal ? 1 : 3;
    if (line + width > QP_LINE) {
      out[o++] = 0x3d;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      line = 0;
    }
    if (literal) {
      out[o++] = b;
    } else {
      out[o++] = 0x3d;
      out[o++] = HEX[b >> 4]!;
      out[o++] = HEX[b & 15]!;
    }
    line += width;
  }
  return out.subarray(0, o);
}

/** RFC 2047 encoded words (`=?UTF-8?B?...?=`) for a header text with non-ASCII characters. */
export function encodeHeaderText(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  const words: string[] = [];
  let chunk: string[] = [];
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > 45 && chunk.length) {
      words.push(chunk.join(''));
      chunk = [];
      bytes = 0;
    }
    chunk.push(ch);
    bytes += n;
  }
  if (chunk.length) words.push(chunk.join(''));
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}

/** `"Name" <addr>` or a bare address as a header value, the display name encoded when needed. */
export function encodeAddress(value: string): string {
  const m = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^<>\s]+)>\s*$/.exec(value);
  if (!m) return value.trim();
  const name = (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1').trim();
  const address = m[3]!;
  if (!name) return `<${address}>`;
  if (/^[\x20-\x7e]*$/.test(name)) return `"${name.replace(/(["\\])/g, '\\$1')}" <${address}>`;
  return `${encodeHeaderText(name)} <${address}>`;
}

/** The bare address of `"Name" <addr>` or of a bare address. */
export function addressOf(value: string): string {
  const m = /<([^<>\s]+)>\s*$/.exec(value);
  return (m ? m[1]! : value).trim();
}

/** Folds a header line longer than 78 characters at spaces (continuation lines start with a space). */
export function foldHeader(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length <= 78 || value.includes('\r\n')) return line;
  const parts = line.split(' ');
  const lines: string[] = [];
  let current = parts[0]!;
  for (const part of parts.slice(1)) {
    if (current.length + 1 + part.length > 78) {
      lines.push(current);
      current = ` ${part}`;
    } else current += ` ${part}`;
  }
  lines.push(current);
  return lines.join('\r\n');
}

/** RFC 5322 date, e.g. `Mon, 01 Jun 2026 10:00:00 +0000`. */
export function formatDate(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * The Message-ID of a message: stable across retries of the same message (receivers that
 * deduplicate by Message-ID then drop a repeat), unique across messages and installations.
 */
export function messageIdOf(mail: Pick<OutgoingMail, 'messageId' | 'from' | 'to'>): string {
  const domain = addressOf(mail.from).split('@')[1] ?? 'comeback.invalid';
  const tag = createHash('sha256').update(`${mail.messageId}|${mail.from}|${mail.to}`).digest('hex').slice(0, 16);
  return `<comeback.${mail.messageId}.${tag}@${domain}>`;
}

const PART_HEAD = (type: string) =>
  `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`;

/**
 * The complete RFC 5322 message (multipart/alternative: text, then HTML) as one Buffer with CRLF
 * line ends, ready to be signed and sent. Header values with CR or LF are refused.
 */
export function buildMime(mail: OutgoingMail, options: { boundary?: string } = {}): Buffer {
  for (const [k, v] of Object.entries({
    From: mail.from,
    To: mail.to,
    Subject: mail.subject,
    ...(mail.replyTo ? { 'Reply-To': mail.replyTo } : {}),
    ...mail.headers,
  })) {
    assertHeaderSafe(k, v);
  }
  const boundary = options.boundary ?? `=_cb_${randomBytes(9).toString('hex')}`;
  const head = [
    foldHeader('From', encodeAddress(mail.from)),
    foldHeader('To', encodeAddress(mail.to)),
    ...(mail.replyTo ? [foldHeader('Reply-To', encodeAddress(mail.replyTo))] : []),
    foldHeader('Subject', encodeHeaderText(mail.subject)),
    `Date: ${formatDate(mail.date ?? new Date())}`,
    `Message-ID: ${messageIdOf(mail)}`,
    'MIME-Version: 1.0',
    ...Object.entries(mail.headers).map(([k, v]) => foldHeader(k, /^[\x20-\x7e]*$/.test(v) ? v : encodeHeaderText(v))),
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ].join('\r\n');
  return Buffer.concat([
    Buffer.from(`${head}\r\n\r\n--${boundary}\r\n${PART_HEAD('text/plain')}`),
    encodeQuotedPrintable(mail.text),
    Buffer.from(`\r\n--${boundary}\r\n${PART_HEAD('text/html')}`),
    encodeQuotedPrintable(mail.html),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}
