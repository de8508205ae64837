import type { Queryable } from '../pool.js';

export interface NewSession {
  userId: string;
  userAgent: string | undefined;
  ip: string | undefined;
  ttlSeconds: number;
}

export interface Session {
  id: string;
  user_id: string;
  expires_at: Date;
}

export async function insertSession(db: Queryable, session: NewSession): Promise<Session> {
  const { rows } = await db.query<Session>(
    `INSERT INTO sessions (user_id, user_agent, ip_addr, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4))
     RETURNING id, user_id, expires_at`,
    [session.userId, session.userAgent ?? null, session.ip ?? null, session.ttlSeconds],
  );
  return rows[0]!;
}

/** The session when it is live: not revoked, not expired, and its user active. */
export async function findLiveSession(db: Queryable, sessionId: string, userId: string): Promise<Session | undefined> {
  const { rows } = await db.query<Session>(
    `SELECT s.id, s.user_id, s.expires_at
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
        AND u.status = 'active'`,
    [sessionId, userId],
  );
  return rows[0];
}
