import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type AuthService,
  CreateServiceTokenResponseSchema,
  GetJwksResponseSchema,
  GetServerMetadataResponseSchema,
  UserSchema,
  type User,
  VerifyAccessTokenResponseSchema,
} from "../../../gen/meshai/v1/auth_pb.js";
import type { Clock } from "../clock.js";
import { decodePageToken, encodePageToken } from "../store/rows.js";
import type { UserRecord } from "../store/users.js";
import type { AccessTokens } from "./access-tokens.js";
import type { KeyRing } from "./keys.js";
import { authorizationServerMetadata, protectedResourceMetadata } from "./metadata.js";
import { principalOf } from "./policy.js";
import { isScope, parseScope } from "./scopes.js";
import type { UserAccounts } from "./users.js";
import type { UserRepository } from "../store/users.js";
import type { OAuth } from "./oauth.js";
import { createOAuthRpcs } from "./oauth-service.js";
import { createConsoleRpcs } from "./console-service.js";

export interface AuthServiceDeps {
  issuer: string;
  mcpResource: string;
  resources: string[];
  accessTokenTtl: number;
  keys: KeyRing;
  accessTokens: AccessTokens;
  accounts: UserAccounts;
  clock: Clock;
  /** The OAuth authorization server (clients, flows, tokens, grants). */
  oauth?: OAuth;
  users?: UserRepository;
}

export function userMessage(u: UserRecord): User {
  return create(UserSchema, {
    id: u.id,
    email: u.email,
    name: u.name,
    admin: u.admin,
    disabled: u.disabled,
    createTime: timestampFromMs(u.createdAt),
    updateTime: timestampFromMs(u.updatedAt),
    lastLoginTime: u.lastLoginAt === null ? undefined : timestampFromMs(u.lastLoginAt),
  });
}

export function pageSize(requested: number, field = "page_size"): number {
  if (requested < 0 || requested > 200) {
    throw new ConnectError(`${field}: must be between 1 and 200 (0 means the default, 50)`, Code.InvalidArgument);
  }
  return requested || 50;
}

export function pageOffset(token: string): number {
  const offset = decodePageToken(token);
  if (offset === null) throw new ConnectError("page_token: is not a token this server issued", Code.InvalidArgument);
  return offset;
}

/** Pages a listing fetched with one extra row, returning the next page's token. */
export function paged<T>(rows: T[], offset: number, size: number): { items: T[]; nextPageToken: string } {
  return {
    items: rows.slice(0, size),
    nextPageToken: rows.length > size ? encodePageToken(offset + size) : "",
  };
}

/**
 * AuthService: discovery, tokens and user accounts, plus the OAuth
 * authorization server's RPCs (auth/oauth-service.ts) when `oauth` is wired.
 */
