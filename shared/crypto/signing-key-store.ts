import crypto, { type JsonWebKey, type KeyObject } from 'node:crypto';
import { findPublishedSigningKeys } from '../db/queries/signing-keys.js';
import type { Pool } from '../db/pool.js';
import { ensureSigningKey } from '../domain/rotate-signing-key.js';
import type { Logger } from '../logger.js';
import type { SecretBox } from './secret-box.js';

export interface ActiveKey {
  kid: string;
  privateKey: KeyObject;
}

export interface SigningKeySettings {
  /** How often the keys are read again, so a rotation made elsewhere is picked up (SIGNING_KEY_RELOAD_SECONDS). */
  reloadIntervalMs: number;
  /**
   * How long a key still verifies (and is published) after its retirement: the longest
   * a token it signed can live. The access-token TTL, plus the reload interval (a
   * process that has not reloaded yet may still sign with it), plus the clock tolerance.
   */
  retiredKeyGraceSeconds: number;
}

interface Signer extends ActiveKey {
  /** When it hands signing over to its successor (epoch ms); Infinity for the newest key. */
  retiresAt: number;
}

/** A public key as JWKS publishes it (RFC 7517, 7518: an EC P-256 key for ES256). */
export type PublishedJwk = {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
};

interface Verifier {
  key: KeyObject;
  jwk: PublishedJwk;
  /** Epoch ms after which no token it signed can be live any more. */
  validUntil: number;
}

/** How often an unknown kid may trigger a reload, so forged kids cannot flood the database. */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/**
 * ES256 signing keys kept in PostgreSQL (private halves encrypted), cached in memory and
 * read again every reload interval, so every process follows a rotation made by another
 * one. A rotation publishes the new key at once and schedules the old one to retire
 * later; the store signs with the old key until that moment, then with the new one.
 */
export class SigningKeyStore {
  private signers: Signer[] = [];
  private verifiers = new Map<string, Verifier>();
  private loadedAt = 0;
  /** The signing key as of the last load, to log a switch once. */
  private signingKid: string | undefined;
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
    private readonly settings: SigningKeySettings,
    private readonly log?: Logger,
  ) {}

  /** Loads the keys (creating the first one on an empty database) and starts the periodic reload. */
  async init(): Promise<void> {
    await this.reload();
    if (this.signers.length === 0) {
      await ensureSigningKey(this.pool, this.box);
      await this.reload();
    }
    if (this.signers.length === 0) throw new Error('no signing key after creating one');
    this.timer ??= setInterval(() => {
      this.reload().catch((error: Error) => this.log?.warn({ reason: error.message }, 'signing keys could not be reloaded; keeping the ones in memory'));
    }, this.settings.reloadIntervalMs);
    // The reload never keeps a process (or a one-shot script) alive on its own.
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The key to sign with now: the earliest not yet retired (the old one until a pending handover). */
  signingKey(): ActiveKey {
    const now = Date.now();
    const signer = this.signers.find((candidate) => candidate.retiresAt > now);
    if (!signer) throw new Error('SigningKeyStore.init() was not awaited');
    return { kid: signer.kid, privateKey: signer.privateKey };
  }

  /** The public key for a kid while its tokens may be live; an unknown kid reloads (rate-limited). */
  async publicKey(kid: string): Promise<KeyObject | undefined> {
    if (!this.verifiers.has(kid) && Date.now() - this.loadedAt >= UNKNOWN_KID_RELOAD_MS) {
      // A failed read leaves the kid unknown (401), never a 500 chosen by the token's sender.
      await this.reload().catch((error: Error) => this.log?.warn({ reason: error.message }, 'signing keys could not be reloaded'));
    }
    const verifier = this.verifiers.get(kid);
    return verifier && Date.now() < verifier.validUntil ? verifier.key : undefined;
  }

  /** The JSON Web Key Set: the key that signs, the next one when a handover is pending, and retired keys still valid. */
  publicJwks(): { keys: PublishedJwk[] } {
    const now = Date.now();
    return { keys: [...this.verifiers.values()].filter((verifier) => now < verifier.validUntil).map((verifier) => verifier.jwk) };
  }

  /** Reads the keys again now; concurrent callers share one read. */
  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const { retiredKeyGraceSeconds } = this.settings;
    const rows = await findPublishedSigningKeys(this.pool, retiredKeyGraceSeconds);
    const now = Date.now();
    const signers: Signer[] = [];
    const verifiers = new Map<string, Verifier>();
    for (const row of rows) {
      const retiresAt = row.retired_at?.getTime() ?? Infinity;
      if (retiresAt > now) {
        // Only keys that sign now or soon are decrypted; retired ones need just their public half.
        const privateKey = crypto.createPrivateKey(this.box.decrypt(row.private_key_encrypted));
        signers.push({ kid: row.kid, privateKey, retiresAt });
      }
      verifiers.set(row.kid, {
        key: crypto.createPublicKey({ key: row.public_jwk, format: 'jwk' }),
        // Only P-256 keys are ever generated (signing-key-material.ts).
        jwk: { ...(row.public_jwk as Omit<PublishedJwk, 'kid' | 'alg' | 'use'>), kid: row.kid, alg: 'ES256', use: 'sig' },
        validUntil: retiresAt + retiredKeyGraceSeconds * 1000,
      });
    }
    signers.sort((a, b) => a.retiresAt - b.retiresAt);
    this.signers = signers;
    this.verifiers = verifiers;
    this.loadedAt = Date.now();
    // Logged at the first reload after a handover: when this process is known to have switched.
    const kid = signers[0]?.kid;
    if (this.signingKid !== undefined && kid !== this.signingKid) this.log?.info({ kid, previous_kid: this.signingKid }, 'signing with a new key');
    this.signingKid = kid;
  }
}
