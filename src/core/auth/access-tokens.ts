import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, decodeProtectedHeader, jwtVerify, errors as joseErrors } from "jose";
import type { Clock } from "../clock.js";
import type { AccessTokenRepository } from "../store/access-tokens.js";
import type { UserRecord, UserRepository } from "../store/users.js";
import type { WriteWatch } from "../store/write-watch.js";
import { SIGNING_ALG, type KeyRing } from "./keys.js";

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  /** `sub`: a user id, or a client id for client_credentials tokens. */
  subject: string;
  clientId: string;
  scopes: string[];
  audience: string[];
  tokenId: string;
  expiresAt: number;
  /** The user behind the token, when the subject is a user. */
  user?: UserRecord;
}

export interface IssueRequest {
  subject: string;
  clientId: string;
  scope: string;
  /** One resource, or several (RFC 8707: a token may be meant for more than one). */
  audience: string | string[];
  ttlSeconds: number;
  grantId?: string;
  userId?: string;
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: number;
}

export interface AccessTokenDeps {
  issuer: string;
  /** Every audience this platform accepts. */
  resources: string[];
  keys: KeyRing;
  tokens: AccessTokenRepository;
  users: UserRepository;
  clock: Clock;
  /**
   * This process's writes to access_tokens, users and signing_keys: any of
   * them drops every remembered verdict (see `verify`'s `recent`). Without
   * it nothing is remembered.
   */
  writes?: WriteWatch;
  /** How long a verdict may be reused by `recent` callers (ms); 1000 by default. */
  recentMs?: number;
}

export interface VerifyOptions {
  /**
   * Accept a verdict this verifier reached at most `recentMs` (one second)
   * ago, provided this process wrote nothing since to the rows it read: a
   * token revoked, a user disabled or a key retired here is refused by the
   * very next call, elsewhere (another replica) within one second. Expiry is
   * checked on every call. For the per-RPC check; explicit verification
   * (VerifyAccessToken, introspection) always reads the database.
   */
  recent?: boolean;
}

/** Remembered verdicts at most; the oldest goes first. */
const MAX_REMEMBERED = 10_000;

/**
 * The one token verifier, and the issuer of RFC 9068 JWT access tokens: ES256,
 * `typ: at+jwt`, claims iss, sub, aud, exp, iat, jti, client_id, scope and no
 * personal data. Each token is also recorded by jti so revocation is immediate.
 */
export function createAccessTokens(deps: AccessTokenDeps) {
  const unauthenticated = (why: string) => new ConnectError(why, Code.Unauthenticated);
  const recentMs = deps.recentMs ?? 1000;
  /** Token (and resource) -> the principal verify() returned, when, and at which write version. */
  const remembered = new Map<string, { principal: Principal; at: number; version: number }>();
  let rememberedAt = 0;
  const checking = new Map<string, { version: number; principal: Promise<Principal> }>();

  /**
   * Checks signature, `typ`, issuer, audience (one of the platform's
   * resources, or exactly `resource` when given), expiry, revocation and the
   * user's standing. Throws ConnectError(Unauthenticated) with the reason.
   */
  async function verifyNow(token: string, resource?: string): Promise<Principal> {
    if (!token || token.length > 8192) throw unauthenticated("access token is missing or malformed");
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      kid = header.kid;
      if (header.alg !== SIGNING_ALG) throw unauthenticated(`access token algorithm ${String(header.alg)} is not accepted`);
    } catch (e) {
      if (e instanceof ConnectError) throw e;
      throw unauthenticated("access token is malformed");
    }
    if (!kid) throw unauthenticated("access token has no key id");
    const key = await deps.keys.verificationKey(kid);
    if (!key) throw unauthenticated("access token was signed by an unknown or expired key");

    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [SIGNING_ALG],
        typ: "at+jwt",
        issuer: deps.issuer,
        audience: resource ? [resource] : deps.resources,
        currentDate: new Date(deps.clock.now()),
        requiredClaims: ["sub", "exp", "iat", "jti", "aud"],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthenticated("access token has expired");
      if (e instanceof joseErrors.JWTClaimValidationFailed) {
        throw unauthenticated(`access token ${e.claim} claim is not accepted here`);
      }
      throw unauthenticated("access token signature or format is invalid");
    }

    const jti = String(payload.jti);
    const record = await deps.tokens.byJti(jti);
    if (!record) throw unauthenticated("access token is not known to this server");
    if (record.revokedAt !== null) throw unauthenticated("access token has been revoked");

    let user: UserRecord | undefined;
    if (record.userId) {
      user = await deps.users.byId(record.userId);
      if (!user) throw unauthenticated("the token's user no longer exists");
      if (user.disabled) throw unauthenticated("the token's user is disabled");
    }
    const scope = typeof payload.scope === "string" ? payload.scope : "";
    return {
      subject: String(payload.sub),
      clientId: typeof payload.client_id === "string" ? payload.client_id : "",
      scopes: scope.split(" ").filter(Boolean),
      audience: Array.isArray(payload.aud) ? payload.aud : [String(payload.aud)],
      tokenId: jti,
      expiresAt: Number(payload.exp) * 1000,
      user,
    };
  }

  return {
    async issue(req: IssueRequest): Promise<IssuedToken> {
      const { kid, key } = await deps.keys.signingKey();
      const now = deps.clock.now();
      const iat = Math.floor(now / 1000);
      const exp = iat + req.ttlSeconds;
      const jti = randomBytes(16).toString("base64url");
      const token = await new SignJWT({ client_id: req.clientId, scope: req.scope })
        .setProtectedHeader({ alg: SIGNING_ALG, typ: "at+jwt", kid })
        .setIssuer(deps.issuer)
        .setSubject(req.subject)
        .setAudience(req.audience)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(key);
      await deps.tokens.insert({
        jti,
        grantId: req.grantId ?? null,
        clientId: req.clientId,
        userId: req.userId ?? null,
        scope: req.scope,
        createdAt: now,
        expiresAt: exp * 1000,
        revokedAt: null,
      });
      return { token, jti, expiresAt: exp * 1000 };
    },

    /** See verifyNow; with `recent`, a verdict reached within the last second may be reused (VerifyOptions). */
    async verify(token: string, resource?: string, opts: VerifyOptions = {}): Promise<Principal> {
      const writes = deps.writes;
      if (!opts.recent || !writes || recentMs <= 0) return verifyNow(token, resource);
      if (writes.version !== rememberedAt) {
        remembered.clear();
        rememberedAt = writes.version;
      }
      const key = resource ? `${resource} ${token}` : token;
      const now = deps.clock.now();
      const hit = remembered.get(key);
      if (hit) {
        if (hit.version === writes.version && now - hit.at < recentMs && hit.at <= now) {
          if (hit.principal.expiresAt <= now) throw unauthenticated("access token has expired");
          return hit.principal;
        }
        remembered.delete(key);
      }
      const version = writes.version;
      // Calls with the same token while one check runs share it (unless this process wrote since it began).
      const running = checking.get(key);
      if (running && running.version === version) return running.principal;
      const principal = verifyNow(token, resource);
      const current = { version, principal };
      checking.set(key, current);
      try {
        const p = await principal;
        // Kept only if nothing was written meanwhile: a revocation racing this read is not papered over.
        if (writes.version === version) {
          if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
          remembered.set(key, { principal: p, at: now, version });
        }
        return p;
      } finally {
        if (checking.get(key) === current) checking.delete(key);
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
