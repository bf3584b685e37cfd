import type { Knex } from "knex";
import { fromJson, toJson, toNumberOrNull } from "./rows.js";

export interface CodeRecord {
  codeHash: string;
  grantId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  resources: string[];
  nonce: string | null;
  authTime: number | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

function fromRow(row: Record<string, unknown>): CodeRecord {
  return {
    codeHash: String(row.code_hash),
    grantId: String(row.grant_id),
    clientId: String(row.client_id),
    userId: String(row.user_id),
    redirectUri: String(row.redirect_uri),
    codeChallenge: String(row.code_challenge),
    scope: String(row.scope),
    resources: fromJson<string[]>(row.resources, []),
    nonce: (row.nonce as string | null) ?? null,
    authTime: toNumberOrNull(row.auth_time),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    consumedAt: toNumberOrNull(row.consumed_at),
  };
}

/** Authorization codes, stored by hash; single use is enforced by a conditional update. */
export function createCodeRepository(knex: Knex) {
  return {
    async insert(c: CodeRecord): Promise<void> {
      await knex("authorization_codes").insert({
        code_hash: c.codeHash,
        grant_id: c.grantId,
        client_id: c.clientId,
        user_id: c.userId,
        redirect_uri: c.redirectUri,
        code_challenge: c.codeChallenge,
        scope: c.scope,
        resources: toJson(c.resources),
        nonce: c.nonce,
        auth_time: c.authTime,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        consumed_at: c.consumedAt,
      });
    },
    async byHash(codeHash: string): Promise<CodeRecord | undefined> {
      const row = await knex("authorization_codes").where({ code_hash: codeHash }).first();
      return row ? fromRow(row) : undefined;
    },
    /**
     * Marks the code used. True for exactly one caller, whichever replica it
     * runs on: the UPDATE only matches while consumed_at is still NULL.
     */
    async consume(codeHash: string, now: number): Promise<boolean> {
      const n = await knex("authorization_codes").where({ code_hash: codeHash }).whereNull("consumed_at").update({ consumed_at: now });
      return n === 1;
    },
    /** Forgets codes that expired long enough ago that a replay no longer matters. */
    async purge(before: number): Promise<number> {
      return knex("authorization_codes").where("expires_at", "<", before).delete();
    },
  };
}

export type CodeRepository = ReturnType<typeof createCodeRepository>;
