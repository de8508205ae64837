import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, MigrationError, NO_TRANSACTION_MARKER } from '../shared/db/migrator.js';
import { createPool, type Pool } from '../shared/db/pool.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { waitFor } from './support/wait-for.js';
import { createEmptyDatabase, databaseUrlFor, dropDatabase } from './support/test-database.js';

const ATTEMPTS = `CREATE TABLE login_attempts (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO login_attempts (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 20000) AS g;`;

const EMAIL_INDEX = `${NO_TRANSACTION_MARKER}
-- Built without blocking sign-ins, which write here all the time.
CREATE INDEX CONCURRENTLY login_attempts_email_idx ON login_attempts (email);`;

interface LogLine {
  msg: string;
  holder?: { pid: number; query: string | null };
}

function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { log: createLogger('info', 'migrate-test', { write: (line: string) => lines.push(JSON.parse(line) as LogLine) }), lines };
}

describe('migrations without a transaction', () => {
  let database: string;
  let dir: string;
  let pool: Pool;
  const clients: pg.Client[] = [];
  const log = createLogger('silent');

  beforeEach(async () => {
    database = await createEmptyDatabase('us_migrate');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-migrations-'));
    pool = createPool({ url: databaseUrlFor(database), poolMax: 4, connectTimeoutMs: 5_000 });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => undefined);
    await pool.end();
    fs.rmSync(dir, { recursive: true, force: true });
    await dropDatabase(database);
  });

  function write(name: string, sql: string): void {
    fs.writeFileSync(path.join(dir, name), sql);
  }

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: databaseUrlFor(database) });
    await client.connect();
    clients.push(client);
    return client;
  }

  /** An open transaction that wrote to login_attempts: a CONCURRENTLY build waits for it to end, and stays visible meanwhile. */
  async function holdIndexBuild(): Promise<pg.Client> {
    const client = await connect();
    await client.query('BEGIN');
    await client.query("INSERT INTO login_attempts (email) VALUES ('held@example.com')");
    return client;
  }

  function buildingBackend(): Promise<number> {
    return waitFor('a CREATE INDEX CONCURRENTLY waiting on older transactions', async () => {
      const { rows } = await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND query ILIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
      );
      return rows[0]?.pid;
    });
  }

  async function indexState(name: string): Promise<{ indisvalid: boolean; indisready: boolean } | undefined> {
    const { rows } = await pool.query('SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = to_regclass($1)', [name]);
    return rows[0];
  }

  async function ledger(): Promise<string[]> {
    return (await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((row) => row.name);
  }

  async function failure(run: Promise<unknown>): Promise<MigrationError> {
    const error = await run.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(MigrationError);
    return error as MigrationError;
  }

  it('builds an index CONCURRENTLY while inserts into the table keep committing, and records it', async () => {
    write('001_attempts.sql', ATTEMPTS);
    await migrate(pool, dir, log);
    write('002_attempts_by_email.sql', EMAIL_INDEX);

    const inserter = await connect();
    let inserted = 0;
    let inserting = true;
    const inserts = (async () => {
      while (inserting) {
        await inserter.query("INSERT INTO login_attempts (email) VALUES ('during@example.com')");
        inserted++;
      }
    })();

    const held = await holdIndexBuild();
    const migrating = migrate(pool, dir, log);
    await buildingBackend();
    const atStart = inserted;
    await waitFor('inserts committing during the index build', () => (inserted >= atStart + 25 ? true : undefined));
    await buildingBackend(); // still building: those inserts were not held up by it
    await held.query('COMMIT');

    expect(await migrating).to.deep.equal(['002_attempts_by_email.sql']);
    inserting = false;
    await inserts;
    expect(await indexState('login_attempts_email_idx')).to.deep.equal({ indisvalid: true, indisready: true });
    expect(await ledger()).to.deep.equal(['001_attempts.sql', '002_attempts_by_email.sql']);
    const { rows } = await pool.query<{ count: number }>("SELECT count(*)::int AS count FROM login_attempts WHERE email = 'during@example.com'");
    expect(rows[0]!.count).to.equal(inserted);
  });

  it('lets two migrators start at once with a CONCURRENTLY file pending: one applies it, the other polls, then finds nothing to do', async () => {
    write('001_attempts.sql', ATTEMPTS);
    await migrate(pool, dir, log);
    write('002_attempts_by_email.sql', EMAIL_INDEX);

    const held = await holdIndexBuild();
    const starters = [capturingLogger(), capturingLogger()];
    const pools = starters.map(() => createPool({ url: databaseUrlFor(database), poolMax: 1, connectTimeoutMs: 5_000 }));
    try {
      const both = Promise.all(pools.map((each, i) => migrate(each, dir, starters[i]!.log)));
      const builder = await buildingBackend();
      const waiting = await waitFor('the other migrator saying it waits', () =>
        starters.flatMap((starter) => starter.lines).find((line) => /waiting for another process to finish migrating/.test(line.msg)),
      );
      expect(waiting.holder?.pid).to.equal(builder);
      const { rows } = await pool.query<{ count: number }>("SELECT count(*)::int AS count FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      expect(rows[0]!.count, 'nobody blocks inside pg_advisory_lock').to.equal(0);
      await held.query('COMMIT');

      const results = await both;
      expect(results.map((names) => names.length).sort()).to.deep.equal([0, 1]);
      expect(results.flat()).to.deep.equal(['002_attempts_by_email.sql']);
      expect(await indexState('login_attempts_email_idx')).to.deep.equal({ indisvalid: true, indisready: true });
      expect(await ledger()).to.deep.equal(['001_attempts.sql', '002_attempts_by_email.sql']);
    } finally {
      await Promise.all(pools.map((each) => each.end()));
    }
  });

  it('reports a failed CONCURRENTLY build with its file, statement and the invalid index to drop; records nothing; runs once fixed', async () => {
    write('001_attempts.sql', `${ATTEMPTS}\nINSERT INTO login_attempts (email) VALUES ('user7@example.com');`);
    await migrate(pool, dir, log);
    write(
      '002_unique_emails.sql',
      `${NO_TRANSACTION_MARKER}\nCREATE TABLE IF NOT EXISTS attempt_notes (id int);\nCREATE UNIQUE INDEX CONCURRENTLY login_attempts_email_key ON login_attempts (email);\n`,
    );

    const error = await failure(migrate(pool, dir, log));
    expect(error.message).to.include('002_unique_emails.sql failed at statement 2 of 2');
    expect(error.message).to.include('could not create unique index');
    expect(error.message).to.include('statement: CREATE UNIQUE INDEX CONCURRENTLY login_attempts_email_key ON login_attempts (email)');
    expect(error.message).to.include('statement 1 took effect');
    expect(error.message).to.include('INVALID index public.login_attempts_email_key');
    expect(error.message).to.include('DROP INDEX CONCURRENTLY IF EXISTS public.login_attempts_email_key;');
    expect(await ledger()).to.deep.equal(['001_attempts.sql']);
    expect((await indexState('login_attempts_email_key'))?.indisvalid).to.equal(false);

    // Run again without dropping it: refused, because CREATE ... IF NOT EXISTS would skip it and be recorded.
    const again = await failure(migrate(pool, dir, log));
    expect(again.message).to.match(/refusing to apply 002_unique_emails\.sql: the database has invalid indexes \(public\.login_attempts_email_key\)/);

    await pool.query('DROP INDEX CONCURRENTLY IF EXISTS public.login_attempts_email_key');
    await pool.query("DELETE FROM login_attempts WHERE email = 'user7@example.com' AND id > 20000");
    expect(await migrate(pool, dir, log)).to.deep.equal(['002_unique_emails.sql']);
    expect(await indexState('login_attempts_email_key')).to.deep.equal({ indisvalid: true, indisready: true });
    expect(await ledger()).to.deep.equal(['001_attempts.sql', '002_unique_emails.sql']);
  });

  it('sends one statement per query, whatever semicolons hide in strings, names, bodies and comments', async () => {
    write(
      '001_odd.sql',
      `${NO_TRANSACTION_MARKER}
-- a comment; with a semicolon
CREATE TABLE "odd;name" (note text DEFAULT 'a;b', other text DEFAULT E'it\\'s;');
/* a block ; /* nested ; */ comment */
DO $body$ BEGIN INSERT INTO "odd;name" (note) VALUES ('x;y'); END $body$;
CREATE INDEX CONCURRENTLY odd_note_idx ON "odd;name" (note);
`,
    );
    expect(await migrate(pool, dir, log)).to.deep.equal(['001_odd.sql']);
    const { rows } = await pool.query('SELECT note, other FROM "odd;name"');
    expect(rows).to.deep.equal([{ note: 'x;y', other: "it's;" }]);
    expect(await indexState('odd_note_idx')).to.deep.equal({ indisvalid: true, indisready: true });
  });

  it('still runs an unmarked file in one transaction with its ledger row, and says how to mark one that cannot be', async () => {
    write('001_xids.sql', 'CREATE TABLE xids (x xid8);\nINSERT INTO xids VALUES (pg_current_xact_id());\nINSERT INTO xids VALUES (pg_current_xact_id());');
    write('002_xid.sql', 'INSERT INTO xids VALUES (pg_current_xact_id());');
    await migrate(pool, dir, log);
    const { rows } = await pool.query<{ name: string; xids: string[] }>(
      `SELECT m.name, array_agg(DISTINCT x.x::text) AS xids
         FROM schema_migrations m JOIN xids x ON xid(x.x)::text = m.xmin::text
        GROUP BY m.name ORDER BY m.name`,
    );
    expect(rows.map((row) => [row.name, row.xids.length])).to.deep.equal([
      ['001_xids.sql', 1],
      ['002_xid.sql', 1],
    ]);
    expect((await pool.query('SELECT count(*)::int AS count FROM xids')).rows[0].count).to.equal(3);

    write('003_unmarked.sql', 'CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);');
    const error = await failure(migrate(pool, dir, log));
    expect(error.message).to.match(/003_unmarked\.sql failed: CREATE INDEX CONCURRENTLY cannot run inside a transaction block/);
    expect(error.message).to.include(`make "${NO_TRANSACTION_MARKER}" its first line`);
    expect((await pool.query("SELECT to_regclass('t') AS t")).rows[0].t).to.equal(null);
    expect(await ledger()).to.deep.equal(['001_xids.sql', '002_xid.sql']);
  });

  it('refuses a misspelt marker, or a file it cannot split, before applying anything', async () => {
    write('001_first.sql', 'CREATE TABLE first (id int);');
    write('002_typo.sql', '-- migrate: no-transactions\nCREATE INDEX CONCURRENTLY first_id_idx ON first (id);');
    expect((await failure(migrate(pool, dir, log))).message).to.match(/002_typo\.sql: unknown directive "-- migrate: no-transactions"/);

    write('002_typo.sql', `${NO_TRANSACTION_MARKER}\nCREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;`);
    expect((await failure(migrate(pool, dir, log))).message).to.match(/refusing to migrate: 002_typo\.sql: a BEGIN ATOMIC body/);
    expect((await pool.query("SELECT to_regclass('first') AS first")).rows[0].first).to.equal(null);
    expect(await ledger()).to.deep.equal([]);
  });
});
