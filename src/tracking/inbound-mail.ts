/**
 * Reads the mail that comes back: delivery status notifications (RFC 3464, the bounces an SMTP
 * relay returns after it accepted a mail) and abuse feedback reports (RFC 5965, ARF, the
 * complaints of a mailbox provider's feedback loop), which name the original mail by the headers
 * they return (Message-ID), and unsubscribe requests to the `mailto:` address of the
 * List-Unsubscribe header, which name it in their subject.
 */
import { finished } from 'node:stream/promises';
import { Splitter } from '@zone-eu/mailsplit';
import libmime from 'libmime';

/** One MIME part of a message, its body decoded. */
interface Part {
  contentType: string;
  headers: Map<string, string>;
  body: Buffer;
  /** The root of a message embedded in the part before (message/rfc822). */
  embedded: boolean;
}

/** What a mail that came back says about one original mail. */
export type InboundMail =
  | {
      kind: 'bounce';
      status: string;
      recipient: string | null;
      diagnostic: string | null;
      originalMessageId: string | null;
      reportId: string | null;
    }
  | {
      kind: 'complaint';
      feedbackType: string;
      recipient: string | null;
      originalMessageId: string | null;
      reportId: string | null;
    }
  | { kind: 'unsubscribe'; from: string; subject: string; id: string | null }
  | { kind: 'none'; reason: string };

/** A subject that asks to unsubscribe: `unsubscribe-<message id>` (the mailto link) or a signed token. */
const UNSUBSCRIBE_SUBJECT = /\bunsubscribe-\d{1,15}\b|\bu[0-9a-z]{1,11}\.[A-Za-z0-9_-]{22}\b/i;

/** `Name: value` fields with folded continuation lines, names lower-cased; the first of a name wins. */
export function parseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      fields.set(last, `${fields.get(last)} ${line.trim()}`);
      continue;
    }
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    last = m[1]!.toLowerCase();
    if (fields.has(last)) last = undefined;
    else fields.set(last, m[2]!.trim());
  }
  return fields;
}

/** Blocks of fields separated by blank lines (a delivery-status body: per message, then per recipient). */
function fieldBlocks(text: string): Map<string, string>[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((block) => parseFields(block))
    .filter((f) => f.size > 0);
}

async function decode(node: { getDecoder(): NodeJS.ReadWriteStream }, raw: Buffer): Promise<Buffer> {
  const decoder = node.getDecoder();
  const out: Buffer[] = [];
  decoder.on('data', (c: Buffer) => out.push(c));
  await new Promise<void>((resolve, reject) => {
    decoder.on('end', resolve);
    decoder.on('error', reject);
    decoder.end(raw);
  });
  return Buffer.concat(out);
}

/** Splits a message into its MIME parts (mailsplit), bodies decoded. */
async function mimeParts(raw: Buffer): Promise<Part[]> {
  const splitter = new Splitter();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mailsplit ships no types
  const nodes: { node: any; chunks: Buffer[]; embedded: boolean }[] = [];
  let previousWasContainer = false;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mailsplit ships no types
  splitter.on('data', (d: any) => {
    if (d.type === 'node') {
      nodes.push({ node: d, chunks: [], embedded: previousWasContainer });
      previousWasContainer = d.contentType === 'message/rfc822';
    } else if (d.type === 'body') nodes.at(-1)?.chunks.push(d.value);
  });
  splitter.end(raw);
  await finished(splitter);
  const parts: Part[] = [];
  for (const { node, chunks, embedded } of nodes) {
    const headers = parseFields(node.getHeaders().toString('utf8'));
    parts.push({
      contentType: String(node.contentType ?? 'text/plain').toLowerCase(),
      headers,
      body: await decode(node, Buffer.concat(chunks)),
      embedded,
    });
  }
  return parts;
}

/** The original mail's Message-ID: from returned headers (text/rfc822-headers) or an embedded message. */
function originalMessageId(parts: Part[]): string | null {
  for (const p of parts) {
    const returned = p.contentType === 'text/rfc822-headers' || p.contentType === 'message/global-headers';
    const id = returned
      ? parseFields(p.body.toString('utf8')).get('message-id')
      : p.embedded
        ? p.headers.get('message-id')
        : undefined;
    if (id) return id.trim();
  }
  return null;
}

/** `rfc822; anna@example.com` → `anna@example.com`. */
const address = (v: string | undefined): string | null =>
  v
    ? v
        .replace(/^[^;]*;\s*/, '')
        .replace(/^<|>$/g, '')
        .trim() || null
    : null;

/**
 * What a mail that came back says: a bounce (the failed recipient's status), a complaint, a
 * request to unsubscribe, or nothing Comeback acts on (a delay notice, an out-of-office reply,
 * any other mail).
 */
export async function parseInboundMail(raw: Buffer): Promise<InboundMail> {
  let parts: Part[];
  try {
    parts = await mimeParts(raw);
  } catch (err) {
    return { kind: 'none', reason: `not a readable message (${(err as Error).message})` };
  }
  const root = parts[0];
  if (!root) return { kind: 'none', reason: 'empty message' };
  const reportId = root.headers.get('message-id')?.trim() ?? null;
  const status = parts.find(
    (p) => p.contentType === 'message/delivery-status' || p.contentType === 'message/global-delivery-status',
  );
  if (status) {
    const recipients = fieldBlocks(status.body.toString('utf8')).filter(
      (f) => f.has('final-recipient') || f.has('action'),
    );
    const failed = recipients.find((f) => f.get('action')?.toLowerCase() === 'failed');
    if (!failed)
      return {
        kind: 'none',
        reason: `delivery report without a failure (action ${recipients[0]?.get('action') ?? 'none'})`,
      };
    return {
      kind: 'bounce',
      status: /\d\.\d{1,3}\.\d{1,3}/.exec(failed.get('status') ?? '')?.[0] ?? '5.0.0',
      recipient: address(failed.get('final-recipient') ?? failed.get('original-recipient')),
      diagnostic: failed.get('diagnostic-code')?.replace(/^[^;]*;\s*/, '') ?? null,
      originalMessageId: originalMessageId(parts),
      reportId,
    };
  }
  const feedback = parts.find((p) => p.contentType === 'message/feedback-report');
  if (feedback) {
    const f = parseFields(feedback.body.toString('utf8'));
    return {
      kind: 'complaint',
      feedbackType: f.get('feedback-type')?.toLowerCase() ?? 'abuse',
      recipient: address(f.get('original-rcpt-to')),
      originalMessageId: originalMessageId(parts),
      reportId,
    };
  }
  const subject = libmime.decodeWords(root.headers.get('subject') ?? '');
  const from = libmime.decodeWords(root.headers.get('from') ?? '');
  if (UNSUBSCRIBE_SUBJECT.test(subject) && from) return { kind: 'unsubscribe', from, subject, id: reportId };
  return { kind: 'none', reason: 'neither a delivery report, a feedback report nor an unsubscribe request' };
}
