import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { hashSecret, newId, newSecret } from "../ids.js";
import type { OutboundFetch } from "../net/outbound.js";
import type { AccessTokenRepository } from "../store/access-tokens.js";
import type { ClientRecord, ClientRepository } from "../store/clients.js";
import type { GrantRepository } from "../store/grants.js";
import { fetchClientDocument, isDocumentClientId } from "./cimd.js";
import { type AuthMethod, validateClientMetadata } from "./client-metadata.js";
import { oauthError } from "./oauth-errors.js";
import type { Throttle } from "./throttle.js";

export interface ClientRegistryDeps {
  clients: ClientRepository;
  grants: GrantRepository;
  accessTokens: AccessTokenRepository;
  clock: Clock;
  /** The SSRF-guarded fetch used for metadata documents. */
  fetch: OutboundFetch;
  allowPrivateNetwork: boolean;
  throttle: Throttle;
  /** Dynamically registered clients idle this many days are reaped. */
  reapDays: number;
}

export interface RegisteredClient {
  client: ClientRecord;
  /** Only for confidential secret clients, only now. */
  clientSecret?: string;
}

const DCR_AUTH_METHODS: readonly AuthMethod[] = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"];
const DOC_AUTH_METHODS: readonly AuthMethod[] = ["none", "private_key_jwt"];

/**
 * The client registry: Dynamic Client Registration, admin-added clients,
 * Client ID Metadata Documents (fetched, validated and cached), lookups,
 * deletion and the reaping of abandoned dynamic registrations.
 */
/** The columns a client takes straight from its validated metadata, whichever way it registered. */
function validatedFields(v: ReturnType<typeof validateClientMetadata>) {
  return {
    name: v.name,
    redirectUris: v.redirectUris,
    tokenEndpointAuthMethod: v.tokenEndpointAuthMethod,
    grantTypes: v.grantTypes,
    responseTypes: v.responseTypes,
    scope: v.scope,
    jwksUri: v.jwksUri,
    jwks: v.jwks,
    clientUri: v.clientUri,
    logoUri: v.logoUri,
  };
}

