import type { Knex } from "knex";
import { fromJson, toJson, toNumberOrNull } from "./rows.js";

export interface GrantRecord {
  id: string;
  userId: string;
  clientId: string;
  scope: string;
  resources: string[];
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
}

function fromRow(row: Record<string, unknown>): GrantRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    clientId: String(row.client_id),
    scope: String(row.scope),
    resources: fromJson<string[]>(row.resources, []),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastUsedAt: toNumberOrNull(row.last_used_at),
    expiresAt: toNumberOrNull(row.expires_at),
    revokedAt: toNumberOrNull(row.revoked_at),
  };
}

export interface GrantFilter {
  userId?: string;
  clientId?: string;
}

/**
 * Grants: a user's remembered approval of a client for scopes and resources.
 * Every code, refresh token and access token issued under it carries its id,
 * so revoking the grant reaches all of them.
 */
export function createGrantRepository(knex: Knex) {
  /** The query for live (unrevoked) grants matching the filter. */
  const live = (filter: GrantFilter) => {
    let q = knex("grants").whereNull("revoked_at");
    if (filter.userId) q = q.where({ user_id: filter.userId });
    if (filter.clientId) q = q.where({ client_id: filter.clientId });
    return q;
  };
  return {
    async insert(g: GrantRecord): Promise<void> {
      await knex("grants").insert({
        id: g.id,
        user_id: g.userId,
        client_id: g.clientId,
        scope: g.scope,
        resources: toJson(g.resources),
        created_at: g.createdAt,
        updated_at: g.updatedAt,
        last_used_at: g.lastUsedAt,
        expires_at: g.expiresAt,
        revoked_at: g.revokedAt,
      });
    },
    async byId(id: string): Promise<GrantRecord | undefined> {
      const row = await knex("grants").where({ id }).first();
      return row ? fromRow(row) : undefined;
    },
    /** The live grant of a user to a client, newest first (there is normally one). */
    async active(userId: string, clientId: string, now: number): Promise<GrantRecord | undefined> {
      const row = await knex("grants")
        .where({ user_id: userId, client_id: clientId })
        .whereNull("revoked_at")
        .andWhere((w) => w.whereNull("expires_at").orWhere("expires_at", ">", now))
        .orderBy("created_at", "desc")
        .first();
      return row ? fromRow(row) : undefined;
    },
    async widen(id: string, scope: string, resources: string[], now: number): Promise<void> {
      await knex("grants").where({ id }).update({ scope, resources: toJson(resources), updated_at: now });
    },
    async touch(id: string, now: number): Promise<void> {
      await knex("grants").where({ id }).update({ last_used_at: now });
    },
    /** Live grants matching the filter, oldest first. */
    async list(filter: GrantFilter, opts: { offset: number; limit: number }): Promise<GrantRecord[]> {
      const rows = await live(filter).orderBy("created_at", "asc").orderBy("id", "asc").offset(opts.offset).limit(opts.limit);
      return rows.map(fromRow);
    },
    /** Ids of live grants matching the filter (for revoking them all). */
    async liveIds(filter: GrantFilter): Promise<string[]> {
      return (await live(filter).select("id")).map((r: { id: string }) => String(r.id));
    },
    /** How many live grants match the filter. */
    async liveCount(filter: GrantFilter): Promise<number> {
      const row = await live(filter).count({ n: "*" }).first();
      return Number(row?.n ?? 0);
    },
    /**
     * Revokes a grant and everything issued under it, in one transaction:
     * the grant, its unused codes, its refresh tokens and its access tokens
     * (which the verifier then refuses on the very next call).
     * Returns false when the grant was already revoked or does not exist.
     */
    async revoke(id: string, now: number): Promise<boolean> {
      return knex.transaction(async (trx) => {
        const changed = await trx("grants").where({ id }).whereNull("revoked_at").update({ revoked_at: now, updated_at: now });
        await trx("access_tokens").where({ grant_id: id }).whereNull("revoked_at").update({ revoked_at: now });
        await trx("refresh_tokens").where({ grant_id: id }).whereNull("revoked_at").update({ revoked_at: now });
        await trx("authorization_codes").where({ grant_id: id }).whereNull("consumed_at").update({ consumed_at: now });
        return changed > 0;
      });
    },
    async activeRefreshCount(id: string, now: number): Promise<number> {
      const row = await knex("refresh_tokens")
        .where({ grant_id: id })
        .whereNull("revoked_at")
        .whereNull("used_at")
        .andWhere("expires_at", ">", now)
        .count({ n: "*" })
        .first();
      return Number(row?.n ?? 0);
    },
  };
}

export type GrantRepository = ReturnType<typeof createGrantRepository>;
