import type { KeysetPosition } from '../keyset.js';
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

export interface AuditSearch {
  userId?: string;
  actorId?: string;
  action?: string;
  from?: Date;
  to?: Date;
  after?: KeysetPosition;
  limit: number;
}

export interface AuditListing {
  id: string;
  event_id: string | null;
  user_id: string | null;
  actor_id: string | null;
  action: string;
  ip: string | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  position: KeysetPosition;
}

const NO_USER = '00000000-0000-0000-0000-000000000000';

/**
 * Audit entries newest first, filtered, a keyset page at a time (see searchUsers). The
 * user filter is written as the seed's index expression, coalesce(user_id, NO_USER), so
 * audit_logs_user_time_idx serves it.
 */
export async function searchAuditLogs(db: Queryable, search: AuditSearch): Promise<AuditListing[]> {
  const { rows } = await db.query<Omit<AuditListing, 'position'> & { position_at: string }>(
    `SELECT id::text, event_id, user_id, actor_id, action, host(ip_addr) AS ip, metadata, created_at, created_at::text AS position_at
       FROM audit_logs
      WHERE ($1::uuid IS NULL OR coalesce(user_id, '${NO_USER}'::uuid) = $1)
        AND ($2::uuid IS NULL OR actor_id = $2)
        AND ($3::text IS NULL OR action = $3)
        AND ($4::timestamptz IS NULL OR created_at >= $4)
        AND ($5::timestamptz IS NULL OR created_at < $5)
        AND ($6::timestamptz IS NULL OR (created_at, id) < ($6::timestamptz, $7::bigint))
      -- Qualified: a bare id would be the output column, id::text, and order 10 before 9.
      ORDER BY audit_logs.created_at DESC, audit_logs.id DESC
      LIMIT $8`,
    [search.userId ?? null, search.actorId ?? null, search.action ?? null, search.from ?? null, search.to ?? null, search.after?.at ?? null, search.after?.id ?? null, search.limit],
  );
  return rows.map(({ position_at, ...row }) => ({ ...row, position: { at: position_at, id: row.id } }));
}
