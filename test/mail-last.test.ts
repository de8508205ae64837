import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pino from 'pino';
import { createMailer } from '../shared/mail/mailer.js';
import { projectRoot } from '../shared/project-root.js';
import { passwordResetMail } from '../shared/mail/templates/password-reset.js';
import { verificationMail } from '../shared/mail/templates/verification.js';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run mail:last -- <args>` as a developer types it, with MAIL_DIR pointing at `folder`. */
async function mailLast(folder: string, ...args: string[]): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, MAIL_DIR: folder };
  delete env.SMTP_URL;
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', 'mail:last', '--', ...args], { cwd: projectRoot(), env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('the dev mail folder', () => {
  let parent: string;
  before(() => (parent = fs.mkdtempSync(path.join(os.tmpdir(), 'us-mail-mode-'))));
  after(() => fs.rmSync(parent, { recursive: true, force: true }));

  /** Makes a file-transport mailer under `umask` and sends one mail; the modes of the folder and the file. */
  async function modesUnder(umask: number, folder: string): Promise<{ folder: number; file: number }> {
    const previous = process.umask(umask);
    try {
      const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'dev <dev@localhost>', mailDir: folder, smtpMaxConnections: 1 }, pino({ level: 'silent' }));
      await mailer.send({ to: 'ada@example.com', ...verificationMail('en', { link: 'http://localhost:8001/email/verify?token=live-token', hours: 24 }) });
      mailer.close();
    } finally {
      process.umask(previous);
    }
    const [file] = fs.readdirSync(folder).filter((name) => name.endsWith('.eml'));
    return { folder: fs.statSync(folder).mode & 0o777, file: fs.statSync(path.join(folder, file!)).mode & 0o777 };
  }

  it('is created 0700 and its mails 0600 even under a permissive umask, since they hold live tokens', async () => {
    const modes = await modesUnder(0o000, path.join(parent, 'new', 'mail'));
    expect(modes.folder.toString(8)).to.equal('700');
    expect(modes.file.toString(8)).to.equal('600');
  });

  it('is closed to other users when it already existed open', async () => {
    const folder = path.join(parent, 'existing');
    fs.mkdirSync(folder, { mode: 0o755 });
    fs.chmodSync(folder, 0o755);
    const modes = await modesUnder(0o022, folder);
    expect(modes.folder.toString(8)).to.equal('700');
    expect(modes.file.toString(8)).to.equal('600');
  });
});

describe('npm run mail:last', function () {
  this.timeout(30_000);
  let folder: string;
  // A link long enough that quoted-printable soft-wraps it and encodes its "=" as "=3D" in the file.
  const token = `tok_${'x'.repeat(90)}-end`;
  const link = `http://localhost:8001/email/verify?token=${token}`;
  const resetLink = 'http://localhost:8001/password/reset?token=reset-token-1';

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'us-mail-last-'));
    const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'dev <dev@localhost>', mailDir: folder, smtpMaxConnections: 1 }, pino({ level: 'silent' }));
    await mailer.send({ to: 'ada@example.com', ...verificationMail('de', { link, hours: 24 }) });
    await mailer.send({ to: 'bob@example.com', ...passwordResetMail('en', { link: resetLink, minutes: 30 }) });
    mailer.close();
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('prints the newest mail to an address with its subject, date, decoded text and its link on a line of its own', async () => {
    const raw = fs.readdirSync(folder).map((name) => fs.readFileSync(path.join(folder, name), 'utf8')).join('\n');
    expect(raw, 'the file holds the link only in its encoded form').not.to.include(link);
    const { code, stdout } = await mailLast(folder, 'ADA@example.com');
    expect(code).to.equal(0);
    const lines = stdout.split('\n');
    expect(lines).to.include(link);
    expect(lines.find((line) => line.startsWith('Subject:'))).to.equal(`Subject: ${verificationMail('de', { link, hours: 24 }).subject}`);
    expect(lines.find((line) => line.startsWith('Date:'))).to.match(/^Date: +\d{4}-\d{2}-\d{2}T/);
    expect(stdout).to.include('ada@example.com').and.not.include('bob@example.com');
    expect(stdout).not.to.match(/=3D|=\n/);
  });

  it('without an address, prints the newest mail of all; -n 2 the two newest, newest first', async () => {
    const newest = await mailLast(folder);
    expect(newest.code).to.equal(0);
    expect(newest.stdout.split('\n')).to.include(resetLink).and.not.include(link);
    const both = await mailLast(folder, '-n', '2');
    expect(both.code).to.equal(0);
    const lines = both.stdout.split('\n');
    expect(lines.indexOf(resetLink)).to.be.within(0, lines.indexOf(link));
  });

  it('says so when there is no mail to show, and exits non-zero for a missing folder or bad usage', async () => {
    const none = await mailLast(folder, 'nobody@example.com');
    expect(none.code).to.equal(0);
    expect(none.stdout).to.equal(`no mail to nobody@example.com in ${folder}.\n`);
    const missing = path.join(folder, 'no-such-folder');
    const absent = await mailLast(missing);
    expect(absent.code).to.equal(1);
    expect(absent.stderr).to.include(`no mail folder at ${missing} (MAIL_DIR)`);
    const bad = await mailLast(folder, '-n', 'zero');
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('-n takes a whole number').and.include('usage: npm run mail:last');
  });
});
