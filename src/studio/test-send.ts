/**
 * Test sends: the exact mail of a step (the production render pipeline, for a chosen or a sample
 * customer) through the configured transport, to an address of the config's `seedList` only,
 * never to the customer. Each one is written to `test_sends`, a ledger apart from `messages`, so
 * no metric, bandit, guard or webhook ever sees it; the mail's id is negative for the same reason
 * (a provider event that quotes it finds no message).
 */
import type { Engine } from '../engine/engine.js';
import { renderPreview, type PreviewOptions } from '../engine/preview.js';
import { ComebackError } from '../errors.js';
import type { OutgoingMail } from '../delivery/types.js';

/** What to send, and to whom. */
export interface TestSendRequest extends PreviewOptions {
  sequence: string;
  step: string;
  /** A seed address; the whole `seedList` when left out. */
  to?: string;
}

/** One test mail sent (or refused by the provider). */
export interface TestSendResult {
  id: number;
  to: string;
  subject: string;
  status: 'sent' | 'failed';
  providerId: string | null;
  error: string | null;
}

/** A test send asked for an address outside the seed list, or there is no seed list. */
export class SeedListError extends ComebackError {
  constructor(message: string) {
    super('E_SEED_LIST', message);
  }
}

/** The recipients of a test send: `to` when it is on the seed list, else the whole list. */
export function seedRecipients(seedList: readonly string[], to?: string): string[] {
  if (seedList.length === 0)
    throw new SeedListError(
      'no seedList in the config: list the addresses test mails may go to, e.g. "seedList": ["marketing@shop.example"]',
    );
  if (to === undefined) return [...seedList];
  const wanted = to.trim().toLowerCase();
  const found = seedList.find((a) => a.toLowerCase() === wanted);
  if (!found)
    throw new SeedListError(
      `${to} is not on the seedList of the config (${seedList.join(', ')}): test mails only go to those addresses`,
    );
  return [found];
}

/** Renders the step once and sends it to each recipient; every attempt is recorded in `test_sends`. */
export async function sendTest(engine: Engine, request: TestSendRequest): Promise<TestSendResult[]> {
  const ctx = engine.ctx;
  const recipients = seedRecipients(ctx.config.seedList, request.to);
  const preview = await renderPreview(engine, request.sequence, request.step, request);
  const customer = request.customer === undefined ? null : await engine.customers.get(request.customer);
  const out: TestSendResult[] = [];
  for (const to of recipients) {
    const now = ctx.clock.now();
    const row = await ctx.k
      .insertInto('test_sends')
      .values({
        sequence_id: request.sequence,
        step_id: request.step,
        variant_id: request.variant ?? null,
        customer_id: customer?.id ?? null,
        locale: preview.locale,
        to_address: to,
        subject: preview.subject,
        status: 'sending',
        provider_id: null,
        error: null,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    const mail: OutgoingMail = {
      messageId: -id,
      from: preview.from,
      to,
      replyTo: ctx.config.sender.replyTo,
      returnPath: ctx.config.sender.returnPath,
      subject: preview.subject,
      date: new Date(now),
      html: preview.html,
      text: preview.text,
      headers: { 'X-Comeback-Test': `${request.sequence}/${request.step}` },
    };
    let result: TestSendResult;
    try {
      const receipt = await ctx.transport.send(mail);
      result = { id, to, subject: preview.subject, status: 'sent', providerId: receipt.providerId, error: null };
    } catch (err) {
      result = { id, to, subject: preview.subject, status: 'failed', providerId: null, error: (err as Error).message };
    }
    await ctx.k
      .updateTable('test_sends')
      .set({ status: result.status, provider_id: result.providerId, error: result.error })
      .where('id', '=', id)
      .execute();
    out.push(result);
  }
  return out;
}
