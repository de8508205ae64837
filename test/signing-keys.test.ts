import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import PgBoss from 'pg-boss';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../shared/config/config.js';
import { SecretBox } from '../shared/crypto/secret-box.js';
import { rotateSigningKey, rotateSigningKeyIfDue } from '../shared/domain/rotate-signing-key.js';
import { projectRoot } from '../shared/project-root.js';
import { KEY_ROTATION_CRON, KEY_ROTATION_QUEUE } from '../workers/maintenance/key-rotation.js';
import { startMaintenance } from '../workers/maintenance/start-maintenance.js';
import { expectFailure } from './support/expectations.js';
import { randomEmail, request, strongPassword } from './support/http.js';
import { startTestApp, testEnv, type TestApp } from './support/test-app.js';
import { createMigratedDatabase, dropDatabase } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);
const TSX = import.meta.resolve('tsx');

interface Jwks {
  keys: Array<{ kid: string; kty: string; crv: string; d?: string }>;
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
}

/**
 * Rotation on a database of its own, so the keys the other suites' app signs with stay
 * untouched. The app reloads its keys every second (SIGNING_KEY_RELOAD_SECONDS=1) and new
 * keys sign at once (SIGNING_KEY_PUBLISH_LEAD_SECONDS=0) unless a test asks for a lead.
 */
