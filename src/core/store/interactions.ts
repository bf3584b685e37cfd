import type { Knex } from "knex";
import { fromJson, toJson } from "./rows.js";

/** The validated authorization request an interaction carries between pages. */
export interface AuthorizationParams {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  /** Scopes asked for (already validated; mcp:manage filtered per user later). */
  scopes: string[];
  resources: string[];
  nonce: string;
  /** The prompt values that still apply (login is dropped once the user logged in). */
  prompt: string[];
  /** A sign-in to the admin console: no OAuth client; after login the browser goes to `redirectUri`, a local /admin path. */
  console?: boolean;
}

export interface InteractionRecord {
  id: string;
  csrfHash: string;
  clientId: string;
  params: AuthorizationParams;
  /** Set once the user is known: the interaction is then at its consent step. */
  userId: string | null;
  createdAt: number;
  expiresAt: number;
}

function fromRow(row: Record<string, unknown>): InteractionRecord {
  return {
    id: String(row.id),
    csrfHash: String(row.csrf_hash),
    clientId: String(row.client_id),
    params: fromJson<AuthorizationParams>(row.params, {} as AuthorizationParams),
    userId: (row.user_id as string | null) ?? null,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

/** Open authorization interactions (the login and consent steps). */
export function createInteractionRepository(knex: Knex) {
  return {
    async insert(i: InteractionRecord): Promise<void> {
      await knex("interactions").insert({
        id: i.id,
        csrf_hash: i.csrfHash,
        client_id: i.clientId,
        params: toJson(i.params),
        user_id: i.userId,
        created_at: i.createdAt,
        expires_at: i.expiresAt,
      });
    },
    async byId(id: string): Promise<InteractionRecord | undefined> {
      const row = await knex("interactions").where({ id }).first();
      return row ? fromRow(row) : undefined;
    },
    /** Moves the interaction to its consent step for `userId`, with a fresh CSRF hash. */
    async advance(id: string, userId: string, csrfHash: string, params: AuthorizationParams): Promise<void> {
      await knex("interactions").where({ id }).update({ user_id: userId, csrf_hash: csrfHash, params: toJson(params) });
    },
    /** Ends the interaction; true for exactly one caller, so a decision is taken once. */
    async finish(id: string): Promise<boolean> {
      return (await knex("interactions").where({ id }).delete()) === 1;
    },
    async purge(now: number): Promise<number> {
      return knex("interactions").where("expires_at", "<", now).delete();
    },
  };
}

export type InteractionRepository = ReturnType<typeof createInteractionRepository>;
