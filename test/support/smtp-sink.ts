import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients, as the server saw them (RCPT TO). */
  to: string[];
  parsed: ParsedMail;
  /** Date.now() when the server had the whole message, before it answered. */
  receivedAt: number;
}

export interface SmtpSinkOptions {
  /**
   * Runs once a message is received and kept, before the server answers 250: the chaos
   * harness kills the sending worker here, between the server's accept and its commit.
   */
  beforeAccept?: (session: SMTPServerSession) => Promise<void> | void;
}

export interface SmtpSink {
  /** smtp://127.0.0.1:<port>, for SMTP_URL. */
  url: string;
  mails: ReceivedMail[];
  /** Recipients the server refuses at RCPT TO, with the reply code (4xx transient, 5xx permanent). */
  refusals: Map<string, number>;
  /** Mails sent to this address so far. */
  mailsTo(address: string): ReceivedMail[];
  /** Waits until `count` mails to this address have arrived; returns them all. */
  waitForMails(address: string, count?: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on a free local port that parses every message it receives
 * (mailparser) and keeps it. Plain SMTP without AUTH or STARTTLS, like a mail catcher.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const refusals = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const code = refusals.get(address.address.toLowerCase());
      if (code === undefined) return callback();
      callback(Object.assign(new Error(`refused by the test (${code})`), { responseCode: code }));
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());
      simpleParser(stream)
        .then(async (parsed) => {
          mails.push({ to, parsed, receivedAt: Date.now() });
          await options.beforeAccept?.(session);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const mailsTo = (address: string) => mails.filter((mail) => mail.to.includes(address.toLowerCase()));

  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    refusals,
    mailsTo,
    async waitForMails(address, count = 1, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (mailsTo(address).length < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} mail(s) to ${address}; got ${mailsTo(address).length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return mailsTo(address);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
