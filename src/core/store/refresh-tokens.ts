import type { Knex } from "knex";
import { fromJson, toJson, toNumberOrNull } from "./rows.js";

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  clientId: string;
  userId: string;
  scope: string;
  resources: string[];
  /** The token this one replaced (rotation), if any. */
  parentHash: string | null;
  authTime: number | null;
  createdAt: number;
  /** The family's end: rotation never extends it. */
  expiresAt: number;
  usedAt: number | null;
  revokedAt: number | null;
}

function fromRow(row: Record<string, unknown>): RefreshTokenRecord {
  return {
    tokenHash: String(row.token_hash),
    grantId: String(row.grant_id),
    clientId: String(row.client_id),
    userId: String(row.user_id),
    scope: String(row.scope),
    resources: fromJson<string[]>(row.resources, []),
    parentHash: (row.parent_hash as string | null) ?? null,
    authTime: toNumberOrNull(row.auth_time),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: toNumberOrNull(row.used_at),
    revokedAt: toNumberOrNull(row.revoked_at),
  };
}

/** Opaque refresh tokens, stored by hash, rotated on every use. */
export function createRefreshTokenRepository(knex: Knex) {
  return {
    async insert(t: RefreshTokenRecord): Promise<void> {
      await knex("refresh_tokens").insert({
        token_hash: t.tokenHash,
        grant_id: t.grantId,
        client_id: t.clientId,
        user_id: t.userId,
        scope: t.scope,
        resources: toJson(t.resources),
        parent_hash: t.parentHash,
        auth_time: t.authTime,
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        used_at: t.usedAt,
        revoked_at: t.revokedAt,
      });
    },
    async byHash(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
      const row = await knex("refresh_tokens").where({ token_hash: tokenHash }).first();
      return row ? fromRow(row) : undefined;
    },
    async children(parentHash: string): Promise<RefreshTokenRecord[]> {
      const rows = await knex("refresh_tokens").where({ parent_hash: parentHash });
      return rows.map(fromRow);
    },
    /** Marks the token used; true for exactly one caller (conditional UPDATE, safe across replicas). */
    async markUsed(tokenHash: string, now: number): Promise<boolean> {
      const n = await knex("refresh_tokens").where({ token_hash: tokenHash }).whereNull("used_at").whereNull("revoked_at").update({ used_at: now });
      return n === 1;
    },
    /** Retires an unused successor so its predecessor may be replayed once; true for exactly one caller. */
    async retireUnused(tokenHash: string, now: number): Promise<boolean> {
      const n = await knex("refresh_tokens").where({ token_hash: tokenHash }).whereNull("used_at").whereNull("revoked_at").update({ revoked_at: now });
      return n === 1;
    },
    async purge(before: number): Promise<number> {
      return knex("refresh_tokens").where("expires_at", "<", before).delete();
    },
  };
}

export type RefreshTokenRepository = ReturnType<typeof createRefreshTokenRepository>;
