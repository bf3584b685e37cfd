import { createHash } from "node:crypto";
import type { Clock } from "../clock.js";
import { hashSecret, newSecret } from "../ids.js";
import type { CodeRepository } from "../store/codes.js";
import type { RefreshTokenRecord, RefreshTokenRepository } from "../store/refresh-tokens.js";
import type { UserRecord, UserRepository } from "../store/users.js";
import type { AccessTokens } from "./access-tokens.js";
import { canonicalResource, scopesForUser } from "./authorization.js";
import type { AuthenticatedClient, ClientAuthenticator, PresentedCredentials } from "./client-auth.js";
import type { Grants } from "./grants.js";
import type { IdTokens } from "./id-token.js";
import { invalidGrant, invalidRequest, invalidScope, invalidTarget, oauthError } from "./oauth-errors.js";
import { isScope, MCP_SCOPES, parseScope } from "./scopes.js";
import { Code } from "@connectrpc/connect";

export interface TokenRequestInput {
  grantType: string;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  refreshToken: string;
  scope: string;
  resources: string[];
  client: PresentedCredentials;
}

export interface TokenResult {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  refreshToken: string;
  scope: string;
  idToken: string;
}

export interface TokenEndpointDeps {
  resources: string[];
  mcpResource: string;
  accessTokenTtl: number;
  /** Total life of a refresh token family (rotation never extends it). */
  refreshLifetimeMs: number;
  /** How long a used refresh token may be replayed while its successor is unused. */
  refreshGraceMs: number;
  clientAuth: ClientAuthenticator;
  codes: CodeRepository;
  refreshTokens: RefreshTokenRepository;
  grants: Grants;
  users: UserRepository;
  accessTokens: AccessTokens;
  idTokens: IdTokens;
  clock: Clock;
}

export const REFRESH_LIFETIME_MS = 30 * 24 * 3600_000;
export const REFRESH_GRACE_MS = 60_000;

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

const unauthorizedClient = (m: string) => oauthError(Code.InvalidArgument, "unauthorized_client", m);

/**
 * The token endpoint: authorization_code (PKCE S256, single use enforced by a
 * conditional UPDATE, replay revokes the grant), refresh_token (rotation, a
 * 60 s grace for the immediate predecessor while its successor is unused, any
 * other reuse revokes the grant, scope narrows never widens, family lifetime
 * capped), client_credentials (confidential clients only).
 */
