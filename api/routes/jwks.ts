import crypto from 'node:crypto';
import Router from '@koa/router';
import { JWKS_MAX_AGE_SECONDS } from '../../shared/config/config.js';
import type { Services } from '../../shared/services.js';

/**
 * GET /.well-known/jwks.json: the public signing keys (the one that signs, the next one
 * while a handover is pending, and retired ones whose tokens may still be live).
 * Clients may cache it for JWKS_MAX_AGE_SECONDS: a new key is published that long plus
 * one key reload before it signs (the default SIGNING_KEY_PUBLISH_LEAD_SECONDS), so a
 * cached set holds the key of any token a client can receive. The ETag lets a client
 * revalidate for free.
 */
export function jwksRoutes({ keys }: Pick<Services, 'keys'>): Router {
  return new Router().get('/.well-known/jwks.json', (ctx) => {
    const jwks = keys.publicJwks();
    const body = JSON.stringify(jwks);
    ctx.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    ctx.etag = crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27);
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'application/json';
    ctx.body = body;
  });
}
