import { Code, ConnectError } from "@connectrpc/connect";
import type { ClientRecord } from "../store/clients.js";
import type { AuthorizationParams } from "../store/interactions.js";
import type { UserRecord } from "../store/users.js";
import type { AccessTokens } from "./access-tokens.js";
import type { LoginSessions } from "./sessions.js";

/**
 * The admin console signs in through the same login page and session cookie
 * as the OAuth flow, then acts through the ordinary admin RPCs with a
 * short-lived access token minted from that session, so every console action
 * is the same RPC the CLI makes and passes the same policy checks.
 */

/** The client id console sign-in interactions and console tokens carry; no OAuth client has it. */
export const CONSOLE_CLIENT_ID = "meshai-console";

/** Console tokens live minutes: the facade caches one per session for less than this. */
export const CONSOLE_TOKEN_TTL_SECONDS = 180;

/** What an administrator's console token may do: everything an admin may hold except offline access. */
export const CONSOLE_SCOPE = "openid profile email mcp:read mcp:execute mcp:manage";

const MAX_NEXT = 1000;
/** /admin, or a path below it with an optional query: no host, no `//`, no backslash, no dot segments, no fragment. */
const CONSOLE_PATH = /^\/admin(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$/;

/** The console path a sign-in returns to; refuses anything that could leave the console (open redirect). */
export function consoleNext(next: string): string {
  if (!next) return "/admin";
  if (next.length > MAX_NEXT) throw new ConnectError(`next: must be at most ${MAX_NEXT} characters`, Code.InvalidArgument);
  const path = next.split("?")[0]!;
  if (!CONSOLE_PATH.test(next) || path.includes("//") || /(^|\/)\.\.?(\/|$)/.test(path)) {
    throw new ConnectError("next: must be a console path: /admin or a path under it", Code.InvalidArgument);
  }
  return next;
}

/** The interaction parameters of a console sign-in (no client, no PKCE: nothing is issued to anyone but the browser). */
export function consoleParams(next: string): AuthorizationParams {
  return {
    clientId: CONSOLE_CLIENT_ID,
    redirectUri: consoleNext(next),
    state: "",
    codeChallenge: "",
    scopes: [],
    resources: [],
    nonce: "",
    prompt: [],
    console: true,
  };
}

/** Stands in for a client on the login page of a console sign-in. */
export const CONSOLE_CLIENT: ClientRecord = {
  clientId: CONSOLE_CLIENT_ID,
  secretHash: null,
  name: "the MeshAI console",
  redirectUris: [],
  tokenEndpointAuthMethod: "none",
  grantTypes: [],
  responseTypes: [],
  scope: "",
  jwksUri: null,
  jwks: null,
  clientUri: null,
  logoUri: null,
  registration: "admin",
  metadata: {},
  createdAt: 0,
  lastUsedAt: null,
  refreshAt: null,
};

/**
 * Mints console tokens. A session of a disabled user is no session
 * (Unauthenticated); a user who is not an administrator is refused
 * (PermissionDenied). The token's audience is the issuer, not the MCP
 * endpoint, so it is good for the RPCs only.
 */
export function createConsoleTokens(deps: { issuer: string; sessions: LoginSessions; accessTokens: AccessTokens }) {
  return {
    async issue(sessionToken: string): Promise<{ token: string; expiresAt: number; user: UserRecord }> {
      const live = await deps.sessions.require(sessionToken);
      if (!live.user.admin) throw new ConnectError("the admin console is for administrators only", Code.PermissionDenied);
      const issued = await deps.accessTokens.issue({
        subject: live.user.id,
        userId: live.user.id,
        clientId: CONSOLE_CLIENT_ID,
        scope: CONSOLE_SCOPE,
        audience: deps.issuer,
        ttlSeconds: CONSOLE_TOKEN_TTL_SECONDS,
      });
      return { token: issued.token, expiresAt: issued.expiresAt, user: live.user };
    },
  };
}

export type ConsoleTokens = ReturnType<typeof createConsoleTokens>;
