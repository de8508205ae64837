/**
 * Where a page of a newest-first listing starts: strictly after this (created_at, id).
 * `at` is created_at as PostgreSQL writes it (created_at::text), exact to the
 * microsecond, unlike a JS Date, so no row is skipped or repeated at a page boundary.
 */
export interface KeysetPosition {
  at: string;
  id: string;
}
