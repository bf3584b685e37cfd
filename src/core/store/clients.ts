import type { Knex } from "knex";
import { fromJson, toJson, toNumberOrNull } from "./rows.js";

export type ClientRegistrationKind = "dynamic" | "metadata_document" | "admin";

export interface ClientRecord {
  clientId: string;
  /** SHA-256 of the client secret; null for public and private_key_jwt clients. */
  secretHash: string | null;
  name: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: string;
  grantTypes: string[];
  responseTypes: string[];
  /** Space-separated scopes the client may ask for; empty means all. */
  scope: string;
  jwksUri: string | null;
  /** Inline JWKS as JSON text. */
  jwks: string | null;
  clientUri: string | null;
  logoUri: string | null;
  registration: ClientRegistrationKind;
  /** The metadata as registered (or as the document said). */
  metadata: Record<string, unknown>;
  createdAt: number;
  lastUsedAt: number | null;
  /** Metadata-document clients: when the cached document must be fetched again. */
  refreshAt: number | null;
}

function fromRow(row: Record<string, unknown>): ClientRecord {
  return {
    clientId: String(row.client_id),
    secretHash: (row.secret_hash as string | null) ?? null,
    name: String(row.name ?? ""),
    redirectUris: fromJson<string[]>(row.redirect_uris, []),
    tokenEndpointAuthMethod: String(row.token_endpoint_auth_method),
    grantTypes: fromJson<string[]>(row.grant_types, []),
    responseTypes: fromJson<string[]>(row.response_types, []),
    scope: String(row.scope ?? ""),
    jwksUri: (row.jwks_uri as string | null) ?? null,
    jwks: (row.jwks as string | null) ?? null,
    clientUri: (row.client_uri as string | null) ?? null,
    logoUri: (row.logo_uri as string | null) ?? null,
    registration: String(row.registration) as ClientRegistrationKind,
    metadata: fromJson<Record<string, unknown>>(row.metadata, {}),
    createdAt: Number(row.created_at),
    lastUsedAt: toNumberOrNull(row.last_used_at),
    refreshAt: toNumberOrNull(row.refresh_at),
  };
}

function toRow(c: ClientRecord) {
  return {
    client_id: c.clientId,
    secret_hash: c.secretHash,
    name: c.name,
    redirect_uris: toJson(c.redirectUris),
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    grant_types: toJson(c.grantTypes),
    response_types: toJson(c.responseTypes),
    scope: c.scope,
    jwks_uri: c.jwksUri,
    jwks: c.jwks,
    client_uri: c.clientUri,
    logo_uri: c.logoUri,
    registration: c.registration,
    metadata: toJson(c.metadata),
    created_at: c.createdAt,
    last_used_at: c.lastUsedAt,
    refresh_at: c.refreshAt,
  };
}

/** OAuth clients: registered dynamically, by an admin, or cached from a metadata document. */
export function createClientRepository(knex: Knex) {
  return {
    async insert(c: ClientRecord): Promise<void> {
      await knex("oauth_clients").insert(toRow(c));
    },
    /** Inserts or replaces a metadata-document client (a fresh copy of its document). */
    async upsertDocument(c: ClientRecord): Promise<void> {
      const { client_id: _id, created_at: _created, last_used_at: _used, ...rest } = toRow(c);
      await knex("oauth_clients").insert(toRow(c)).onConflict("client_id").merge(rest);
    },
    async byId(clientId: string): Promise<ClientRecord | undefined> {
      const row = await knex("oauth_clients").where({ client_id: clientId }).first();
      return row ? fromRow(row) : undefined;
    },
    async list(opts: { offset: number; limit: number }): Promise<ClientRecord[]> {
      const rows = await knex("oauth_clients").orderBy("created_at", "asc").orderBy("client_id", "asc").offset(opts.offset).limit(opts.limit);
      return rows.map(fromRow);
    },
    async delete(clientId: string): Promise<boolean> {
      return (await knex("oauth_clients").where({ client_id: clientId }).delete()) > 0;
    },
    async touch(clientId: string, now: number): Promise<void> {
      await knex("oauth_clients").where({ client_id: clientId }).update({ last_used_at: now });
    },
    /** Dynamically registered clients with no use since `before` (never used: created before it). */
    async idleDynamic(before: number, limit: number): Promise<string[]> {
      const rows = await knex("oauth_clients")
        .where({ registration: "dynamic" })
        .andWhere((w) => w.where("last_used_at", "<", before).orWhere((n) => n.whereNull("last_used_at").andWhere("created_at", "<", before)))
        .select("client_id")
        .limit(limit);
      return rows.map((r: { client_id: string }) => String(r.client_id));
    },
  };
}

export type ClientRepository = ReturnType<typeof createClientRepository>;
