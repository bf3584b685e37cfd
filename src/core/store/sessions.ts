import type { Knex } from "knex";

export interface LoginSessionRecord {
  idHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  remoteAddress: string | null;
  userAgent: string | null;
}

function fromRow(row: Record<string, unknown>): LoginSessionRecord {
  return {
    idHash: String(row.id_hash),
    userId: String(row.user_id),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    lastSeenAt: Number(row.last_seen_at),
    remoteAddress: (row.remote_address as string | null) ?? null,
    userAgent: (row.user_agent as string | null) ?? null,
  };
}

/** Browser login sessions, by the hash of the cookie value. */
export function createSessionRepository(knex: Knex) {
  return {
    async insert(s: LoginSessionRecord): Promise<void> {
      await knex("login_sessions").insert({
        id_hash: s.idHash,
        user_id: s.userId,
        created_at: s.createdAt,
        expires_at: s.expiresAt,
        last_seen_at: s.lastSeenAt,
        remote_address: s.remoteAddress,
        user_agent: s.userAgent,
      });
    },
    async byHash(idHash: string): Promise<LoginSessionRecord | undefined> {
      const row = await knex("login_sessions").where({ id_hash: idHash }).first();
      return row ? fromRow(row) : undefined;
    },
    async delete(idHash: string): Promise<void> {
      await knex("login_sessions").where({ id_hash: idHash }).delete();
    },
    async deleteForUser(userId: string): Promise<void> {
      await knex("login_sessions").where({ user_id: userId }).delete();
    },
    async purge(now: number): Promise<number> {
      return knex("login_sessions").where("expires_at", "<", now).delete();
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
