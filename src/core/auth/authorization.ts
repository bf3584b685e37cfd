import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { hashSecret, newId, newSecret } from "../ids.js";
import type { ClientRecord } from "../store/clients.js";
import type { CodeRepository } from "../store/codes.js";
import type { AuthorizationParams, InteractionRecord, InteractionRepository } from "../store/interactions.js";
import type { UserRecord, UserRepository } from "../store/users.js";
import type { ClientRegistry } from "./clients.js";
import { CONSOLE_CLIENT, consoleParams } from "./console.js";
import type { Grants } from "./grants.js";
import { accessDenied, invalidRequest, oauthError } from "./oauth-errors.js";
import { decoyHash, verifyPassword } from "./passwords.js";
import { redirectUriMatches } from "./redirect-uris.js";
import { SCOPE_DESCRIPTIONS, isScope, parseScope } from "./scopes.js";
import type { LoginSessions } from "./sessions.js";
import type { CoreTelemetry } from "../telemetry.js";
import type { Throttle } from "./throttle.js";

export const INTERACTION_TTL_MS = 10 * 60_000;
export const CODE_TTL_MS = 5 * 60_000;
export const DEFAULT_SCOPE = "mcp:read";
const PROMPTS = new Set(["none", "login", "consent", "select_account"]);
export const INVALID_CREDENTIALS = "Invalid email or password.";
export const ACCOUNT_DISABLED = "This account is disabled.";

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  responseType: string;
  scope: string;
  state: string;
  codeChallenge: string;
  codeChallengeMethod: string;
  resources: string[];
  nonce: string;
  prompt: string;
  sessionToken: string;
}

/** What the browser sees next, before the service turns it into proto. */
export interface InteractionView {
  id: string;
  /** Only when just minted (StartAuthorization, Login's consent step). */
  csrfToken: string;
  client: ClientRecord;
  redirectHost: string;
  scopes: { scope: string; description: string }[];
  user?: UserRecord;
  expiresAt: number;
}

export type Next = { kind: "login"; interaction: InteractionView } | { kind: "consent"; interaction: InteractionView } | { kind: "redirect"; url: string };

export interface AuthorizationDeps {
  issuer: string;
  mcpResource: string;
  resources: string[];
  registry: ClientRegistry;
  sessions: LoginSessions;
  grants: Grants;
  interactions: InteractionRepository;
  codes: CodeRepository;
  users: UserRepository;
  throttle: Throttle;
  clock: Clock;
  /** Failed sign-ins are reported here by reason and user id, never with the email or password. */
  telemetry?: Pick<CoreTelemetry, "loginFailed">;
}

/** Canonical form of a resource indicator: lower-case scheme and host, no trailing slash, no fragment. */
export function canonicalResource(resource: string): string | undefined {
  let u: URL;
  try {
    u = new URL(resource);
  } catch {
    return undefined;
  }
  if (u.hash || resource.includes("#")) return undefined;
  const path = u.pathname.replace(/\/+$/, "");
  return `${u.protocol}//${u.host}${path}${u.search}`;
}

/** The scopes a user may actually hold: mcp:manage only for administrators. */
export function scopesForUser(scopes: string[], user: UserRecord): string[] {
  return scopes.filter((s) => s !== "mcp:manage" || user.admin);
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The redirect back to the client: its redirect URI plus the given parameters and `iss` (RFC 9207). */
export function clientRedirect(redirectUri: string, params: Record<string, string>, issuer: string): string {
  const u = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v) u.searchParams.append(k, v);
  u.searchParams.append("iss", issuer);
  return u.toString();
}

function redirectHost(uri: string): string {
  try {
    const u = new URL(uri);
    return u.host || u.protocol.replace(/:$/, "");
  } catch {
    return "";
  }
}

/**
 * The interactive part of the authorization server: validating
 * /oauth/authorize requests, the login and consent steps, and issuing
 * authorization codes bound to client, redirect URI, PKCE challenge, scopes,
 * resources and nonce.
 */
