import type { Knex } from "knex";
import { toNumberOrNull } from "./rows.js";

export interface AccessTokenRecord {
  jti: string;
  grantId: string | null;
  clientId: string;
  userId: string | null;
  scope: string;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

/** Issued access tokens by jti: the JWT is self-contained, this row is what lets it be revoked. */
export function createAccessTokenRepository(knex: Knex) {
  return {
    async insert(t: AccessTokenRecord): Promise<void> {
      await knex("access_tokens").insert({
        jti: t.jti,
        grant_id: t.grantId,
        client_id: t.clientId,
        user_id: t.userId,
        scope: t.scope,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        revoked_at: t.revokedAt,
      });
    },
    /**
     * The token's row; revokedAt is also set when its grant has been revoked, so
     * a token issued while a replay was revoking its grant is refused all the same.
     */
    async byJti(jti: string): Promise<AccessTokenRecord | undefined> {
      const row = await knex("access_tokens as t")
        .leftJoin("grants as g", "g.id", "t.grant_id")
        .where("t.jti", jti)
        .first("t.*", { grant_revoked_at: "g.revoked_at" });
      if (!row) return undefined;
      const revoked = [toNumberOrNull(row.revoked_at), toNumberOrNull(row.grant_revoked_at)].filter((n): n is number => n !== null);
      return {
        jti: String(row.jti),
        grantId: row.grant_id ?? null,
        clientId: String(row.client_id),
        userId: row.user_id ?? null,
        scope: String(row.scope),
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
        revokedAt: revoked.length ? Math.min(...revoked) : null,
      };
    },
    async revoke(jti: string, now: number): Promise<void> {
      await knex("access_tokens").where({ jti }).whereNull("revoked_at").update({ revoked_at: now });
    },
    /** Revokes every live access token issued to a client (client deleted). */
    async revokeByClient(clientId: string, now: number): Promise<void> {
      await knex("access_tokens").where({ client_id: clientId }).whereNull("revoked_at").update({ revoked_at: now });
    },
    /** Forgets rows of tokens that have expired anyway. */
    async purgeExpired(now: number): Promise<number> {
      return knex("access_tokens").where("expires_at", "<", now).delete();
    },
  };
}

export type AccessTokenRepository = ReturnType<typeof createAccessTokenRepository>;
