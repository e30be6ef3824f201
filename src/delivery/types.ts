/** A fully rendered mail, ready for any transport. */
export interface OutgoingMail {
  messageId: number;
  from: string;
  to: string;
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  /** Extra headers (List-Unsubscribe, ...). Values are checked for CR/LF before sending. */
  headers: Record<string, string>;
  /** The Date header (the engine clock's time of sending). */
  date?: Date;
  /** The envelope sender (SMTP MAIL FROM), where bounces go; default the address of `from`. */
  returnPath?: string;
}

/** What the provider said when it accepted a mail. */
export interface SendReceipt {
  providerId: string;
}

/** Hooks a transport calls while sending. */
export interface SendHooks {
  /**
   * Called once, right before the point of no return: SMTP before the final `.` of DATA (envelope
   * and body already transferred), HTTP before the request is sent, the outbox before the file is
   * written. When it rejects, the transport abandons the mail and nothing is delivered. The sender
   * uses it to mark the message `sending` and to bound how many messages can be in doubt at once.
   */
  commit(): Promise<void>;
}

/**
 * Sends mail. Before `commit()` resolved, any error means the mail was not delivered. After it,
 * a transport throws TransientSendError / PermanentSendError only for a definite refusal by the
 * provider (an SMTP reply, an HTTP status), and DeliveryUnknownError when the outcome is unknown
 * (connection lost or timed out waiting for the reply): such a message is never resent blindly.
 */
export interface Transport {
  readonly name: string;
  /** The provider writes its own Message-ID header (SendGrid): Comeback's is not in the mail. */
  readonly providerMessageId?: boolean;
  send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt>;
  /** Checks that the provider can be reached and lets us in, without sending anything (`comeback check`). */
  verify?(): Promise<void>;
  close?(): Promise<void>;
}

/** Runs the commit hook if there is one (for transports whose point of no return is trivial). */
export async function commitPoint(hooks: SendHooks | undefined): Promise<void> {
  if (hooks) await hooks.commit();
}
