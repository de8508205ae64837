/**
 * Raw refresh baseline, run as its own process (`node .../refresh-transaction.js SECONDS
 * TOKEN...`), with the settings the app would read from the same environment: per
 * refresh, the refresh's statement for a usable token (imported from
 * shared/db/queries/session-refresh.ts, so the very same SQL) on a plain pg pool of
 * PG_POOL_MAX connections, the successor's HMAC and an ES256 signature with
 * jsonwebtoken; no HTTP, no Koa, no validation. One loop per TOKEN at once, each
 * refreshing its own session's chain. Prints one JSON line:
 *   per_second  refreshes per second over SECONDS (after a one-second warm-up);
 *   machine_busy_cores  how busy the whole machine was meanwhile (this script and PostgreSQL, mostly);
 *   tokens      each chain's current token, to carry on from in the next round.
 */
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { loadConfig } from '../../shared/config/config.js';
import { rotateUsableRefreshToken, type RotatedRefresh } from '../../shared/db/queries/session-refresh.js';
import { machineBusyTicks, TICKS_PER_SECOND } from '../lib/cpu-account.js';

const [secondsArg, ...tokens] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const config = loadConfig(process.env);
const { idleTimeoutSeconds } = config.sessions;
const pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolMax });
const successorKey = crypto.createSecretKey(
  Buffer.from(crypto.hkdfSync('sha256', config.appSecret, Buffer.alloc(0), 'user-services/refresh-token-successor/v1', 32)),
);
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The refresh of a usable token as the app runs it: the one statement that locks, checks
 * and rotates, on its own (shared/domain/refresh-session.ts falls back to the
 * statement-by-statement transaction only for tokens that are not plainly usable, which
 * these chains never present). Returns the token's owner.
 */
async function transaction(tokenHash: string, successorHash: string): Promise<RotatedRefresh> {
  const owner = await rotateUsableRefreshToken(pool, { tokenHash, successorHash, idleSeconds: idleTimeoutSeconds });
  if (!owner) throw new Error('token not usable');
  return owner;
}

/** One refresh: the transaction, then the signature. Returns the successor. */
async function refresh(presented: string): Promise<string> {
  const successor = crypto.createHmac('sha256', successorKey).update(presented, 'utf8').digest('base64url');
  const owner = await transaction(sha256(presented), sha256(successor));
  jwt.sign({ sid: owner.session_id }, privateKey, {
    algorithm: 'ES256',
    keyid: 'bench',
    subject: owner.user_id,
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    expiresIn: config.tokens.accessTtlSeconds,
  });
  return successor;
}

/** Every chain refreshing in a loop until the deadline; returns how many refreshes completed in time. */
async function loops(ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let done = 0;
  await Promise.all(
    tokens.map(async (_, i) => {
      while (performance.now() < deadline) {
        tokens[i] = await refresh(tokens[i]!);
        if (performance.now() <= deadline) done++;
      }
    }),
  );
  return done;
}

await loops(1_000); // warm-up
const machineBefore = machineBusyTicks();
const started = performance.now();
const done = await loops(seconds * 1_000);
const elapsed = (performance.now() - started) / 1_000;
const machine_busy_cores = (machineBusyTicks() - machineBefore) / TICKS_PER_SECOND / elapsed;
await pool.end();
process.stdout.write(`${JSON.stringify({ per_second: done / elapsed, machine_busy_cores, tokens })}\n`);
