import crypto from 'node:crypto';
import { z } from 'zod';
import { JWKS_MAX_AGE_SECONDS } from '../../shared/config/config.js';
import { defineRoute } from '../contract/route-declaration.js';

const jwk = z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(), alg: z.literal('ES256'), use: z.literal('sig') });

/**
 * The public signing keys: the one that signs, the next one while a handover is pending,
 * and retired ones whose tokens may still be live. Clients may cache it for
 * JWKS_MAX_AGE_SECONDS: a new key is published that long plus one key reload before it
 * signs (the default SIGNING_KEY_PUBLISH_LEAD_SECONDS), so a cached set holds the key of
 * any token a client can receive. The ETag lets a client revalidate for free.
 */
export const jwksRoute = defineRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  operationId: 'jwks',
  summary: 'The public keys that verify access tokens (JWKS)',
  tag: 'Keys',
  access: 'public',
  responses: {
    200: { description: `The key set (RFC 7517); cacheable for ${JWKS_MAX_AGE_SECONDS} s.`, json: z.object({ keys: z.array(jwk) }).meta({ id: 'Jwks' }) },
    304: { description: 'The key set is the one the client holds (If-None-Match).' },
  },
}).handle(({ ctx, services }) => {
  const jwks = services.keys.publicJwks();
  ctx.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
  ctx.etag = crypto.createHash('sha256').update(JSON.stringify(jwks)).digest('base64url').slice(0, 27);
  // ctx.fresh compares the request's validators with this response's, which needs a 2xx status.
  ctx.status = 200;
  return ctx.fresh ? { status: 304 } : { status: 200, body: jwks };
});
