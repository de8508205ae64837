import type { PoolClient, Queryable } from '../pool.js';

export interface NewAuditLog {
  eventId: string;
  userId: string | null;
  /** Who acted: the user for self-service actions, an operator, or null for the system. */
  actorId: string | null;
  action: string;
  ip: string | null;
  metadata: Record<string, string | number | boolean | null>;
  createdAt: string;
}

/** Appends one row per event; returns false when the event already has its row. */
export async function insertAuditLog(db: Queryable, entry: NewAuditLog): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO audit_logs (event_id, user_id, actor_id, action, ip_addr, metadata, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (event_id) DO NOTHING`,
    [entry.eventId, entry.userId, entry.actorId, entry.action, entry.ip, JSON.stringify(entry.metadata), entry.createdAt],
  );
  return rowCount === 1;
}

/**
 * Deletes up to `limit` rows older than `days`; returns how many. Must run inside a
 * transaction: it declares the retention transaction-locally, and the audit_logs
 * trigger refuses any DELETE without it or of a younger row.
 */
export async function deleteAuditLogsOlderThan(tx: PoolClient, days: number, limit: number): Promise<number> {
  await tx.query("SELECT set_config('user_services.audit_retention_days', $1, true)", [String(days)]);
  const { rowCount } = await tx.query(
    `DELETE FROM audit_logs WHERE id IN (
       SELECT id FROM audit_logs WHERE created_at < now() - make_interval(days => $1)
        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [days, limit],
  );
  return rowCount ?? 0;
}

/** The audit entries about a user, newest first, as the data export shows them. */
export async function findAuditLogsOfUser(db: Queryable, userId: string, limit: number) {
  const { rows } = await db.query<{ created_at: Date; action: string; actor_id: string | null; ip: string | null; metadata: Record<string, unknown> }>(
    `SELECT created_at, action, actor_id, host(ip_addr) AS ip, metadata
       FROM audit_logs WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    [userId, limit],
  );
  return rows;
}
