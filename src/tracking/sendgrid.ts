import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** The headers SendGrid's signed Event Webhook sends. */
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/**
 * Parses the webhook verification key as SendGrid shows it (base64 of the DER public key) or as
 * PEM. Throws on anything else, so a wrong key fails at start, not at the first event.
 */
export function sendgridPublicKey(key: string): KeyObject {
  const trimmed = key.trim();
  if (trimmed.startsWith('-----BEGIN')) return createPublicKey(trimmed);
  return createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
}

/**
 * Verifies a signed Event Webhook request: an ECDSA (P-256, SHA-256) signature, base64 DER, over
 * the timestamp header followed by the raw request body. False for anything missing or wrong.
 */
export function verifySendgridSignature(
  key: KeyObject,
  rawBody: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
): boolean {
  if (!signature || !timestamp) return false;
  try {
    const sig = Buffer.from(signature, 'base64');
    if (sig.length < 8) return false;
    return verify('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), key, sig);
  } catch {
    return false;
  }
}

/** One event of a SendGrid Event Webhook POST (the fields Comeback reads). */
export interface SendgridEvent {
  event?: string;
  sg_event_id?: string;
  sg_message_id?: string;
  timestamp?: number;
  /** Our custom argument, flattened into the event by SendGrid. */
  comeback_message_id?: string | number;
  custom_args?: { comeback_message_id?: string | number };
  useragent?: string;
  ip?: string;
  url?: string;
  reason?: string;
  type?: string;
  status?: string;
  sg_machine_open?: boolean;
  bounce_classification?: string;
}

/** What an event becomes in Comeback's terms. */
export interface MappedSendgridEvent {
  messageId: number;
  type: 'delivered' | 'bounce' | 'soft_bounce' | 'dropped' | 'complaint' | 'unsubscribe' | 'open' | 'click';
  providerEventId: string;
  at: number | undefined;
  /** The provider itself says the open was a machine (Apple MPP). */
  providerMachine: boolean;
  detail: Record<string, unknown>;
}

/** Why an event was not mapped. */
export type SkippedSendgridEvent = { skip: 'no_event_id' | 'no_message_id' | 'not_tracked' };

const DROPPED_AS: [RegExp, MappedSendgridEvent['type']][] = [
  [/bounced address|invalid/i, 'bounce'],
  [/spam reporting address/i, 'complaint'],
  [/unsubscribed address/i, 'unsubscribe'],
];

/**
 * Maps a SendGrid event to ours: delivered; bounce (a `blocked` bounce is soft: stored, not
 * suppressed); dropped (for a known bad, complaining or unsubscribed address it counts as that);
 * spamreport → complaint; unsubscribe and group_unsubscribe → unsubscribe from all marketing;
 * open; click. Others (processed, deferred, group_resubscribe) are not tracked.
 */
export function mapSendgridEvent(e: SendgridEvent): MappedSendgridEvent | SkippedSendgridEvent {
  if (!e.sg_event_id || typeof e.sg_event_id !== 'string') return { skip: 'no_event_id' };
  const rawId = e.comeback_message_id ?? e.custom_args?.comeback_message_id;
  const messageId =
    typeof rawId === 'number' ? rawId : typeof rawId === 'string' && /^\d{1,15}$/.test(rawId) ? Number(rawId) : NaN;
  if (!Number.isSafeInteger(messageId) || messageId <= 0) return { skip: 'no_message_id' };
  const base = {
    messageId,
    providerEventId: `sendgrid:${e.sg_event_id}`,
    at: typeof e.timestamp === 'number' && Number.isFinite(e.timestamp) ? Math.round(e.timestamp * 1000) : undefined,
    providerMachine: false,
  };
  const detail: Record<string, unknown> = { provider: 'sendgrid', event: e.event };
  if (e.reason) detail.reason = String(e.reason).slice(0, 500);
  if (e.status) detail.status = e.status;
  switch (e.event) {
    case 'delivered':
      return { ...base, type: 'delivered', detail };
    case 'bounce':
      if (e.type) detail.bounce_type = e.type;
      return { ...base, type: e.type === 'blocked' ? 'soft_bounce' : 'bounce', detail };
    case 'dropped': {
      const as = DROPPED_AS.find(([re]) => re.test(e.reason ?? ''))?.[1] ?? 'dropped';
      return { ...base, type: as, detail };
    }
    case 'spamreport':
      return { ...base, type: 'complaint', detail };
    case 'unsubscribe':
    case 'group_unsubscribe':
      return { ...base, type: 'unsubscribe', detail: { ...detail, scope: 'all' } };
    case 'open':
      return { ...base, type: 'open', providerMachine: e.sg_machine_open === true, detail };
    case 'click':
      if (typeof e.url === 'string') detail.url = e.url.slice(0, 2000);
      return { ...base, type: 'click', detail };
    default:
      return { skip: 'not_tracked' };
  }
}
