import { Readable } from 'node:stream';
import SMTPConnection, {
  type SMTPConnectionOptions,
  type SMTPConnectionSendInfo,
} from 'nodemailer/lib/smtp-connection';

/** Where and how to connect; a subset of nodemailer's SMTPConnection options plus the pool size. */
export interface SmtpPoolOptions extends SMTPConnectionOptions {
  /** Connections kept open (default 5). */
  size?: number;
  /** Login, when the server wants one. */
  auth?: { user: string; pass: string };
  /** Reconnect after this many messages on one connection (default: never). */
  maxMessagesPerConnection?: number;
}

/** An SMTP failure with what the pool knows about the point of no return. */
export interface SmtpFailure extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
  /** True when the final `.` may have reached the server: the outcome is unknown unless it replied. */
  afterCommit?: boolean;
  /** `connect`: no session could be opened (refused, DNS, greeting or login): nothing was handed over. */
  stage?: 'connect';
}

interface Pooled {
  conn: SMTPConnection;
  messages: number;
  broken: boolean;
}

/**
 * A pool of persistent nodemailer SMTPConnections that sends pre-built messages and holds back the
 * final `.` of DATA until the caller's commit hook resolved. Everything before it (connection,
 * envelope, the whole body) overlaps freely across connections; only the last round trip is
 * inside the commit. Unlike nodemailer's own pool it never re-sends a message on another
 * connection after a connection loss (that can duplicate a mail the server already accepted) and
 * does not pause 100 ms when it replaces a connection.
 */
export class SmtpPool {
  private readonly idle: Pooled[] = [];
  private readonly waiters: ((c: Pooled | Error) => void)[] = [];
  private open = 0;
  private closed = false;
  private readonly size: number;

  constructor(private readonly options: SmtpPoolOptions) {
    this.size = options.size ?? 5;
  }

  /** Sends one message; `commit` runs before the final `.` and can still abandon the mail. */
  async send(
    envelope: { from: string; to: string[] },
    raw: Buffer,
    commit: () => Promise<void>,
  ): Promise<SMTPConnectionSendInfo> {
    const c = await this.acquire();
    let committing = false;
    let committed = false;
    let abandoned: unknown;
    try {
      const info = await new Promise<SMTPConnectionSendInfo>((resolve, reject) => {
        let pushed = false;
        const body = new Readable({
          read() {
            if (!pushed) {
              pushed = true;
              this.push(raw);
              return;
            }
            if (committing) return;
            committing = true;
            commit().then(
              () => {
                committed = true;
                this.push(null);
              },
              (err: unknown) => {
                abandoned = err;
                reject(err);
                // Closing before the final dot makes the server drop the half-received message.
                c.broken = true;
                c.conn.close();
              },
            );
          },
        });
        c.conn.send({ ...envelope, size: raw.length }, body, (err, info) => (err ? reject(err) : resolve(info!)));
      });
      c.messages++;
      this.release(c);
      return info;
    } catch (err) {
      c.broken = true;
      this.release(c);
      if (abandoned !== undefined) throw abandoned;
      const failure = err as SmtpFailure;
      failure.afterCommit = committed;
      throw failure;
    }
  }

  /** Opens (or reuses) one session, login included, and gives it back: is the server there and are we let in? */
  async verify(): Promise<void> {
    this.release(await this.acquire());
  }

  /** Closes every connection; waiting sends fail. */
  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.conn.quit();
    for (const w of this.waiters.splice(0)) w(new Error('SMTP pool closed'));
  }

  private async acquire(): Promise<Pooled> {
    if (this.closed) throw new Error('SMTP pool closed');
    for (let ready = this.idle.pop(); ready; ready = this.idle.pop()) {
      if (!ready.broken) return ready;
      this.open--; // closed by the server while idle
    }
    if (this.open < this.size) {
      this.open++;
      try {
        return await this.connect();
      } catch (err) {
        this.open--;
        this.wakeForNewConnection();
        throw err;
      }
    }
    const got = await new Promise<Pooled | Error>((resolve) => this.waiters.push(resolve));
    if (got instanceof Error) throw got;
    return got;
  }

  private release(c: Pooled): void {
    const max = this.options.maxMessagesPerConnection;
    if (c.broken || this.closed || (max !== undefined && c.messages >= max)) {
      this.open--;
      if (c.broken) c.conn.close();
      else c.conn.quit();
      this.wakeForNewConnection();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(c);
    else this.idle.push(c);
  }

  /**
   * A slot freed up: the first waiter opens a connection of its own. When that fails too, the next
   * waiter gets its turn, so with the server down every waiting send fails instead of waiting forever.
   */
  private wakeForNewConnection(): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    this.open++;
    this.connect().then(waiter, (err: Error) => {
      this.open--;
      waiter(err);
      this.wakeForNewConnection();
    });
  }

  private connect(): Promise<Pooled> {
    const { size: _s, auth, maxMessagesPerConnection: _m, ...connOptions } = this.options;
    return new Promise<Pooled>((resolve, fail) => {
      const reject = (err: Error) => fail(Object.assign(err, { stage: 'connect' }));
      const conn = new SMTPConnection(connOptions);
      const pooled: Pooled = { conn, messages: 0, broken: false };
      let settled = false;
      conn.on('error', (err: Error) => {
        pooled.broken = true;
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      conn.once('end', () => {
        pooled.broken = true;
        if (!settled) {
          settled = true;
          reject(Object.assign(new Error('SMTP connection closed during setup'), { code: 'ECONNECTION' }));
        }
      });
      conn.connect((err) => {
        if (err) {
          if (!settled) reject(err);
          settled = true;
          return;
        }
        if (!auth) {
          settled = true;
          resolve(pooled);
          return;
        }
        conn.login(auth, (loginErr) => {
          settled = true;
          if (loginErr) {
            conn.close();
            reject(loginErr);
          } else resolve(pooled);
        });
      });
    });
  }
}
