import { PermanentSendError, TransientSendError } from '../errors.js';

/**
 * Maps an SMTP failure to what Comeback does about it:
 * 5.1.x (unknown mailbox) → hard bounce, the address is suppressed;
 * 5.7.x (policy, spam block) → the sender is paused, the customer is not blamed;
 * other 5xx → permanent failure of this message; 4xx, timeouts and connection errors within a
 * session → retry. A session that cannot be opened at all is the transport's concern
 * (ProviderUnreachableError: the sender pauses).
 */
export function classifySmtpError(err: unknown): TransientSendError | PermanentSendError {
  const e = err as { responseCode?: number; response?: string; message?: string; code?: string };
  const response = e.response ?? e.message ?? String(err);
  const code = e.responseCode;
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(response);
  if (code !== undefined && code >= 500) {
    if (enhanced?.[1] === '5' && enhanced[2] === '7') return new PermanentSendError(response, 'policy', { cause: err });
    if (enhanced?.[1] === '5' && enhanced[2] === '1')
      return new PermanentSendError(response, 'hard_bounce', { cause: err });
    if (code === 550 || code === 551 || code === 553)
      return new PermanentSendError(response, 'hard_bounce', { cause: err });
    return new PermanentSendError(response, 'other', { cause: err });
  }
  return new TransientSendError(response, { cause: err });
}
