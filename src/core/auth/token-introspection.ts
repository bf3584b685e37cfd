import { decodeJwt } from "jose";
import type { Clock } from "../clock.js";
import { hashSecret } from "../ids.js";
import type { AccessTokenRepository } from "../store/access-tokens.js";
import type { RefreshTokenRepository } from "../store/refresh-tokens.js";
import type { AccessTokens } from "./access-tokens.js";
import type { ClientAuthenticator, PresentedCredentials } from "./client-auth.js";
import type { Grants } from "./grants.js";
import { invalidClient } from "./oauth-errors.js";

export interface TokenIntrospectionDeps {
  issuer: string;
  clientAuth: ClientAuthenticator;
  accessTokens: AccessTokens;
  accessTokenRows: AccessTokenRepository;
  refreshTokens: RefreshTokenRepository;
  grants: Grants;
  clock: Clock;
}

function looksLikeJwt(token: string): boolean {
  return token.split(".").length === 3;
}

/**
 * Revocation (RFC 7009) and introspection (RFC 7662). Revoking a refresh
 * token revokes its whole grant; revoking an access token marks its jti, which
 * the one verifier then refuses. Unknown tokens are fine to revoke (200) and
 * introspect as {"active": false}.
 */
export function createTokenIntrospection(deps: TokenIntrospectionDeps) {
  async function jtiOf(token: string): Promise<string | undefined> {
    try {
      const claims = decodeJwt(token);
      return typeof claims.jti === "string" ? claims.jti : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async revoke(req: { token: string; tokenTypeHint: string; client: PresentedCredentials }): Promise<void> {
      const auth = await deps.clientAuth.authenticate(req.client);
      const token = req.token;
      if (!token || token.length > 8192) return;
      const now = deps.clock.now();
      if (!looksLikeJwt(token) && token.length <= 200) {
        const refresh = await deps.refreshTokens.byHash(hashSecret(token));
        if (refresh && refresh.clientId === auth.client.clientId) await deps.grants.revoke(refresh.grantId);
        return;
      }
      const jti = await jtiOf(token);
      if (!jti) return;
      const row = await deps.accessTokenRows.byJti(jti);
      // A token of another client is left alone (RFC 7009 2.1), without telling.
      if (row && row.clientId === auth.client.clientId) await deps.accessTokenRows.revoke(jti, now);
    },

    async introspect(req: { token: string; tokenTypeHint: string; client: PresentedCredentials }): Promise<Record<string, unknown>> {
      const auth = await deps.clientAuth.authenticate(req.client);
      if (!auth.confidential) throw invalidClient("introspection needs client authentication (a confidential client)");
      const token = req.token;
      const inactive = { active: false };
      if (!token || token.length > 8192) return inactive;
      if (looksLikeJwt(token)) {
        try {
          const p = await deps.accessTokens.verify(token);
          const row = await deps.accessTokenRows.byJti(p.tokenId);
          return {
            active: true,
            token_type: "Bearer",
            scope: p.scopes.join(" "),
            client_id: p.clientId,
            sub: p.subject,
            aud: p.audience.length === 1 ? p.audience[0] : p.audience,
            iss: deps.issuer,
            exp: Math.floor(p.expiresAt / 1000),
            iat: row ? Math.floor(row.createdAt / 1000) : undefined,
            jti: p.tokenId,
            ...(p.user ? { username: p.user.email } : {}),
          };
        } catch {
          return inactive;
        }
      }
      if (token.length > 200) return inactive;
      const refresh = await deps.refreshTokens.byHash(hashSecret(token));
      const now = deps.clock.now();
      if (
        !refresh ||
        refresh.clientId !== auth.client.clientId ||
        refresh.revokedAt !== null ||
        refresh.usedAt !== null ||
        refresh.expiresAt <= now ||
        !(await deps.grants.live(refresh.grantId))
      ) {
        return inactive;
      }
      return {
        active: true,
        token_type: "refresh_token",
        scope: refresh.scope,
        client_id: refresh.clientId,
        sub: refresh.userId,
        iss: deps.issuer,
        exp: Math.floor(refresh.expiresAt / 1000),
        iat: Math.floor(refresh.createdAt / 1000),
      };
    },
  };
}

export type TokenIntrospection = ReturnType<typeof createTokenIntrospection>;
