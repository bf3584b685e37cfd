import type { Knex } from "knex";

/** The jti of every private_key_jwt assertion seen, until it expires, so none is accepted twice. */
export function createClientAssertionRepository(knex: Knex) {
  return {
    /** Records the jti; false when it was already seen (a replay). The primary key decides, on any replica. */
    async remember(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
      try {
        await knex("client_assertions").insert({ client_id: clientId, jti, expires_at: expiresAt });
        return true;
      } catch (e) {
        if (await knex("client_assertions").where({ client_id: clientId, jti }).first()) return false;
        throw e;
      }
    },
    async purge(now: number): Promise<number> {
      return knex("client_assertions").where("expires_at", "<", now).delete();
    },
  };
}

export type ClientAssertionRepository = ReturnType<typeof createClientAssertionRepository>;