describe('signing keys: JWKS and rotation', () => {
  const overrides = { SIGNING_KEY_RELOAD_SECONDS: '1', SIGNING_KEY_PUBLISH_LEAD_SECONDS: '0' };
  let database: string;
  let app: TestApp;
  let box: SecretBox;
  const pool = () => app.services.pool;
  const call = (method: string, route: string, options: Parameters<typeof request>[2] = {}) => request(method, route, { ...options, baseUrl: app.url });
  const jwksKids = async () => ((await call('GET', '/.well-known/jwks.json')).body as Jwks).keys.map((key) => key.kid).sort();
  const me = (token: string) => call('GET', '/me', { headers: { authorization: `Bearer ${token}` } });
  const activeKids = async () =>
    (await pool().query<{ kid: string }>('SELECT kid FROM signing_keys WHERE retired_at IS NULL')).rows.map((row) => row.kid);

  async function loginToken(): Promise<string> {
    const email = randomEmail();
    const password = strongPassword();
    expect((await call('POST', '/register', { json: { email, password } })).status).to.equal(201);
    const response = await call('POST', '/login', { json: { email, password } });
    expect(response.status).to.equal(200);
    return response.body.token as string;
  }

  /** Logs in until the app signs with `kid` (it follows a rotation at its next reload). */
  function loginSignedBy(kid: string): Promise<string> {
    return waitFor(`a login signed by ${kid}`, async () => {
      const token = await loginToken();
      return kidOf(token) === kid ? token : undefined;
    });
  }

  before(async function () {
    this.timeout(60_000);
    database = await createMigratedDatabase();
    app = await startTestApp(database, overrides);
    box = new SecretBox(app.services.config.appSecret);
  });

  after(async function () {
    this.timeout(60_000);
    await app?.close();
    if (database) await dropDatabase(database);
  });

  it('parses the key settings with their defaults and names every bad value', () => {
    const defaults = loadConfig(testEnv(database));
    expect(defaults.signingKeys).to.deep.equal({ rotationDays: 30, publishLeadSeconds: 360, reloadSeconds: 60 });
    expect(defaults.tokens.clockToleranceSeconds).to.equal(30);
    expect(loadConfig(testEnv(database, { SIGNING_KEY_RELOAD_SECONDS: '10' })).signingKeys.publishLeadSeconds, 'lead follows the reload').to.equal(310);
    const bad = { SIGNING_KEY_ROTATION_DAYS: '0', SIGNING_KEY_PUBLISH_LEAD_SECONDS: 'soon', SIGNING_KEY_RELOAD_SECONDS: '-5', JWT_CLOCK_TOLERANCE_SECONDS: '3600' };
    try {
      loadConfig(testEnv(database, bad));
      expect.fail('loadConfig accepted bad values');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of Object.keys(bad)) expect(problems).to.include(name);
    }
  });

  it('GET /.well-known/jwks.json: public keys only, cacheable for 5 minutes, with an ETag that revalidates to 304', async () => {
    const token = await loginToken();
    const response = await call('GET', '/.well-known/jwks.json');
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^application\/json/);
    expect(response.headers.get('cache-control')).to.equal('public, max-age=300');
    const body = response.body as Jwks;
    expect(body.keys.map((key) => key.kid)).to.deep.equal([kidOf(token)]);
    expect(body.keys[0]).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(body.keys[0]).not.to.have.property('d');
    const etag = response.headers.get('etag');
    expect(etag).to.match(/^"[\w-]+"$/);
    // fetch() adds "Cache-Control: no-cache" (a forced reload) to a conditional request unless told otherwise.
    const revalidate = (tag: string) => call('GET', '/.well-known/jwks.json', { headers: { 'if-none-match': tag, 'cache-control': 'max-age=0' } });
    const revalidated = await revalidate(etag!);
    expect(revalidated.status).to.equal(304);
    expect(revalidated.text).to.equal('');
    expect((await revalidate('"stale"')).status).to.equal(200);
  });

  describe('rotation', () => {
    let first: { kid: string; token: string };
    let second: { kid: string; token: string };

    before(async () => {
      const token = await loginToken();
      first = { kid: kidOf(token), token };
    });

    it('npm run keys:rotate (bin/rotate-keys.ts) prints the new kid; old tokens still work and the JWKS lists both keys', async function () {
      this.timeout(30_000);
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'us-rotate-'));
      try {
        const { stdout } = await run(process.execPath, ['--import', TSX, path.join(projectRoot(), 'bin/rotate-keys.ts')], {
          cwd,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...testEnv(database, overrides) },
        });
        const kid = /^new signing key ([\w-]{43}): published now, signs from \S+; (\S+) signs until then/.exec(stdout);
        expect(kid, stdout).not.to.equal(null);
        expect(kid![2]).to.equal(first.kid);
        second = { kid: kid![1]!, token: '' };
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
      expect(await activeKids()).to.deep.equal([second.kid]);
      // The running app picks the new key up at its next reload (within a second here).
      expect(await waitFor('both keys in the JWKS', async () => {
        const kids = await jwksKids();
        return kids.length === 2 ? kids : undefined;
      })).to.deep.equal([first.kid, second.kid].sort());
      second.token = await loginSignedBy(second.kid);
      expect((await me(first.token)).status, 'token of the retired key').to.equal(200);
      expect((await me(second.token)).status, 'token of the new key').to.equal(200);
    });

    it('rotateSigningKey (as the schedule calls it) retires the current key and signs new logins with the new one', async () => {
      const rotation = await rotateSigningKey(pool(), box, { leadSeconds: 0 });
      expect(rotation.previousKid).to.equal(second.kid);
      expect(await activeKids()).to.deep.equal([rotation.kid]);
      const third = await loginSignedBy(rotation.kid);
      expect(await jwksKids()).to.deep.equal([first.kid, second.kid, rotation.kid].sort());
      for (const token of [first.token, second.token, third]) expect((await me(token)).status).to.equal(200);
    });

    it('publishes a new key before it signs: logins keep the old key until the handover', async function () {
      this.timeout(20_000);
      const current = kidOf(await loginToken());
      const rotation = await rotateSigningKey(pool(), box, { leadSeconds: 3 });
      expect(rotation.previousKid).to.equal(current);
      expect(rotation.signsFrom.getTime() - Date.now()).to.be.within(1_000, 3_100);
      await waitFor('the pending key in the JWKS', async () => ((await jwksKids()).includes(rotation.kid) ? true : undefined));
      expect(kidOf(await loginToken()), 'before the handover').to.equal(current);
      const next = await loginSignedBy(rotation.kid);
      expect(Date.now()).to.be.at.least(rotation.signsFrom.getTime());
      expect((await me(next)).status).to.equal(200);
    });

    it('drops a key from the JWKS, and refuses its tokens, once every token it signed has expired', async () => {
      const { accessTtlSeconds, clockToleranceSeconds } = app.services.config.tokens;
      const grace = accessTtlSeconds + 1 + clockToleranceSeconds;
      // Retired just inside the window: still published, its token still good.
      await pool().query(`UPDATE signing_keys SET retired_at = now() - make_interval(secs => $2) WHERE kid = $1`, [first.kid, grace - 20]);
      await app.services.keys.reload();
      expect(await jwksKids()).to.include(first.kid);
      expect((await me(first.token)).status).to.equal(200);
      // Retired long ago: gone from the JWKS at the next periodic reload, its token refused.
      await pool().query(`UPDATE signing_keys SET retired_at = now() - interval '1 day' WHERE kid = $1`, [first.kid]);
      await waitFor('the old key to leave the JWKS', async () => ((await jwksKids()).includes(first.kid) ? undefined : true));
      expectFailure(await me(first.token), 401, 'unauthorized');
      expect((await me(second.token)).status, 'the next key is unaffected').to.equal(200);
    });

    it('two (or eight) rotations at once leave exactly one active key, each retiring the one before it', async () => {
      const before = await activeKids();
      const rotations = await Promise.all(Array.from({ length: 8 }, () => rotateSigningKey(pool(), box, { leadSeconds: 0 })));
      const active = await activeKids();
      expect(active).to.have.length(1);
      const kids = rotations.map((rotation) => rotation.kid);
      expect(new Set(kids).size).to.equal(8);
      // One chain: every rotation retired a different key, starting from the one active before.
      const previous = rotations.map((rotation) => rotation.previousKid);
      expect(new Set(previous).size).to.equal(8);
      expect(previous).to.include(before[0]);
      expect(kids.filter((kid) => !previous.includes(kid))).to.deep.equal(active);
      await loginSignedBy(active[0]!);
    });

    it('rotateSigningKeyIfDue rotates only once the newest key is SIGNING_KEY_ROTATION_DAYS old', async () => {
      const settings = { maxAgeDays: 30, leadSeconds: 0 };
      expect(await rotateSigningKeyIfDue(pool(), box, settings)).to.equal(undefined);
      const [current] = await activeKids();
      await pool().query(`UPDATE signing_keys SET created_at = now() - interval '29 days 23 hours' WHERE kid = $1`, [current]);
      expect(await rotateSigningKeyIfDue(pool(), box, settings)).to.equal(undefined);
      await pool().query(`UPDATE signing_keys SET created_at = now() - interval '30 days 1 minute' WHERE kid = $1`, [current]);
      const rotation = await rotateSigningKeyIfDue(pool(), box, settings);
      expect(rotation?.previousKid).to.equal(current);
      expect(await activeKids()).to.deep.equal([rotation!.kid]);
      expect(await rotateSigningKeyIfDue(pool(), box, settings)).to.equal(undefined);
    });
  });

  // After the rotation suite: mocha runs a suite's own tests before its nested suites.
  describe('schedule', () => {
    it('the maintenance role schedules the rotation in pg-boss, and its job rotates a key that is due', async function () {
      this.timeout(60_000);
      const config = loadConfig(testEnv(database, overrides));
      const maintenance = await startMaintenance({ config, log: pino({ level: 'silent' }), pool: pool() }, { pollingIntervalSeconds: 0.5 });
      const boss = new PgBoss({ connectionString: config.database.url, max: 1, supervise: false, schedule: false });
      boss.on('error', () => undefined);
      try {
        const { rows } = await pool().query<{ name: string; cron: string; timezone: string }>(
          `SELECT name, cron, options->>'tz' AS timezone FROM pgboss.schedule WHERE name = $1`,
          [KEY_ROTATION_QUEUE],
        );
        expect(rows).to.deep.equal([{ name: KEY_ROTATION_QUEUE, cron: KEY_ROTATION_CRON, timezone: 'UTC' }]);
        expect((await pool().query('SELECT policy FROM pgboss.queue WHERE name = $1', [KEY_ROTATION_QUEUE])).rows).to.deep.equal([{ policy: 'stately' }]);

        // What a tick does: a job on the queue, which rotates because the key is old enough.
        const [current] = await activeKids();
        await pool().query(`UPDATE signing_keys SET created_at = now() - interval '31 days' WHERE kid = $1`, [current]);
        await boss.start();
        await boss.send(KEY_ROTATION_QUEUE, {});
        const rotated = await waitFor('the scheduled job to rotate', async () => {
          const [active] = await activeKids();
          return active !== current ? active : undefined;
        }, 20_000);
        const [{ retired }] = (await pool().query<{ retired: boolean }>('SELECT retired_at IS NOT NULL AS retired FROM signing_keys WHERE kid = $1', [current])).rows as [{ retired: boolean }];
        expect(retired).to.equal(true);
        await loginSignedBy(rotated!);
      } finally {
        await boss.stop({ graceful: false }).catch(() => undefined);
        await maintenance.stop();
      }
    });
  });
});
