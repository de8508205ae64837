import { generate, generateSecret, generateURI, verify } from 'otplib';

/**
 * TOTP as authenticator apps do it (RFC 6238): SHA-1, 6 digits, 30 s steps, through
 * otplib. One step of clock drift is accepted either way; a matched step is returned so
 * the caller can refuse it, and every earlier one, from then on (the replay rule).
 */
export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either way: ±30 s. */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;
/** 160 bits, as RFC 4226 recommends for SHA-1. */
const SECRET_BYTES = 20;

const SETTINGS = { algorithm: 'sha1', digits: DIGITS, period: TOTP_PERIOD_SECONDS } as const;

/** A new Base32 secret. */
export function newTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

/** The otpauth://totp/ URI an authenticator app scans. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({ ...SETTINGS, secret, issuer, label: account });
}

/** The code at a time (epoch seconds): for tests and the RFC vectors. */
export function totpCodeAt(secret: string | Uint8Array, epochSeconds: number): Promise<string> {
  return generate({ ...SETTINGS, secret, epoch: epochSeconds });
}

/**
 * The time step a code matches, within one step of `epochSeconds` and later than
 * `afterStep` (the last step accepted before, if any); undefined when it matches none.
 */
export async function matchTotpCode(
  secret: string | Uint8Array,
  code: string,
  { epochSeconds = Date.now() / 1000, afterStep }: { epochSeconds?: number; afterStep?: number } = {},
): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verify({
    ...SETTINGS,
    secret,
    token: code,
    epoch: epochSeconds,
    epochTolerance: TOLERANCE_SECONDS,
    ...(afterStep === undefined ? {} : { afterTimeStep: afterStep }),
  });
  // A TOTP match names its time step (otplib's union type also covers HOTP's, which has none).
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
