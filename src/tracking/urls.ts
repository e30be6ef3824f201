import type { TokenSigner } from './tokens.js';

/**
 * The link index reserved for the hidden honeypot link (`zzz` in base 36). A template may carry
 * `<a href="{{honeypot_url}}" style="display:none">` that no person sees; a click on it is a
 * scanner, and so are the clicks on the same message around it.
 */
export const HONEYPOT_INDEX = 46_655;

/** Builds the public URLs of the tracking server for one message. */
export class TrackingUrls {
  constructor(
    private readonly base: string,
    private readonly signer: TokenSigner,
  ) {
    this.base = base.replace(/\/+$/, '');
  }
  open(messageId: number): string {
    return `${this.base}/o/${this.signer.sign({ purpose: 'open', id: messageId })}.gif`;
  }
  click(messageId: number, index: number): string {
    return `${this.base}/c/${this.signer.sign({ purpose: 'click', id: messageId, index })}`;
  }
  unsubscribe(messageId: number): string {
    return `${this.base}/u/${this.signer.sign({ purpose: 'unsubscribe', id: messageId })}`;
  }
  /** The preference page of a message's recipient (snooze, frequency, topics, language, unsubscribe). */
  preferences(messageId: number): string {
    return `${this.base}/p/${this.signer.sign({ purpose: 'preferences', id: messageId })}`;
  }
  view(messageId: number): string {
    return `${this.base}/v/${this.signer.sign({ purpose: 'view', id: messageId })}`;
  }
  /** The hidden honeypot link of a message: a click link with the reserved index. */
  honeypot(messageId: number): string {
    return this.click(messageId, HONEYPOT_INDEX);
  }
  reason(messageId: number, reasonIndex: number): string {
    return `${this.base}/r/${this.signer.sign({ purpose: 'reason', id: messageId, index: reasonIndex })}`;
  }
}
