import { z } from 'zod';
import type { SecondFactorMethod } from '../shared/domain/sign-in/start-second-step.js';
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

/** A right password for an account with a second factor: no session yet. */
export const mfaRequiredBody = z
  .object({
    mfa_required: z.literal(true),
    mfa_token: z.string().meta({ description: 'For POST /login/mfa and POST /login/webauthn/*; 5 minutes, spent by the first successful step, dead after 5 wrong codes. Not an access token.' }),
    methods: z.array(z.enum(['totp', 'webauthn', 'recovery_code'])),
  })
  .meta({ id: 'MfaRequired' });

export function mfaRequiredReply(outcome: { mfaToken: string; methods: SecondFactorMethod[] }) {
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: { mfa_required: true, mfa_token: outcome.mfaToken, methods: outcome.methods },
  } as const;
}
