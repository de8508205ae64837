import type { ClientInfo } from '../shared/domain/login-user.js';
import type { AppContext } from './app-state.js';

/** Who is signing in, as login_attempts and the anomaly scoring see it: the client's IP and a bounded user agent. */
export function clientOf(ctx: AppContext): ClientInfo {
  return { ip: ctx.state.clientIp, userAgent: ctx.get('user-agent').slice(0, 512) || undefined };
}
