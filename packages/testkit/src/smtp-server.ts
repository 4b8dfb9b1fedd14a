import { simpleParser, type AddressObject, type HeaderValue, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A local SMTP server (no auth, no TLS, 127.0.0.1) that parses what it receives, so
 * tests can assert on the email people would read. It can refuse some recipients
 * (550 by default, or a temporary 4xx) and be stopped and restarted on the same port
 * to simulate an SMTP outage.
 */

export interface ReceivedMail {
  from: string | null;
  /** Addresses of the To header. */
  to: string[];
  cc: string[];
  /** The SMTP envelope, which is what was actually delivered (Bcc included). */
  envelope: { from: string | null; to: string[] };
  subject: string;
  text: string;
  html: string;
  /** Lowercase header names; structured values flattened to their text. */
  headers: Record<string, string>;
  messageId: string | null;
  receivedAt: Date;
}

export interface SmtpServer {
  readonly host: string;
  readonly port: number;
  /** `smtp://127.0.0.1:PORT`, what nodemailer's `url` option takes. */
  readonly url: string;
  readonly mails: readonly ReceivedMail[];
  /** Resolves once at least `count` mails have arrived. */
  waitForMails(count: number, options?: { timeoutMs?: number }): Promise<ReceivedMail[]>;
  /** Refuse matching recipients at RCPT TO, with `code` (550 by default; 4xx is temporary). */
  rejectRecipients(pattern: RegExp | string, options?: { code?: number }): void;
  acceptAllRecipients(): void;
  /** Stop listening and drop open connections: clients now get ECONNREFUSED. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startSmtpServer(): Promise<SmtpServer> {
  const mails: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let rejection: { pattern: RegExp; code: number } | null = null;
  let running: SMTPServer | null = null;
  let port = 0;

  const create = (): SMTPServer =>
    new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      disableReverseLookup: true,
      // Connections still open when the server stops are dropped almost at once.
      closeTimeout: 10,
      onRcptTo(address, _session, callback) {
        if (rejection?.pattern.test(address.address)) {
          return callback(Object.assign(new Error(`Recipient <${address.address}> rejected`), { responseCode: rejection.code }));
        }
        callback();
      },
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            const envelopeFrom = session.envelope.mailFrom;
            mails.push(toReceivedMail(parsed, {
              from: envelopeFrom ? envelopeFrom.address : null,
              to: session.envelope.rcptTo.map((r) => r.address),
            }));
            for (const check of waiters) check();
            callback();
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      },
    });

  const listen = async (): Promise<void> => {
    const server = create();
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, HOST, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    const address = server.server.address();
    if (address === null || typeof address === 'string') throw new Error('SMTP test server: no TCP address');
    port = address.port;
    running = server;
  };

  const stop = async (): Promise<void> => {
    const server = running;
    if (!server) return;
    running = null;
    await new Promise<void>((resolve) => server.close(resolve));
  };

  await listen();

  return {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `smtp://${HOST}:${port}`;
    },
    mails,
    waitForMails(count, { timeoutMs = 5_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (mails.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve([...mails]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`SMTP test server: expected ${count} mails within ${timeoutMs} ms, got ${mails.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    rejectRecipients(pattern, { code = 550 } = {}) {
      rejection = { pattern: typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern), 'i') : pattern, code };
    },
    acceptAllRecipients() {
      rejection = null;
    },
    stop,
    async restart() {
      if (!running) await listen();
    },
    close: stop,
  };
}

function toReceivedMail(parsed: ParsedMail, envelope: ReceivedMail['envelope']): ReceivedMail {
  const headers: Record<string, string> = {};
  for (const [name, value] of parsed.headers) headers[name] = headerText(value);
  return {
    from: parsed.from?.value[0]?.address ?? null,
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    envelope,
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: parsed.html || '',
    headers,
    messageId: parsed.messageId ?? null,
    receivedAt: new Date(),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  const objects = Array.isArray(field) ? field : [field];
  return objects.flatMap((o) => o.value.flatMap((a) => (a.address ? [a.address] : [])));
}

function headerText(value: HeaderValue): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item: HeaderValue) => headerText(item)).join(', ');
  if ('text' in value && typeof value.text === 'string') return value.text;
  if ('value' in value && typeof value.value === 'string') return value.value;
  return JSON.stringify(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
