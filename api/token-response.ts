import type { Context } from 'koa';

export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

/** The login and refresh answer: the contract's token body, never kept by a cache on the way (RFC 6749, 5.1). */
export function respondWithTokens(ctx: Context, issued: IssuedTokens): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    refresh_token: issued.refreshToken,
  };
}
