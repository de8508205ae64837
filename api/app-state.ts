import type Koa from 'koa';
import type { Logger } from '../shared/logger.js';

/** Who the request is for, once a Bearer access token and its live session checked out. */
export interface AuthState {
  userId: string;
  sessionId: string;
}

/**
 * What the middleware puts in `ctx.state`, in the order they run: the security headers
 * and liveness fast path first (requestId), then client IP, then the request context
 * (log). `auth` is set on the routes whose declaration requires a token.
 */
export interface AppState {
  requestId: string;
  /** performance.now() when the request reached the app (POST /password/forgot pads its answer from here). */
  receivedAt: number;
  clientIp: string | undefined;
  /** The request's own logger: every line names the request id. */
  log: Logger;
  auth?: AuthState;
}

export type AppContext = Koa.ParameterizedContext<AppState>;
export type AppMiddleware = Koa.Middleware<AppState>;
