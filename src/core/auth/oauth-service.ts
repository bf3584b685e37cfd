import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type AuthService,
  type Client,
  ClientRegistration,
  ClientSchema,
  type ClientCredentials,
  type Grant,
  GrantSchema,
  type Interaction,
  InteractionSchema,
  type StartAuthorizationResponse,
  StartAuthorizationResponseSchema,
} from "../../../gen/meshai/v1/auth_pb.js";
import type { ClientRecord } from "../store/clients.js";
import type { GrantRecord } from "../store/grants.js";
import type { UserRepository } from "../store/users.js";
import type { InteractionView, Next } from "./authorization.js";
import type { PresentedCredentials } from "./client-auth.js";
import type { OAuth } from "./oauth.js";
import { hasScope, principalOf } from "./policy.js";
import { pageOffset, pageSize, paged, userMessage } from "./service.js";

const REGISTRATION: Record<ClientRecord["registration"], ClientRegistration> = {
  dynamic: ClientRegistration.DYNAMIC,
  metadata_document: ClientRegistration.METADATA_DOCUMENT,
  admin: ClientRegistration.ADMIN,
};

/** The public view of a client: never its secret hash. */
export function clientMessage(c: ClientRecord): Client {
  return create(ClientSchema, {
    clientId: c.clientId,
    clientName: c.name,
    redirectUris: c.redirectUris,
    tokenEndpointAuthMethod: c.tokenEndpointAuthMethod,
    grantTypes: c.grantTypes,
    responseTypes: c.responseTypes,
    scope: c.scope,
    jwksUri: c.jwksUri ?? "",
    jwksJson: c.jwks ?? "",
    clientUri: c.clientUri ?? "",
    logoUri: c.logoUri ?? "",
    registration: REGISTRATION[c.registration],
    createTime: timestampFromMs(c.createdAt),
    lastUsedTime: c.lastUsedAt === null ? undefined : timestampFromMs(c.lastUsedAt),
  });
}

export function interactionMessage(v: InteractionView): Interaction {
  return create(InteractionSchema, {
    id: v.id,
    csrfToken: v.csrfToken,
    client: clientMessage(v.client),
    redirectHost: v.redirectHost,
    scopes: v.scopes,
    user: v.user ? userMessage(v.user) : undefined,
    expireTime: timestampFromMs(v.expiresAt),
  });
}

function nextMessage(next: Next): StartAuthorizationResponse {
  if (next.kind === "redirect") return create(StartAuthorizationResponseSchema, { next: { case: "redirectTo", value: next.url } });
  return create(StartAuthorizationResponseSchema, { next: { case: next.kind, value: interactionMessage(next.interaction) } });
}

function credentials(c: ClientCredentials | undefined): PresentedCredentials {
  return {
    clientId: c?.clientId ?? "",
    clientSecret: c?.clientSecret ?? "",
    clientAssertionType: c?.clientAssertionType ?? "",
    clientAssertion: c?.clientAssertion ?? "",
    method: c?.method ?? "",
    endpoint: c?.endpoint ?? "",
  };
}

/** A JSON object without undefined members, as a protobuf Struct needs. */
function jsonObject(value: Record<string, unknown>): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

function registrationBody(c: ClientRecord, secret: string | undefined): JsonObject {
  return jsonObject({
    ...c.metadata,
    client_id: c.clientId,
    client_id_issued_at: Math.floor(c.createdAt / 1000),
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
  });
}

/** Whether the caller may act on every user's grants (an admin with mcp:manage, or a service client). */
function isManager(ctx: HandlerContext): boolean {
  const p = principalOf(ctx);
  return hasScope(p, "mcp:manage") && (!p.user || p.user.admin);
}

/**
 * The OAuth RPCs of AuthService: each one validates its request and hands it
 * to the domain (auth/oauth.ts), then shapes the answer.
 */
