import type { Middleware } from 'koa';
import helmet from 'koa-helmet';

type HeaderValue = string | number | readonly string[];

/**
 * helmet's default headers, worked out once at startup: they depend on nothing in the
 * request, so running helmet's dozen middlewares on every request only repeats the same
 * setHeader calls. The set is read from helmet itself (run once against a recording
 * response), so it stays exactly what helmet() sends, also after a helmet upgrade.
 */
export function securityHeaders(): Middleware {
  const headers: Array<[string, HeaderValue]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: HeaderValue) => headers.push([name, value]),
    removeHeader: (name: string) => removed.push(name),
  };
  const next = () => Promise.resolve();
  void helmet()({ req: {}, res: recorder } as unknown as Parameters<Middleware>[0], next);
  // helmet sets its headers synchronously; if a version ever did not, fail at startup rather than send none.
  if (headers.length === 0) throw new Error('helmet set no headers synchronously: the security header set cannot be precomputed');
  return (ctx, next) => {
    const { res } = ctx;
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of headers) res.setHeader(name, value);
    return next();
  };
}
