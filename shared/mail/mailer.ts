import fs from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

/** Where mail goes without SMTP_URL: one .eml file per message (MAIL_DIR, relative to the working directory). */
export function mailFolder(mailDir: string, cwd = process.cwd()): string {
  return path.resolve(cwd, mailDir);
}

/**
 * Sends mail through SMTP_URL with a pooled nodemailer transport; without SMTP_URL it
 * writes each message as an .eml file to a folder whose path is logged at start.
 */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'mailDir' | 'smtpMaxConnections'>, log: Logger): Mailer {
  if (config.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport({ url: config.smtpUrl, pool: true, maxConnections: config.smtpMaxConnections });
    return {
      async send(mail) {
        await transport.sendMail({ from: config.mailFrom, ...mail });
      },
      close: () => transport.close(),
    };
  }

  // The mails hold live tokens: the folder and its files are the service user's alone, whatever the umask.
  const folder = mailFolder(config.mailDir);
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  fs.chmodSync(folder, 0o700);
  log.warn({ folder }, `SMTP_URL is not set: mail is written as .eml files to ${folder}`);
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(mail) {
      const info = await transport.sendMail({ from: config.mailFrom, ...mail });
      const file = path.join(folder, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^\w.-]/g, '')}.eml`);
      // A umask only takes bits away, so 0600 holds; wx refuses to write through a file (or link) already there.
      await fs.promises.writeFile(file, info.message as Buffer, { mode: 0o600, flag: 'wx' });
    },
    close: () => transport.close(),
  };
}
