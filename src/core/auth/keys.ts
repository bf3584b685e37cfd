import { randomBytes } from "node:crypto";
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { SigningKeyRecord, SigningKeyRepository } from "../store/signing-keys.js";
import type { Clock } from "../clock.js";

export const SIGNING_ALG = "ES256";

export interface ActiveKey {
  kid: string;
  key: CryptoKey;
}

export interface KeyRing {
  /** Creates the first key when there is none; called at start. */
  ensureKey(): Promise<void>;
  /** The key that signs now. */
  signingKey(): Promise<ActiveKey>;
  /** A public key by kid, for verification; reloads once on an unknown kid (another replica may have rotated). */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** The JWK Set: every key that still verifies, public parts only. */
  jwks(): Promise<{ keys: JWK[] }>;
  /** Adds a key that signs from now on; older keys verify until `verifyFor` ms from now, then leave the JWKS. */
  rotate(verifyFor: number): Promise<string>;
}

const RELOAD_AFTER_MS = 60_000;

/**
 * The ES256 signing keys held by the core. Keys live in the database so that
 * every replica signs and verifies with the same set; each replica caches them
 * and reloads every minute or when it meets a kid it does not know.
 */
export function createKeyRing(repo: SigningKeyRepository, clock: Clock): KeyRing {
  let cache: { loadedAt: number; records: SigningKeyRecord[]; keys: Map<string, { priv: CryptoKey; pub: CryptoKey }> } | undefined;

  async function load(force = false) {
    const now = clock.now();
    if (!force && cache && now - cache.loadedAt < RELOAD_AFTER_MS) return cache;
    const records = await repo.published(now);
    const keys = new Map<string, { priv: CryptoKey; pub: CryptoKey }>();
    for (const r of records) {
      const priv = (await importJWK(JSON.parse(r.privateJwk) as JWK, r.alg)) as CryptoKey;
      const pub = (await importJWK(JSON.parse(r.publicJwk) as JWK, r.alg)) as CryptoKey;
      keys.set(r.kid, { priv, pub });
    }
    cache = { loadedAt: now, records, keys };
    return cache;
  }

  async function create(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const kid = randomBytes(12).toString("base64url");
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: "sig" };
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" };
    await repo.insert({
      kid,
      alg: SIGNING_ALG,
      privateJwk: JSON.stringify(privateJwk),
      publicJwk: JSON.stringify(publicJwk),
      createdAt: clock.now(),
      retiredAt: null,
      expiresAt: null,
    });
    return kid;
  }

  const active = (c: NonNullable<typeof cache>) => c.records.find((r) => r.retiredAt === null);

  return {
    async ensureKey() {
      const c = await load(true);
      if (!active(c)) {
        await create();
        await load(true);
      }
    },
    async signingKey() {
      let c = await load();
      let record = active(c);
      if (!record) {
        c = await load(true);
        record = active(c);
      }
      if (!record) throw new Error("no active signing key; run migrations and start the core");
      return { kid: record.kid, key: c.keys.get(record.kid)!.priv };
    },
    async verificationKey(kid) {
      let c = await load();
      if (!c.keys.has(kid)) c = await load(true);
      const record = c.records.find((r) => r.kid === kid);
      if (!record || (record.expiresAt !== null && record.expiresAt <= clock.now())) return undefined;
      return c.keys.get(kid)?.pub;
    },
    async jwks() {
      const c = await load();
      const now = clock.now();
      return {
        keys: c.records
          .filter((r) => r.expiresAt === null || r.expiresAt > now)
          .map((r) => JSON.parse(r.publicJwk) as JWK),
      };
    },
    async rotate(verifyFor) {
      const kid = await create();
      const now = clock.now();
      await repo.retireOthers(kid, now, now + verifyFor);
      await load(true);
      return kid;
    },
  };
}