export function createOAuthRpcs(oauth: OAuth, users: UserRepository): Partial<ServiceImpl<typeof AuthService>> {
  async function grantMessage(g: GrantRecord): Promise<Grant> {
    const user = await users.byId(g.userId);
    // The stored copy: listing grants never fetches metadata documents.
    const client = await oauth.registry.get(g.clientId).catch(() => undefined);
    return create(GrantSchema, {
      id: g.id,
      userId: g.userId,
      userEmail: user?.email ?? "",
      clientId: g.clientId,
      clientName: client?.name ?? "",
      scope: g.scope,
      resources: g.resources,
      createTime: timestampFromMs(g.createdAt),
      lastUsedTime: g.lastUsedAt === null ? undefined : timestampFromMs(g.lastUsedAt),
      expireTime: g.expiresAt === null ? undefined : timestampFromMs(g.expiresAt),
      activeRefreshTokens: await oauth.grants.activeRefreshCount(g.id),
    });
  }

  async function userIdOf(who: string): Promise<string> {
    const u = await users.find(who);
    if (!u) throw new ConnectError(`user ${who} not found`, Code.NotFound);
    return u.id;
  }

  return {
    async registerClient(req) {
      const { client, clientSecret } = await oauth.registry.register((req.metadata ?? {}) as Record<string, unknown>, req.remoteAddress);
      return { client: clientMessage(client), clientSecret: clientSecret ?? "", registration: registrationBody(client, clientSecret) };
    },

    async createClient(req) {
      const { client, clientSecret } = await oauth.registry.createByAdmin((req.metadata ?? {}) as Record<string, unknown>);
      return { client: clientMessage(client), clientSecret: clientSecret ?? "" };
    },

    async resolveClient(req) {
      return { client: clientMessage(await oauth.registry.require(req.clientId)) };
    },

    async getClient(req) {
      return { client: clientMessage(await oauth.registry.get(req.clientId)) };
    },

    async listClients(req) {
      const size = pageSize(req.pageSize);
      const offset = pageOffset(req.pageToken);
      const { items, nextPageToken } = paged(await oauth.registry.list({ offset, limit: size + 1 }), offset, size);
      return { clients: items.map(clientMessage), nextPageToken };
    },

    async deleteClient(req) {
      await oauth.registry.delete(req.clientId);
      return {};
    },

    async startAuthorization(req) {
      const next = await oauth.authorization.start({
        clientId: req.clientId,
        redirectUri: req.redirectUri,
        responseType: req.responseType,
        scope: req.scope,
        state: req.state,
        codeChallenge: req.codeChallenge,
        codeChallengeMethod: req.codeChallengeMethod,
        resources: req.resources,
        nonce: req.nonce,
        prompt: req.prompt,
        sessionToken: req.sessionToken,
      });
      return nextMessage(next);
    },

    async getInteraction(req) {
      return { interaction: interactionMessage(await oauth.authorization.get(req.id, req.sessionToken)) };
    },

    async login(req) {
      const res = await oauth.authorization.login({
        interactionId: req.interactionId,
        csrfToken: req.csrfToken,
        email: req.email,
        password: req.password,
        remoteAddress: req.remoteAddress,
        userAgent: req.userAgent,
      });
      return { sessionToken: res.sessionToken, sessionExpireTime: timestampFromMs(res.sessionExpiresAt), next: nextMessage(res.next) };
    },

    async getLoginSession(req) {
      const live = await oauth.sessions.require(req.sessionToken);
      return { user: userMessage(live.user), expireTime: timestampFromMs(live.session.expiresAt) };
    },

    async endLoginSession(req) {
      await oauth.sessions.end(req.sessionToken);
      return {};
    },

    async decideConsent(req) {
      const redirectTo = await oauth.authorization.decide({
        interactionId: req.interactionId,
        csrfToken: req.csrfToken,
        sessionToken: req.sessionToken,
        approve: req.approve,
      });
      return { redirectTo };
    },

    async token(req) {
      const r = await oauth.tokenEndpoint.token({
        grantType: req.grantType,
        code: req.code,
        redirectUri: req.redirectUri,
        codeVerifier: req.codeVerifier,
        refreshToken: req.refreshToken,
        scope: req.scope,
        resources: req.resources,
        client: credentials(req.client),
      });
      return { ...r, expiresIn: BigInt(r.expiresIn) };
    },

    async revoke(req) {
      await oauth.introspection.revoke({ token: req.token, tokenTypeHint: req.tokenTypeHint, client: credentials(req.client) });
      return {};
    },

    async introspect(req) {
      const body = await oauth.introspection.introspect({ token: req.token, tokenTypeHint: req.tokenTypeHint, client: credentials(req.client) });
      return { introspection: jsonObject(body) };
    },

    async listGrants(req, ctx) {
      const p = principalOf(ctx);
      const manager = isManager(ctx);
      let userId = req.user ? await userIdOf(req.user) : undefined;
      if (!manager) {
        if (!p.user) throw new ConnectError("only a user's own grants can be listed without mcp:manage", Code.PermissionDenied);
        if (userId && userId !== p.user.id) throw new ConnectError("user: you may only list your own grants", Code.PermissionDenied);
        userId = p.user.id;
      }
      const size = pageSize(req.pageSize);
      const offset = pageOffset(req.pageToken);
      const rows = await oauth.grants.list({ userId, clientId: req.clientId || undefined }, { offset, limit: size + 1 });
      const { items, nextPageToken } = paged(rows, offset, size);
      return { grants: await Promise.all(items.map(grantMessage)), nextPageToken };
    },

    async revokeGrant(req, ctx) {
      const p = principalOf(ctx);
      const manager = isManager(ctx);
      if (req.grantId) {
        const g = await oauth.grants.get(req.grantId);
        if (!manager && g.userId !== p.user?.id) throw new ConnectError(`grant ${req.grantId} not found`, Code.NotFound);
        return { revoked: (await oauth.grants.revoke(g.id)) ? 1 : 0 };
      }
      if (!req.user && !req.clientId) throw new ConnectError("grant_id: give a grant id, a user or a client_id", Code.InvalidArgument);
      let userId = req.user ? await userIdOf(req.user) : undefined;
      if (!manager) {
        if (!p.user || (userId && userId !== p.user.id)) throw new ConnectError("you may only revoke your own grants", Code.PermissionDenied);
        userId = p.user.id;
      }
      return { revoked: await oauth.grants.revokeAll({ userId, clientId: req.clientId || undefined }) };
    },
  };
}
