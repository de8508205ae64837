import { ERROR_STATUS, type ErrorCode } from '../../shared/errors.js';
import type { RouteDeclaration } from './route-declaration.js';

/** What any route that reads a JSON body can answer before its handler runs. */
const BODY_ERRORS: readonly ErrorCode[] = ['invalid_request', 'invalid_json', 'payload_too_large', 'unsupported_media_type'];

/**
 * Every error code a route can answer, by status: those it declares, and those its
 * inputs, access rule and limit imply (a body can be malformed, a token missing, a limit
 * spent), plus `500 internal` and `503 unavailable` (PostgreSQL away), which any route may answer.
 */
export function routeErrorsByStatus(route: RouteDeclaration): Map<number, ErrorCode[]> {
  const implied: ErrorCode[] = [];
  if (route.request?.body) implied.push(...BODY_ERRORS);
  if (route.request?.query) implied.push('invalid_request');
  if (route.request?.params) implied.push('not_found');
  if (route.access !== 'public') implied.push('unauthorized');
  if (route.access.startsWith('role:')) implied.push('forbidden');
  if (route.limit) implied.push('rate_limited');
  implied.push('unavailable', 'internal');

  const byStatus = new Map<number, ErrorCode[]>();
  const add = (code: ErrorCode, status: number = ERROR_STATUS[code]) => {
    const codes = byStatus.get(status) ?? [];
    if (!codes.includes(code)) codes.push(code);
    byStatus.set(status, codes);
  };
  for (const error of route.errors ?? []) {
    if (typeof error === 'string') add(error);
    else add(error.code, error.status);
  }
  for (const code of implied) add(code);
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

/** Statuses whose answer tells the client when to come back. */
export const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);
