import type { IssuedTokens } from '../shared/domain/open-session.js';

/** The login and refresh answer: the contract's token body, never kept by a cache on the way (RFC 6749, 5.1). */
export function tokenReply(issued: IssuedTokens) {
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: {
      token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      refresh_token: issued.refreshToken,
    },
  } as const;
}
