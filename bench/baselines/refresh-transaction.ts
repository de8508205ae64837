/**
 * Raw refresh baseline, run as its own process (`node .../refresh-transaction.js SECONDS
 * TOKEN...`), with the settings the app would read from the same environment: per
 * refresh, the refresh transaction's statements (imported from
 * shared/db/queries/session-refresh.ts, so the very same SQL) on a plain pg pool of
 * PG_POOL_MAX connections, the successor's HMAC and an ES256 signature with
 * jsonwebtoken; no HTTP, no Koa, no validation. One loop per TOKEN at once, each
 * refreshing its own session's chain. Prints one JSON line:
 *   per_second  refreshes per second over SECONDS (after a one-second warm-up);
 *   tokens      each chain's current token, to carry on from in the next round.
 */
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { loadConfig } from '../../shared/config/config.js';
import {
  lockOwnerOfRefreshToken,
  lockRefreshTokenWithSuccessor,
  lockSessionForRefresh,
  rotateRefreshToken,
  type RefreshTokenOwner,
} from '../../shared/db/queries/session-refresh.js';

const [secondsArg, ...tokens] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const config = loadConfig(process.env);
const { idleTimeoutSeconds, refreshReuseGraceSeconds } = config.sessions;
const pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolMax });
const successorKey = crypto.createSecretKey(
  Buffer.from(crypto.hkdfSync('sha256', config.appSecret, Buffer.alloc(0), 'user-services/refresh-token-successor/v1', 32)),
);
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** The refresh transaction, as the app runs it for a usable token; returns the token's owner. */
async function transaction(tokenHash: string, successorHash: string): Promise<RefreshTokenOwner> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const owner = await lockOwnerOfRefreshToken(client, tokenHash);
    if (!owner || !(await lockSessionForRefresh(client, owner.session_id, idleTimeoutSeconds))) throw new Error('session not live');
    const token = await lockRefreshTokenWithSuccessor(client, tokenHash, refreshReuseGraceSeconds);
    if (!token || token.consumed) throw new Error('token not usable');
    await rotateRefreshToken(client, { tokenId: token.id, sessionId: owner.session_id, successorHash, idleSeconds: idleTimeoutSeconds });
    await client.query('COMMIT');
    return owner;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
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
const started = performance.now();
const done = await loops(seconds * 1_000);
const elapsed = (performance.now() - started) / 1_000;
await pool.end();
process.stdout.write(`${JSON.stringify({ per_second: done / elapsed, tokens })}\n`);
