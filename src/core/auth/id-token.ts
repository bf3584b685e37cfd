import { SignJWT } from "jose";
import type { Clock } from "../clock.js";
import type { UserRecord } from "../store/users.js";
import { SIGNING_ALG, type KeyRing } from "./keys.js";

/**
 * OpenID Connect id_token: ES256 with the platform's signing key, aud = the
 * client, the login's auth_time and the request's nonce, plus name/email
 * claims only when profile/email were granted.
 */
export function createIdTokens(deps: { issuer: string; keys: KeyRing; clock: Clock; ttlSeconds: number }) {
  return {
    async issue(req: { user: UserRecord; clientId: string; scopes: string[]; nonce?: string | null; authTime?: number | null }): Promise<string> {
      const { kid, key } = await deps.keys.signingKey();
      const iat = Math.floor(deps.clock.now() / 1000);
      const claims: Record<string, unknown> = {};
      if (req.nonce) claims.nonce = req.nonce;
      if (req.authTime) claims.auth_time = Math.floor(req.authTime / 1000);
      if (req.scopes.includes("profile")) claims.name = req.user.name;
      if (req.scopes.includes("email")) {
        claims.email = req.user.email;
        claims.email_verified = false;
      }
      return new SignJWT(claims)
        .setProtectedHeader({ alg: SIGNING_ALG, typ: "JWT", kid })
        .setIssuer(deps.issuer)
        .setSubject(req.user.id)
        .setAudience(req.clientId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + deps.ttlSeconds)
        .sign(key);
    },
  };
}

export type IdTokens = ReturnType<typeof createIdTokens>;