export function createClientRegistry(deps: ClientRegistryDeps) {
  const { clients, clock } = deps;

  async function create(raw: Record<string, unknown>, kind: "dynamic" | "admin"): Promise<RegisteredClient> {
    const v = validateClientMetadata(raw, {
      allowedGrantTypes: kind === "admin" ? ["authorization_code", "refresh_token", "client_credentials"] : ["authorization_code", "refresh_token"],
      defaultAuthMethod: "client_secret_basic",
      allowedAuthMethods: DCR_AUTH_METHODS,
      redirectUrisOptional: kind === "admin",
      loopbackHttpJwksUri: deps.allowPrivateNetwork,
    });
    const secret = v.tokenEndpointAuthMethod === "client_secret_basic" || v.tokenEndpointAuthMethod === "client_secret_post" ? newSecret() : undefined;
    const now = clock.now();
    const client: ClientRecord = {
      clientId: newId(kind === "admin" ? "app" : "dcr"),
      secretHash: secret ? hashSecret(secret) : null,
      ...validatedFields(v),
      registration: kind,
      metadata: v.metadata,
      createdAt: now,
      lastUsedAt: null,
      refreshAt: null,
    };
    await clients.insert(client);
    return { client, clientSecret: secret };
  }

  // Documents that just failed are not fetched again for a minute: one bad client_id in a
  // loop of authorization requests must not turn the core into a request amplifier.
  const failures = new Map<string, { until: number; error: unknown }>();
  const FAILURE_TTL_MS = 60_000;

  async function resolveDocument(clientId: string, cached: ClientRecord | undefined): Promise<ClientRecord> {
    const failed = failures.get(clientId);
    if (failed && failed.until > clock.now()) throw failed.error;
    try {
      return await fetchAndStore(clientId, cached);
    } catch (e) {
      if (failures.size > 10_000) failures.clear();
      failures.set(clientId, { until: clock.now() + FAILURE_TTL_MS, error: e });
      throw e;
    }
  }

  async function fetchAndStore(clientId: string, cached: ClientRecord | undefined): Promise<ClientRecord> {
    const { document, lifetimeMs } = await fetchClientDocument(deps.fetch, clientId, deps.allowPrivateNetwork);
    let v;
    try {
      v = validateClientMetadata(document, {
        allowedGrantTypes: ["authorization_code", "refresh_token"],
        defaultAuthMethod: "none",
        allowedAuthMethods: DOC_AUTH_METHODS,
        redirectUrisOptional: false,
        loopbackHttpJwksUri: deps.allowPrivateNetwork,
      });
    } catch (e) {
      throw oauthError(Code.InvalidArgument, "invalid_client", `client_id: the metadata document is not acceptable: ${(e as Error & { rawMessage?: string }).rawMessage ?? (e as Error).message}`);
    }
    const now = clock.now();
    const client: ClientRecord = {
      clientId,
      secretHash: null,
      ...validatedFields(v),
      registration: "metadata_document",
      metadata: { client_id: clientId, ...v.metadata },
      createdAt: cached?.createdAt ?? now,
      lastUsedAt: cached?.lastUsedAt ?? null,
      refreshAt: now + lifetimeMs,
    };
    await clients.upsertDocument(client);
    failures.delete(clientId);
    return client;
  }

  return {
    /** RFC 7591 registration, rate limited per address. */
    async register(raw: Record<string, unknown>, remoteAddress: string): Promise<RegisteredClient> {
      await deps.throttle.registration(remoteAddress);
      return create(raw, "dynamic");
    },

    /** An administrator adds a client (may use client_credentials). */
    async createByAdmin(raw: Record<string, unknown>): Promise<RegisteredClient> {
      return create(raw, "admin");
    },

    /**
     * The client for a client_id: a registered one, or a metadata document
     * (from the cache while fresh). Unknown -> undefined; an unusable document
     * -> InvalidArgument invalid_client.
     */
    async find(clientId: string): Promise<ClientRecord | undefined> {
      if (!clientId || clientId.length > 2048) return undefined;
      const stored = await clients.byId(clientId);
      if (stored && stored.registration !== "metadata_document") return stored;
      if (!isDocumentClientId(clientId)) return undefined;
      if (stored && stored.refreshAt !== null && stored.refreshAt > clock.now()) return stored;
      return resolveDocument(clientId, stored);
    },

    /** Like find, but InvalidArgument invalid_client when there is no such client. */
    async require(clientId: string): Promise<ClientRecord> {
      if (!clientId) throw oauthError(Code.InvalidArgument, "invalid_request", "client_id: is required");
      const client = await this.find(clientId);
      if (!client) throw oauthError(Code.InvalidArgument, "invalid_client", "client_id: no such client is registered");
      return client;
    },

    async get(clientId: string): Promise<ClientRecord> {
      const client = await clients.byId(clientId);
      if (!client) throw new ConnectError(`client ${clientId} not found`, Code.NotFound);
      return client;
    },

    list: (opts: { offset: number; limit: number }) => clients.list(opts),

    /** Deletes a client and revokes every grant and token it holds. */
    async delete(clientId: string): Promise<void> {
      const client = await clients.byId(clientId);
      if (!client) throw new ConnectError(`client ${clientId} not found`, Code.NotFound);
      const now = clock.now();
      for (const id of await deps.grants.liveIds({ clientId })) await deps.grants.revoke(id, now);
      await deps.accessTokens.revokeByClient(clientId, now);
      await clients.delete(clientId);
    },

    touch: (clientId: string) => clients.touch(clientId, clock.now()),

    /** Removes dynamic registrations idle for reapDays (their grants and tokens revoked first). */
    async reap(): Promise<number> {
      const cutoff = clock.now() - deps.reapDays * 24 * 3600_000;
      const idle = await clients.idleDynamic(cutoff, 500);
      for (const id of idle) await this.delete(id).catch(() => undefined);
      return idle.length;
    },
  };
}

export type ClientRegistry = ReturnType<typeof createClientRegistry>;