export function createAuthorization(deps: AuthorizationDeps) {
  const { clock, interactions, sessions, grants } = deps;

  function describe(scopes: string[]) {
    return scopes.map((s) => ({ scope: s, description: isScope(s) ? SCOPE_DESCRIPTIONS[s] : s }));
  }

  function view(record: InteractionRecord, client: ClientRecord, csrfToken: string, user?: UserRecord): InteractionView {
    const scopes = user ? scopesForUser(record.params.scopes, user) : record.params.scopes;
    return {
      id: record.id,
      csrfToken,
      client,
      redirectHost: redirectHost(record.params.redirectUri),
      scopes: describe(scopes),
      user,
      expiresAt: record.expiresAt,
    };
  }

  async function openInteraction(params: AuthorizationParams, client: ClientRecord, user?: UserRecord): Promise<Next> {
    const csrf = newSecret();
    const now = clock.now();
    const record: InteractionRecord = {
      id: newId("int"),
      csrfHash: hashSecret(csrf),
      clientId: client.clientId,
      params,
      userId: user?.id ?? null,
      createdAt: now,
      expiresAt: now + INTERACTION_TTL_MS,
    };
    await interactions.insert(record);
    return { kind: user ? "consent" : "login", interaction: view(record, client, csrf, user) } as Next;
  }

  function errorRedirect(params: Pick<AuthorizationParams, "redirectUri" | "state">, error: string, description: string): Next {
    return { kind: "redirect", url: clientRedirect(params.redirectUri, { error, error_description: description, state: params.state }, deps.issuer) };
  }

  /** Issues a code for an approved request and returns the redirect carrying it. */
  async function issueCode(params: AuthorizationParams, user: UserRecord, grantId: string, scopes: string[], authTime: number): Promise<Next> {
    const code = newSecret();
    const now = clock.now();
    await deps.codes.insert({
      codeHash: hashSecret(code),
      grantId,
      clientId: params.clientId,
      userId: user.id,
      redirectUri: params.redirectUri,
      codeChallenge: params.codeChallenge,
      scope: scopes.join(" "),
      resources: params.resources,
      nonce: params.nonce || null,
      authTime,
      createdAt: now,
      expiresAt: now + CODE_TTL_MS,
      consumedAt: null,
    });
    return { kind: "redirect", url: clientRedirect(params.redirectUri, { code, state: params.state }, deps.issuer) };
  }

  /**
   * With the user known: a remembered approval sends a code straight back,
   * otherwise the consent step (or consent_required under prompt=none).
   */
  async function afterLogin(params: AuthorizationParams, client: ClientRecord, user: UserRecord, authTime: number, existing?: InteractionRecord): Promise<Next> {
    const scopes = scopesForUser(params.scopes, user);
    if (scopes.length === 0) {
      if (existing) await interactions.finish(existing.id);
      return errorRedirect(params, "invalid_scope", "mcp:manage is for administrators only");
    }
    const remembered = await grants.covering(user.id, client.clientId, scopes, params.resources);
    if (remembered && !params.prompt.includes("consent")) {
      if (existing && !(await interactions.finish(existing.id))) throw new ConnectError("interaction: was already completed", Code.FailedPrecondition);
      return issueCode(params, user, remembered.id, scopes, authTime);
    }
    if (params.prompt.includes("none")) return errorRedirect(params, "consent_required", "the user has not approved this client yet");
    if (!existing) return openInteraction(params, client, user);
    const csrf = newSecret();
    await interactions.advance(existing.id, user.id, hashSecret(csrf), params);
    return { kind: "consent", interaction: view({ ...existing, userId: user.id, params }, client, csrf, user) };
  }

  /** Finds an open interaction and checks the CSRF token bound to it. */
  async function openWithCsrf(id: string, csrfToken: string): Promise<InteractionRecord> {
    const record = await liveInteraction(id);
    if (!csrfToken || !sameHash(hashSecret(csrfToken), record.csrfHash)) {
      throw accessDenied("csrf_token: does not match this sign-in; start again from your app");
    }
    return record;
  }

  async function liveInteraction(id: string): Promise<InteractionRecord> {
    if (!id || id.length > 64) throw new ConnectError("interaction: is required", Code.NotFound);
    const record = await interactions.byId(id);
    if (!record) throw new ConnectError("interaction: not found or already completed; start again from your app", Code.NotFound);
    if (record.expiresAt <= clock.now()) throw new ConnectError("interaction: has expired; start again from your app", Code.FailedPrecondition);
    return record;
  }

  return {
    /** Validates an authorization request; see the contract for each outcome. */
    async start(req: AuthorizationRequest): Promise<Next> {
      // Errors that must not redirect: the client or its redirect URI cannot be trusted.
      const client = await deps.registry.require(req.clientId);
      if (!client.grantTypes.includes("authorization_code")) {
        throw oauthError(Code.InvalidArgument, "unauthorized_client", "client_id: this client may not use the authorization code flow");
      }
      let redirectUri = req.redirectUri;
      if (!redirectUri) {
        if (client.redirectUris.length !== 1) throw invalidRequest("redirect_uri: is required for this client (it has several)");
        redirectUri = client.redirectUris[0]!;
      } else if (!redirectUriMatches(client.redirectUris, redirectUri)) {
        throw invalidRequest("redirect_uri: is not registered for this client");
      }

      const state = req.state.length <= 2048 ? req.state : "";
      const base = { redirectUri, state };
      if (req.state.length > 2048) return errorRedirect(base, "invalid_request", "state: must be at most 2048 characters");
      if (req.responseType !== "code") {
        return errorRedirect(base, "unsupported_response_type", "response_type: only code is supported");
      }
      if (!req.codeChallenge) return errorRedirect(base, "invalid_request", "code_challenge: PKCE is required (S256)");
      if (req.codeChallengeMethod !== "S256") return errorRedirect(base, "invalid_request", "code_challenge_method: must be S256");
      if (!/^[A-Za-z0-9_-]{43}$/.test(req.codeChallenge)) {
        return errorRedirect(base, "invalid_request", "code_challenge: must be the base64url SHA-256 of the code verifier (43 characters)");
      }
      if (req.nonce.length > 512) return errorRedirect(base, "invalid_request", "nonce: must be at most 512 characters");

      let scopes = parseScope(req.scope || DEFAULT_SCOPE);
      for (const s of scopes) {
        if (!isScope(s)) return errorRedirect(base, "invalid_scope", `scope: ${s.slice(0, 100)} is not a scope of this platform`);
      }
      if (client.scope && client.registration === "admin") {
        // A client an administrator limited to fewer scopes is offered only those (RFC 6749
        // 3.3: the token response's scope says what was granted); none of them -> invalid_scope.
        // A self-registered client's `scope` only says what it expected to ask for: MCP
        // clients register with the first challenge's scope and later step up, and the
        // user's consent decides what they get.
        const allowed = new Set(client.scope.split(" "));
        scopes = scopes.filter((s) => allowed.has(s));
        if (scopes.length === 0) return errorRedirect(base, "invalid_scope", "scope: none of the requested scopes is registered for this client");
      }

      const resources: string[] = [];
      for (const r of req.resources.length ? req.resources : [deps.mcpResource]) {
        const canonical = canonicalResource(r);
        if (!canonical || !deps.resources.includes(canonical)) {
          return errorRedirect(base, "invalid_target", `resource: ${r.slice(0, 200)} is not a resource of this server`);
        }
        if (!resources.includes(canonical)) resources.push(canonical);
      }

      const prompt = parseScope(req.prompt).filter((p) => PROMPTS.has(p));
      if (prompt.includes("none") && prompt.length > 1) return errorRedirect(base, "invalid_request", "prompt: none cannot be combined with other values");

      const params: AuthorizationParams = {
        clientId: client.clientId,
        redirectUri,
        state,
        codeChallenge: req.codeChallenge,
        scopes,
        resources,
        nonce: req.nonce,
        prompt,
      };

      const live = prompt.includes("login") ? undefined : await sessions.find(req.sessionToken);
      if (!live) {
        if (prompt.includes("none")) return errorRedirect(base, "login_required", "the user is not logged in");
        return openInteraction({ ...params, prompt: prompt.filter((p) => p !== "login") }, client);
      }
      return afterLogin(params, client, live.user, live.session.createdAt);
    },

    /**
     * A sign-in to the admin console: already signed in, straight to `next`
     * (the console checks the user is an administrator); otherwise the login
     * page of an interaction no client is part of, which ends at `next`.
     */
    async startConsole(next: string, sessionToken: string): Promise<Next> {
      const params = consoleParams(next);
      if (await sessions.find(sessionToken)) return { kind: "redirect", url: params.redirectUri };
      return openInteraction(params, CONSOLE_CLIENT);
    },

    /** An open interaction, for rendering its page (never its CSRF token). */
    async get(id: string, sessionToken: string): Promise<InteractionView> {
      const record = await liveInteraction(id);
      const client = record.params.console ? CONSOLE_CLIENT : await deps.registry.find(record.clientId);
      if (!client) throw new ConnectError("interaction: its client no longer exists", Code.FailedPrecondition);
      let user: UserRecord | undefined;
      if (record.userId) user = await deps.users.byId(record.userId);
      else user = (await sessions.find(sessionToken))?.user;
      return view(record, client, "", user);
    },

    /**
     * Checks email and password within an interaction. Unknown user and wrong
     * password answer alike (a decoy hash is verified for unknown users);
     * failures are throttled per account and per address.
     */
    async login(req: { interactionId: string; csrfToken: string; email: string; password: string; remoteAddress: string; userAgent: string }) {
      const record = await openWithCsrf(req.interactionId, req.csrfToken);
      const email = req.email.trim().toLowerCase();
      if (!email || email.length > 320) throw new ConnectError("email: is required", Code.InvalidArgument);
      if (!req.password || req.password.length > 1024) throw new ConnectError(INVALID_CREDENTIALS, Code.Unauthenticated);
      await deps.throttle.checkLogin(email, req.remoteAddress).catch((e: unknown) => {
        deps.telemetry?.loginFailed("throttled", { remoteIp: req.remoteAddress });
        throw e;
      });
      const user = await deps.users.byEmail(email);
      const ok = await verifyPassword(user?.passwordHash ?? (await decoyHash()), req.password);
      if (!user || !ok) {
        deps.telemetry?.loginFailed("bad_credentials", { userId: user?.id, remoteIp: req.remoteAddress });
        await deps.throttle.loginFailed(email, req.remoteAddress);
        throw new ConnectError(INVALID_CREDENTIALS, Code.Unauthenticated);
      }
      if (user.disabled) {
        deps.telemetry?.loginFailed("disabled", { userId: user.id, remoteIp: req.remoteAddress });
        throw new ConnectError(ACCOUNT_DISABLED, Code.PermissionDenied);
      }
      await deps.throttle.loginSucceeded(email);
      const session = await sessions.open(user, { remoteAddress: req.remoteAddress, userAgent: req.userAgent });
      await deps.users.update(user.id, { lastLoginAt: session.createdAt }, session.createdAt);
      if (record.params.console) {
        await interactions.finish(record.id);
        return { sessionToken: session.token, sessionExpiresAt: session.expiresAt, next: { kind: "redirect", url: record.params.redirectUri } as Next };
      }
      const client = await deps.registry.require(record.clientId);
      const params = { ...record.params, prompt: record.params.prompt.filter((p) => p !== "login") };
      const next = await afterLogin(params, client, user, session.createdAt, record);
      return { sessionToken: session.token, sessionExpiresAt: session.expiresAt, next };
    },

    /** Records the consent decision and answers with the redirect back to the client. */
    async decide(req: { interactionId: string; csrfToken: string; sessionToken: string; approve: boolean }): Promise<string> {
      const record = await openWithCsrf(req.interactionId, req.csrfToken);
      if (record.params.console) throw new ConnectError("interaction: a console sign-in has no consent step", Code.FailedPrecondition);
      const live = await sessions.require(req.sessionToken);
      if (!record.userId || record.userId !== live.session.userId) {
        throw accessDenied("session_token: this consent belongs to another login; start again from your app");
      }
      if (!(await interactions.finish(record.id))) throw new ConnectError("interaction: was already completed", Code.FailedPrecondition);
      const params = record.params;
      if (!req.approve) {
        return clientRedirect(params.redirectUri, { error: "access_denied", error_description: "the user denied the request", state: params.state }, deps.issuer);
      }
      const scopes = scopesForUser(params.scopes, live.user);
      if (scopes.length === 0) {
        return clientRedirect(params.redirectUri, { error: "invalid_scope", error_description: "mcp:manage is for administrators only", state: params.state }, deps.issuer);
      }
      const grant = await grants.approve(live.user.id, params.clientId, scopes, params.resources);
      const next = await issueCode(params, live.user, grant.id, scopes, live.session.createdAt);
      return (next as { url: string }).url;
    },
  };
}

export type Authorization = ReturnType<typeof createAuthorization>;