export function createAuthService(deps: AuthServiceDeps): Partial<ServiceImpl<typeof AuthService>> {
  const { accounts, accessTokens } = deps;

  function checkResource(resource: string): string {
    if (!resource) return deps.mcpResource;
    const canonical = resource.replace(/\/+$/, "");
    if (!deps.resources.includes(canonical)) {
      throw new ConnectError(`resource: ${resource} is not a resource of this platform (use one of ${deps.resources.join(", ")})`, Code.InvalidArgument);
    }
    return canonical;
  }

  return {
    ...(deps.oauth && deps.users ? createOAuthRpcs(deps.oauth, deps.users) : {}),
    ...(deps.oauth ? createConsoleRpcs(deps.oauth, accessTokens, deps.issuer) : {}),

    async getServerMetadata() {
      return create(GetServerMetadataResponseSchema, {
        authorizationServer: authorizationServerMetadata(deps.issuer) as unknown as JsonObject,
        protectedResource: protectedResourceMetadata(deps.issuer, deps.mcpResource) as unknown as JsonObject,
      });
    },

    async getJwks() {
      return create(GetJwksResponseSchema, { jwksJson: JSON.stringify(await deps.keys.jwks()) });
    },

    async verifyAccessToken(req) {
      const p = await accessTokens.verify(req.token, req.resource ? checkResource(req.resource) : undefined);
      return create(VerifyAccessTokenResponseSchema, {
        subject: p.subject,
        clientId: p.clientId,
        scopes: p.scopes,
        audience: p.audience,
        expireTime: timestampFromMs(p.expiresAt),
        tokenId: p.tokenId,
      });
    },

    async createServiceToken(req, ctx) {
      principalOf(ctx);
      return issueServiceToken(deps, req);
    },

    async userInfo(_req, ctx) {
      const p = principalOf(ctx);
      if (!p.user) throw new ConnectError("this token does not act for a user", Code.FailedPrecondition);
      const claims: JsonObject = { sub: p.subject };
      if (p.scopes.includes("profile")) claims.name = p.user.name;
      if (p.scopes.includes("email")) {
        claims.email = p.user.email;
        claims.email_verified = false;
      }
      return { claims };
    },

    async createUser(req) {
      const user = await accounts.create({ email: req.email, name: req.name, password: req.password, admin: req.admin });
      return { user: userMessage(user) };
    },

    async getUser(req) {
      return { user: userMessage(await accounts.find(req.user)) };
    },

    async listUsers(req) {
      const size = pageSize(req.pageSize);
      const offset = pageOffset(req.pageToken);
      const rows = await accounts.list({ query: req.query, offset, limit: size + 1 });
      const { items, nextPageToken } = paged(rows, offset, size);
      return { users: items.map(userMessage), nextPageToken };
    },

    async updateUser(req) {
      const user = await accounts.update(req.user, { name: req.name, admin: req.admin, disabled: req.disabled });
      return { user: userMessage(user) };
    },

    async setPassword(req) {
      await accounts.setPassword(req.user, req.password);
      return {};
    },
  };
}

/**
 * Issues an access token straight to a user, for internal services and
 * operators. Shared by the CreateServiceToken RPC and `meshai token create`.
 */
export async function issueServiceToken(
  deps: Pick<AuthServiceDeps, "accounts" | "accessTokens" | "mcpResource" | "resources" | "accessTokenTtl">,
  req: { email: string; scope: string; resource: string; ttlSeconds: bigint | number },
) {
  const user = await deps.accounts.find(req.email);
  if (user.disabled) throw new ConnectError(`user ${user.email} is disabled`, Code.FailedPrecondition);
  const scopes = parseScope(req.scope || "mcp:read");
  for (const s of scopes) {
    if (!isScope(s)) throw new ConnectError(`scope: ${s} is not a scope of this platform`, Code.InvalidArgument);
  }
  if (scopes.includes("mcp:manage") && !user.admin) {
    throw new ConnectError("scope: mcp:manage is for administrators only", Code.PermissionDenied);
  }
  const resource = (req.resource || deps.mcpResource).replace(/\/+$/, "");
  if (!deps.resources.includes(resource)) {
    throw new ConnectError(`resource: ${req.resource} is not a resource of this platform (use one of ${deps.resources.join(", ")})`, Code.InvalidArgument);
  }
  const ttl = Number(req.ttlSeconds) || deps.accessTokenTtl;
  if (ttl < 1 || ttl > 30 * 24 * 3600) throw new ConnectError("ttl_seconds: must be between 1 and 2592000 (30 days)", Code.InvalidArgument);
  const scope = scopes.join(" ");
  const issued = await deps.accessTokens.issue({
    subject: user.id,
    userId: user.id,
    clientId: "meshai-cli",
    scope,
    audience: resource,
    ttlSeconds: ttl,
  });
  return create(CreateServiceTokenResponseSchema, {
    accessToken: issued.token,
    expireTime: timestampFromMs(issued.expiresAt),
    scope,
    audience: resource,
  });
}
