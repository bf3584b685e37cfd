import type { Knex } from "knex";
import { toNumberOrNull } from "./rows.js";

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: number;
  /** From this time on the key only verifies. */
  retiredAt: number | null;
  /** From this time on the key leaves the JWKS. */
  expiresAt: number | null;
}

function fromRow(row: Record<string, unknown>): SigningKeyRecord {
  return {
    kid: String(row.kid),
    alg: String(row.alg),
    privateJwk: String(row.private_jwk),
    publicJwk: String(row.public_jwk),
    createdAt: Number(row.created_at),
    retiredAt: toNumberOrNull(row.retired_at),
    expiresAt: toNumberOrNull(row.expires_at),
  };
}

/** The signing_keys table. Private keys are stored whole and never logged. */
export function createSigningKeyRepository(knex: Knex) {
  return {
    /** Keys still published (not yet expired), newest first. */
    async published(now: number): Promise<SigningKeyRecord[]> {
      const rows = await knex("signing_keys")
        .where((w) => w.whereNull("expires_at").orWhere("expires_at", ">", now))
        .orderBy("created_at", "desc");
      return rows.map(fromRow);
    },
    async insert(key: SigningKeyRecord): Promise<void> {
      await knex("signing_keys").insert({
        kid: key.kid,
        alg: key.alg,
        private_jwk: key.privateJwk,
        public_jwk: key.publicJwk,
        created_at: key.createdAt,
        retired_at: key.retiredAt,
        expires_at: key.expiresAt,
      });
    },
    /** Retires every active key other than `keep`: they verify until expiresAt. */
    async retireOthers(keep: string, retiredAt: number, expiresAt: number): Promise<void> {
      await knex("signing_keys")
        .whereNot({ kid: keep })
        .whereNull("retired_at")
        .update({ retired_at: retiredAt, expires_at: expiresAt });
    },
  };
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>;