export function createTokenEndpoint(deps: TokenEndpointDeps) {
  const { clock } = deps;

  /** The audience: requested resources (each within what was granted), else everything granted. */
  function audience(requested: string[], granted: string[]): string[] {
    if (requested.length === 0) return granted;
    const out: string[] = [];
    for (const r of requested) {
      const c = canonicalResource(r);
      if (!c || !granted.includes(c)) throw invalidTarget(`resource: ${r.slice(0, 200)} was not granted to this client`);
      if (!out.includes(c)) out.push(c);
    }
    return out;
  }

  function narrowed(requested: string, granted: string): string[] {
    const have = parseScope(granted);
    if (!requested) return have;
    const want = parseScope(requested);
    const extra = want.find((s) => !have.includes(s));
    if (extra) throw invalidScope(`scope: ${extra.slice(0, 100)} was not granted; a refresh may narrow the scope, never widen it`);
    return want;
  }

  async function liveUser(userId: string): Promise<UserRecord> {
    const user = await deps.users.byId(userId);
    if (!user) throw invalidGrant("the user of this grant no longer exists");
    if (user.disabled) throw invalidGrant("the user of this grant is disabled");
    return user;
  }

  async function issueForUser(args: {
    auth: AuthenticatedClient;
    user: UserRecord;
    grantId: string;
    scopes: string[];
    aud: string[];
    refresh?: { scope: string; resources: string[]; parentHash: string | null; expiresAt: number; authTime: number | null };
    nonce?: string | null;
    authTime: number | null;
  }): Promise<TokenResult> {
    // mcp:manage is re-checked at every issuance: an admin demoted since consent loses it here.
    const scopes = scopesForUser(args.scopes, args.user);
    if (scopes.length === 0) throw invalidScope("scope: nothing left to grant (mcp:manage is for administrators only)");
    const scope = scopes.join(" ");
    const clientId = args.auth.client.clientId;
    const access = await deps.accessTokens.issue({
      subject: args.user.id,
      userId: args.user.id,
      clientId,
      scope,
      audience: args.aud.length === 1 ? args.aud[0]! : args.aud,
      ttlSeconds: deps.accessTokenTtl,
      grantId: args.grantId,
    });
    let refreshToken = "";
    if (args.refresh && args.auth.client.grantTypes.includes("refresh_token")) {
      refreshToken = newSecret();
      await deps.refreshTokens.insert({
        tokenHash: hashSecret(refreshToken),
        grantId: args.grantId,
        clientId,
        userId: args.user.id,
        scope: args.refresh.scope,
        resources: args.refresh.resources,
        parentHash: args.refresh.parentHash,
        authTime: args.refresh.authTime,
        createdAt: clock.now(),
        expiresAt: args.refresh.expiresAt,
        usedAt: null,
        revokedAt: null,
      });
    }
    const idToken = scopes.includes("openid")
      ? await deps.idTokens.issue({ user: args.user, clientId, scopes, nonce: args.nonce, authTime: args.authTime })
      : "";
    await deps.grants.touch(args.grantId);
    return { accessToken: access.token, tokenType: "Bearer", expiresIn: deps.accessTokenTtl, refreshToken, scope, idToken };
  }

  async function authorizationCode(req: TokenRequestInput, auth: AuthenticatedClient): Promise<TokenResult> {
    if (!req.code) throw invalidRequest("code: is required");
    if (req.code.length > 200) throw invalidGrant("code: is not valid");
    const codeHash = hashSecret(req.code);
    const code = await deps.codes.byHash(codeHash);
    if (!code || code.clientId !== auth.client.clientId) throw invalidGrant("code: is not valid for this client");
    const replayed = async () => {
      await deps.grants.revoke(code.grantId);
      return invalidGrant("code: was already used; every token it issued has been revoked");
    };
    if (code.consumedAt !== null) throw await replayed();
    if (code.expiresAt <= clock.now()) throw invalidGrant("code: has expired");
    if (req.redirectUri && req.redirectUri !== code.redirectUri) throw invalidGrant("redirect_uri: does not match the authorization request");
    if (!req.codeVerifier) throw invalidGrant("code_verifier: is required (PKCE)");
    if (!VERIFIER.test(req.codeVerifier) || s256(req.codeVerifier) !== code.codeChallenge) {
      throw invalidGrant("code_verifier: does not match the code_challenge");
    }
    const aud = audience(req.resources, code.resources);
    // Single use across replicas: only one UPDATE ... WHERE consumed_at IS NULL succeeds.
    if (!(await deps.codes.consume(codeHash, clock.now()))) throw await replayed();
    const grant = await deps.grants.live(code.grantId);
    if (!grant) throw invalidGrant("code: its grant has been revoked");
    const user = await liveUser(code.userId);
    const scopes = parseScope(code.scope);
    return issueForUser({
      auth,
      user,
      grantId: grant.id,
      scopes,
      aud,
      refresh: { scope: code.scope, resources: code.resources, parentHash: null, expiresAt: clock.now() + deps.refreshLifetimeMs, authTime: code.authTime },
      nonce: code.nonce,
      authTime: code.authTime,
    });
  }

  /**
   * Whether a used refresh token may be replayed now: it is the immediate
   * predecessor of the live token (exactly one successor, still unused), it
   * was used within the grace window, and this caller wins the retirement of
   * that successor (so the replay is allowed once).
   */
  async function graceReplay(token: RefreshTokenRecord): Promise<boolean> {
    if (token.usedAt === null || clock.now() - token.usedAt > deps.refreshGraceMs) return false;
    let successors = await deps.refreshTokens.children(token.tokenHash);
    // A concurrent request that won the rotation may still be issuing its pair: wait for it
    // (up to ~1 s) rather than mistake a client's parallel retry for theft.
    for (let i = 0; successors.length === 0 && i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      successors = await deps.refreshTokens.children(token.tokenHash);
    }
    if (successors.length !== 1) return false;
    const next = successors[0]!;
    if (next.usedAt !== null || next.revokedAt !== null) return false;
    return deps.refreshTokens.retireUnused(next.tokenHash, clock.now());
  }

  async function refreshToken(req: TokenRequestInput, auth: AuthenticatedClient): Promise<TokenResult> {
    if (!req.refreshToken) throw invalidRequest("refresh_token: is required");
    if (req.refreshToken.length > 200) throw invalidGrant("refresh_token: is not valid");
    const tokenHash = hashSecret(req.refreshToken);
    const token = await deps.refreshTokens.byHash(tokenHash);
    if (!token || token.clientId !== auth.client.clientId) throw invalidGrant("refresh_token: is not valid for this client");
    if (token.revokedAt !== null) throw invalidGrant("refresh_token: has been revoked");
    if (token.expiresAt <= clock.now()) throw invalidGrant("refresh_token: has expired (sign in again)");
    const grant = await deps.grants.live(token.grantId);
    if (!grant) throw invalidGrant("refresh_token: its grant has been revoked");

    // Request mistakes are refused before the token is spent, so a corrected retry still works.
    const user = await liveUser(token.userId);
    const scopes = narrowed(req.scope, token.scope);
    const aud = audience(req.resources, token.resources);
    if (scopesForUser(scopes, user).length === 0) throw invalidScope("scope: nothing left to grant (mcp:manage is for administrators only)");

    if (!(await deps.refreshTokens.markUsed(tokenHash, clock.now()))) {
      const used = (await deps.refreshTokens.byHash(tokenHash)) ?? token;
      if (used.revokedAt !== null || !(await graceReplay(used))) {
        await deps.grants.revoke(token.grantId);
        throw invalidGrant("refresh_token: was already used; the grant has been revoked (sign in again)");
      }
    }
    return issueForUser({
      auth,
      user,
      grantId: grant.id,
      scopes,
      aud,
      refresh: { scope: token.scope, resources: token.resources, parentHash: tokenHash, expiresAt: token.expiresAt, authTime: token.authTime },
      authTime: token.authTime,
    });
  }

  async function clientCredentials(req: TokenRequestInput, auth: AuthenticatedClient): Promise<TokenResult> {
    if (!auth.confidential) throw unauthorizedClient("client_credentials is only for confidential clients");
    if (!auth.client.grantTypes.includes("client_credentials")) throw unauthorizedClient("this client may not use client_credentials");
    const allowed = parseScope(auth.client.scope || "mcp:read").filter((s) => (MCP_SCOPES as string[]).includes(s));
    const scopes = req.scope ? parseScope(req.scope) : allowed;
    for (const s of scopes) {
      if (!isScope(s) || !allowed.includes(s)) throw invalidScope(`scope: ${s.slice(0, 100)} is not allowed for this client`);
    }
    if (scopes.length === 0) throw invalidScope("scope: this client has no scope it may hold");
    const aud = audience(req.resources, deps.resources).filter(Boolean);
    const finalAud = req.resources.length ? aud : [deps.mcpResource];
    const scope = scopes.join(" ");
    const access = await deps.accessTokens.issue({
      subject: auth.client.clientId,
      clientId: auth.client.clientId,
      scope,
      audience: finalAud.length === 1 ? finalAud[0]! : finalAud,
      ttlSeconds: deps.accessTokenTtl,
    });
    return { accessToken: access.token, tokenType: "Bearer", expiresIn: deps.accessTokenTtl, refreshToken: "", scope, idToken: "" };
  }

  return {
    async token(req: TokenRequestInput): Promise<TokenResult> {
      if (!req.grantType) throw invalidRequest("grant_type: is required");
      const handlers: Record<string, (r: TokenRequestInput, a: AuthenticatedClient) => Promise<TokenResult>> = {
        authorization_code: authorizationCode,
        refresh_token: refreshToken,
        client_credentials: clientCredentials,
      };
      const handler = handlers[req.grantType];
      if (!handler) throw oauthError(Code.InvalidArgument, "unsupported_grant_type", `grant_type: ${req.grantType.slice(0, 100)} is not supported`);
      const auth = await deps.clientAuth.authenticate(req.client);
      if (req.grantType !== "client_credentials" && !auth.client.grantTypes.includes(req.grantType)) {
        throw unauthorizedClient(`grant_type: this client is not registered for ${req.grantType}`);
      }
      return handler(req, auth);
    },
  };
}

export type TokenEndpoint = ReturnType<typeof createTokenEndpoint>;
