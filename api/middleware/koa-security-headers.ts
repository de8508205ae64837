import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import type { Config } from '../../shared/config/config.js';

type HeaderValue = string | number | readonly string[];

/**
 * helmet's options for an install served at `publicUrl`. Strict-Transport-Security and
 * CSP's upgrade-insecure-requests tell a browser to use https for this host from now on;
 * sent over plain http (a local install at http://localhost), they would send it to an
 * https port that does not exist. So they go only with an https PUBLIC_URL.
 */
function helmetOptions(publicUrl: string): Parameters<typeof helmet>[0] {
  if (new URL(publicUrl).protocol === 'https:') return {};
  return { strictTransportSecurity: false, contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };
}

/**
 * helmet's default headers (less the https-only ones when PUBLIC_URL is http), worked
 * out once at startup: they depend on nothing in the request, so running helmet's dozen
 * middlewares on every request only repeats the same setHeader calls. The set is read
 * from helmet itself (run once against a recording response), so it stays exactly what
 * helmet sends, also after a helmet upgrade.
 */
export function securityHeaders(config: Pick<Config, 'publicUrl'>): Middleware {
  const headers: Array<[string, HeaderValue]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: HeaderValue) => headers.push([name, value]),
    removeHeader: (name: string) => removed.push(name),
  };
  const next = () => Promise.resolve();
  void helmet(helmetOptions(config.publicUrl))({ req: {}, res: recorder } as unknown as Parameters<Middleware>[0], next);
  // helmet sets its headers synchronously; if a version ever did not, fail at startup rather than send none.
  if (headers.length === 0) throw new Error('helmet set no headers synchronously: the security header set cannot be precomputed');
  return (ctx, next) => {
    const { res } = ctx;
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of headers) res.setHeader(name, value);
    return next();
  };
}
