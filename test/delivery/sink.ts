import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** A reply the sink gives instead of accepting, e.g. `{ code: 451, message: '4.3.0 try later' }`. */
export interface SinkReply {
  code: number;
  message: string;
}

/** What a test sink received. */
export interface ReceivedMail {
  messageId: number | null;
  /** The envelope sender (MAIL FROM). */
  from: string;
  to: string;
  raw: Buffer;
}

/** Options of the test sink. */
export interface SinkOptions {
  /** Decides a RCPT TO: a reply refuses the recipient. */
  onRcpt?: (address: string) => SinkReply | undefined;
  /**
   * Decides the end of DATA: a reply refuses the message (after the whole body was received);
   * `'hang'` never answers; a promise holds the answer until it settles (then accepts).
   */
  onData?: (mail: ReceivedMail) => SinkReply | 'hang' | Promise<void> | undefined;
  /** Answer the end of DATA this late (a slow server). */
  delayMs?: number;
  /** Keep the raw messages (default false: only ids and recipients). */
  keepRaw?: boolean;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that counts deliveries per Comeback message id. */
export class SmtpSink {
  readonly accepted: ReceivedMail[] = [];
  /** Deliveries per message id (more than 1 is a duplicate). */
  readonly counts = new Map<number, number>();
  private server: SMTPServer;
  port = 0;

  constructor(private readonly options: SinkOptions = {}) {
    this.server = this.create();
  }

  private create(): SMTPServer {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      size: 10 * 1024 * 1024,
      onRcptTo: (address, _session: SMTPServerSession, cb) => {
        const reply = this.options.onRcpt?.(address.address);
        if (reply) return cb(Object.assign(new Error(reply.message), { responseCode: reply.code }));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const head = raw.subarray(0, Math.min(raw.length, 8192)).toString('latin1');
          const id = /^X-Comeback-Message: (\d+)/im.exec(head)?.[1];
          const mail: ReceivedMail = {
            messageId: id ? Number(id) : null,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo[0]?.address ?? '',
            raw: this.options.keepRaw ? raw : Buffer.alloc(0),
          };
          const accept = () => {
            this.accepted.push(mail);
            if (mail.messageId !== null) this.counts.set(mail.messageId, (this.counts.get(mail.messageId) ?? 0) + 1);
            cb(null, 'OK queued');
          };
          const reply = this.options.onData?.(mail);
          if (reply === 'hang') return;
          if (reply instanceof Promise) return void reply.then(() => accept());
          if (reply) return cb(Object.assign(new Error(reply.message), { responseCode: reply.code }));
          if (this.options.delayMs) setTimeout(accept, this.options.delayMs);
          else accept();
        });
      },
    });
    // A client killed mid-session resets its connection; that is what the tests do on purpose.
    server.on('error', () => {});
    return server;
  }

  /** Starts listening (on `port`, or a free one the first time). */
  async start(port = this.port): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as { port: number }).port;
    return this.port;
  }

  /** The `smtp://` URL of the sink. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Forgets what was received (message ids restart in every fresh database). */
  reset(): void {
    this.accepted.length = 0;
    this.counts.clear();
  }

  /** Message ids delivered more than once. */
  duplicates(): number[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([id]) => id);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
