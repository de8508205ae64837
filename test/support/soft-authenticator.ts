import crypto from 'node:crypto';

/*
 * A WebAuthn authenticator in software, for tests in Node: a P-256 key from node:crypto,
 * attestation `none`, and the browser's part too (clientDataJSON). Only what the service
 * reads is built, by hand, so the test does not trust the library it tests: CBOR for the
 * attestation object and the COSE key, authenticatorData with its flags and counter, and
 * an ES256 signature over authenticatorData || SHA-256(clientDataJSON).
 */

/** Minimal CBOR (RFC 8949): unsigned and negative integers, byte and text strings, maps. */
type Cbor = number | string | Buffer | Map<Cbor, Cbor>;

function cborHead(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  const head = Buffer.alloc(5);
  head[0] = (major << 5) | 26;
  head.writeUInt32BE(length, 1);
  return head;
}

export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, bytes.length), bytes]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([cborHead(2, value.length), value]);
  return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])]);
}

const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest();

export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

export interface CeremonyOverrides {
  /** The page's origin the browser would write into clientDataJSON. */
  origin?: string;
  /** The RP id whose hash authenticatorData carries. */
  rpId?: string;
  /** The signature counter to report (default: one more than the last). */
  counter?: number;
  userVerified?: boolean;
  /** The challenge to sign instead of the options' one. */
  challenge?: string;
}

interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
  pubKeyCredParams: Array<{ alg: number }>;
  excludeCredentials?: Array<{ id: string }>;
}

interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

export class SoftAuthenticator {
  readonly credentialId = crypto.randomBytes(32).toString('base64url');
  private readonly keys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  /** The last counter reported. */
  counter = 0;
  /** The user handle of the registration (base64url), given back in assertions as a passkey does. */
  userHandle: string | undefined;

  constructor(
    private readonly rpId: string,
    private readonly origin: string,
    private readonly options: { backupEligible?: boolean } = {},
  ) {}

  /** The COSE_Key of the public key: kty EC2, alg ES256, crv P-256, x, y. */
  private coseKey(): Buffer {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    return cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }

  private flags(userVerified: boolean, attested: boolean): number {
    let flags = FLAGS.UP | (userVerified ? FLAGS.UV : 0) | (attested ? FLAGS.AT : 0);
    if (this.options.backupEligible) flags |= FLAGS.BE | FLAGS.BS;
    return flags;
  }

  private authenticatorData(rpId: string, flags: number, counter: number, attestedCredentialData?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attestedCredentialData ? [attestedCredentialData] : [])]);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  /** navigator.credentials.create(...).toJSON(), as a browser with this authenticator answers. */
  register(options: CreationOptionsJSON, overrides: CeremonyOverrides = {}) {
    if (!options.pubKeyCredParams.some((param) => param.alg === -7)) throw new Error('the options do not offer ES256');
    if (options.excludeCredentials?.some((credential) => credential.id === this.credentialId)) throw new Error('InvalidStateError: this credential is excluded');
    this.userHandle = options.user.id;
    const rawId = Buffer.from(this.credentialId, 'base64url');
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(rawId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, rawId, this.coseKey()]);
    this.counter = overrides.counter ?? 0;
    const authData = this.authenticatorData(overrides.rpId ?? options.rp.id ?? this.rpId, this.flags(overrides.userVerified ?? true, true), this.counter, attested);
    const attestationObject = cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: this.clientData('webauthn.create', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin).toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        transports: ['internal'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: { credProps: { rk: true } },
    };
  }

  /** navigator.credentials.get(...).toJSON(): an assertion signed with this credential's key. */
  assert(options: RequestOptionsJSON, overrides: CeremonyOverrides = {}) {
    if (options.allowCredentials?.length && !options.allowCredentials.some((credential) => credential.id === this.credentialId)) {
      throw new Error('NotAllowedError: this credential is not allowed');
    }
    this.counter = overrides.counter ?? this.counter + 1;
    const authData = this.authenticatorData(overrides.rpId ?? options.rpId ?? this.rpId, this.flags(overrides.userVerified ?? true, false), this.counter);
    const clientDataJSON = this.clientData('webauthn.get', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    const signature = crypto.sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.keys.privateKey);
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
