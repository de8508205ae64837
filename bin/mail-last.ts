import fs from 'node:fs';
import path from 'node:path';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { loadConfig } from '../shared/config/config.js';
import { loadDotenv } from '../shared/config/dotenv.js';
import { mailFolder } from '../shared/mail/mailer.js';

/**
 * `npm run mail:last -- [address] [-n N]`: prints the newest mails the service wrote to
 * MAIL_DIR (without SMTP_URL, each mail is an .eml file there), optionally only those to
 * `address`: subject, date, recipients, the text part decoded, and each link on a line of
 * its own so it can be copied. A development aid, run with tsx (mailparser is a
 * devDependency). Exit codes: 0 shown (or none to show), 1 no such folder, 2 bad usage.
 */
const USAGE = 'usage: npm run mail:last -- [address] [-n N]   (the newest N mails in MAIL_DIR, default 1; only those to address when given)';
const LINK = /https?:\/\/[^\s<>"'()[\]]+/g;

interface Options {
  address: string | undefined;
  count: number;
}

function parseArgs(args: string[]): Options | string {
  const options: Options = { address: undefined, count: 1 };
  const rest = args.filter((arg) => arg !== '--');
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '-h' || arg === '--help') return '';
    if (arg === '-n') {
      const count = Number(rest[++i]);
      if (!Number.isInteger(count) || count < 1) return `-n takes a whole number of mails, at least 1, got "${rest[i] ?? ''}"`;
      options.count = count;
    } else if (arg.startsWith('-')) {
      return `unknown option "${arg}"`;
    } else if (options.address === undefined && arg.includes('@')) {
      options.address = arg.trim().toLowerCase();
    } else {
      return `"${arg}" is not an email address`;
    }
  }
  return options;
}

function recipients(mail: ParsedMail): string[] {
  const lists = [mail.to, mail.cc].flatMap((field): AddressObject[] => (field === undefined ? [] : Array.isArray(field) ? field : [field]));
  return lists.flatMap((list) => list.value.flatMap((entry) => (entry.address ? [entry.address.toLowerCase()] : [])));
}

/** The folder's .eml files, newest first (by modification time, which the mailer's writes order). */
function emlFilesNewestFirst(folder: string): string[] {
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.eml'))
    .map((name) => ({ file: path.join(folder, name), mtime: fs.statSync(path.join(folder, name)).mtimeMs, name }))
    .sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name))
    .map(({ file }) => file);
}

function describe(file: string, mail: ParsedMail): string {
  const text = (mail.text ?? '').trimEnd();
  const links = [...new Set(text.match(LINK) ?? [])];
  return [
    `Subject: ${mail.subject ?? '(none)'}`,
    `Date:    ${mail.date?.toISOString() ?? '(none)'}`,
    `To:      ${recipients(mail).join(', ') || '(none)'}`,
    `File:    ${file}`,
    '',
    text || '(no text part)',
    '',
    ...(links.length > 0 ? ['Links:', ...links] : ['No links.']),
  ].join('\n');
}

async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  if (typeof options === 'string') {
    process.stderr.write(options ? `${options}\n${USAGE}\n` : `${USAGE}\n`);
    return options ? 2 : 0;
  }
  loadDotenv();
  const config = loadConfig();
  const folder = mailFolder(config.mailDir);
  const smtpNote = config.smtpUrl ? ' SMTP_URL is set, so mail goes to that server rather than to this folder.' : '';
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    process.stderr.write(`no mail folder at ${folder} (MAIL_DIR): it is created when the service starts without SMTP_URL.${smtpNote}\n`);
    return 1;
  }
  const shown: string[] = [];
  for (const file of emlFilesNewestFirst(folder)) {
    if (shown.length === options.count) break;
    const mail = await simpleParser(await fs.promises.readFile(file));
    if (options.address === undefined || recipients(mail).includes(options.address)) shown.push(describe(file, mail));
  }
  if (shown.length === 0) {
    process.stdout.write(`no mail${options.address ? ` to ${options.address}` : ''} in ${folder}.${smtpNote}\n`);
    return 0;
  }
  process.stdout.write(`${shown.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`mail:last failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
