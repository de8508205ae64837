import net from 'node:net';
import type { ClientInfo } from '../../shared/domain/login-user.js';
import type { AppContext, AppMiddleware } from '../app-state.js';

function clean(address: string | undefined): string | undefined {
  const ip = address?.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return ip && net.isIP(ip) ? ip : undefined;
}

/**
 * Sets ctx.state.clientIp. The socket's address is the truth unless TRUST_PROXY_HOPS
 * proxies sit in front: then the entry that many hops from the right of
 * X-Forwarded-For is used, so a client cannot forge its way past a limit.
 */
export function clientIp(trustProxyHops: number): AppMiddleware {
  return async (ctx, next) => {
    let ip = clean(ctx.req.socket.remoteAddress);
    if (trustProxyHops > 0) {
      const forwarded = ctx.get('x-forwarded-for').split(',').filter((part) => part.trim() !== '');
      ip = clean(forwarded[forwarded.length - trustProxyHops]) ?? ip;
    }
    ctx.state.clientIp = ip;
    return next();
  };
}

/** Who signs in, as login_attempts records it: the client IP and the user agent (bounded). */
export function clientInfo(ctx: AppContext): ClientInfo {
  return { ip: ctx.state.clientIp, userAgent: ctx.get('user-agent').slice(0, 512) || undefined };
}
