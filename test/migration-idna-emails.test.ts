import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import { migrate } from '../shared/db/migrator.js';
import { createPool, type Pool } from '../shared/db/pool.js';
import { createLogger } from '../shared/logger.js';
import { projectRoot } from '../shared/project-root.js';
import { createEmptyDatabase, databaseUrlFor, dropDatabase } from './support/test-database.js';

const MIGRATION = '019_idna_email_domains.sql';

/** Domains as users typed them before the rule, each with what node:url makes of it. */
const DOMAINS = ['bücher.de', 'BÜCHER.de', 'пример.рф', '例え.テスト', 'mañana.com', 'faß.de', 'ελληνικά.gr', 'a.b-ü.example', 'x.中国', 'münchen-ñ.info', 'plain.example'];

describe(`migration ${MIGRATION}`, function () {
  this.timeout(60_000);
  let database: string;
  let dir: string;
  let pool: Pool;
  const log = createLogger('silent');

  before(async () => {
    database = await createEmptyDatabase('us_migrate');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-migrations-'));
    const all = fs.readdirSync(path.join(projectRoot(), 'migrations')).filter((name) => name.endsWith('.sql')).sort();
    for (const name of all.filter((name) => name < MIGRATION)) fs.copyFileSync(path.join(projectRoot(), 'migrations', name), path.join(dir, name));
    pool = createPool({ url: databaseUrlFor(database), poolMax: 2, connectTimeoutMs: 5_000 });
    await migrate(pool, dir, log);
  });

  after(async () => {
    await pool.end();
    fs.rmSync(dir, { recursive: true, force: true });
    await dropDatabase(database);
  });

  it('rewrites stored Unicode domains to their IDNA ASCII form as domainToASCII does, login history included, and leaves a clash alone', async () => {
    const emails = DOMAINS.map((domain, i) => `User.${i}@${domain}`);
    await pool.query("INSERT INTO users (email, password_hash) SELECT e, 'x' FROM unnest($1::text[]) e", [emails]);
    await pool.query('INSERT INTO login_attempts (email, success) SELECT e, true FROM unnest($1::text[]) e', [emails]);
    // Two accounts for one mailbox, from before the rule: the Unicode one cannot take the ASCII address.
    await pool.query("INSERT INTO users (email, password_hash) VALUES ('clash@xn--bcher-kva.de', 'x'), ('clash@bücher.de', 'x')");

    fs.copyFileSync(path.join(projectRoot(), 'migrations', MIGRATION), path.join(dir, MIGRATION));
    expect(await migrate(pool, dir, log)).to.deep.equal([MIGRATION]);

    const expected = emails.map((email, i) => `User.${i}@${domainToASCII(DOMAINS[i]!)}`);
    const { rows: users } = await pool.query<{ email: string }>('SELECT email::text FROM users WHERE email::text LIKE $1 ORDER BY created_at, email', ['User.%']);
    expect(users.map((row) => row.email).sort()).to.deep.equal([...expected].sort());
    const { rows: attempts } = await pool.query<{ email: string }>('SELECT email::text FROM login_attempts');
    expect(attempts.map((row) => row.email).sort()).to.deep.equal([...expected].sort());
    const { rows: clash } = await pool.query<{ email: string }>("SELECT email::text FROM users WHERE email::text LIKE 'clash@%' ORDER BY email");
    expect(clash.map((row) => row.email)).to.deep.equal(['clash@bücher.de', 'clash@xn--bcher-kva.de']);
    const { rows: left } = await pool.query("SELECT proname FROM pg_proc WHERE proname LIKE 'migration_019%'");
    expect(left, 'its helper functions are dropped').to.deep.equal([]);
  });
});
