import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { type Client as RpcClient, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../../gen/meshai/v1/auth_pb.js";
import { loadConfig } from "../../../src/config.js";
import type { Clock } from "../../../src/core/clock.js";
import { openPlatform } from "../../../src/core/platform.js";
import { type RunningCore, startCore } from "../../../src/core/server.js";
import { type DatabaseTarget, freshPostgresDatabase } from "../../support/postgres.js";
import { testEnv } from "../../support/core.js";

/** A clock the test moves by hand. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function testClock(start = Date.now()): TestClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

export interface OAuthCore {
  core: RunningCore;
  auth: RpcClient<typeof AuthService>;
  clock: TestClock;
  issuer: string;
  mcpResource: string;
  /** The fresh PostgreSQL database's URL, when the target is PostgreSQL. */
  databaseUrl?: string;
  close(): Promise<void>;
}

export const PASSWORD = "user-password-1";
export const ADMIN_EMAIL = "admin@example.com";
export const ADMIN_PASSWORD = "admin-password-1";

/** A real core on loopback (SQLite file or a fresh PostgreSQL database) with a hand-moved clock, reached over Connect. */
export async function startOAuthCore(target: DatabaseTarget = { name: "sqlite" }, extra: Record<string, string> = {}): Promise<OAuthCore> {
  const pgdb = target.url ? await freshPostgresDatabase(target.url) : undefined;
  const env = testEnv({ ...(pgdb ? { MESHAI_DATABASE_URL: pgdb.url } : {}), ...extra });
  const config = loadConfig(env);
  const clock = testClock();
  const platform = await openPlatform(config, clock);
  const core = await startCore(config, { platform });
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: core.url, httpVersion: "1.1" }));
  return {
    core,
    auth,
    clock,
    issuer: config.issuer,
    mcpResource: config.mcpResource,
    databaseUrl: pgdb?.url,
    async close() {
      await core.close(200);
      await pgdb?.drop();
      fs.rmSync(env.MESHAI_DATA_DIR!, { recursive: true, force: true });
    },
  };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export const REDIRECT = "http://127.0.0.1:7777/callback";

/** Registers a public (PKCE) client by DCR. */
export async function publicClient(t: OAuthCore, metadata: Record<string, unknown> = {}, address = "127.0.0.10"): Promise<string> {
  const res = await t.auth.registerClient({
    metadata: { client_name: "Test app", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", ...metadata } as never,
    remoteAddress: address,
  });
  return res.client!.clientId;
}

/** Registers a confidential client (client_secret_basic) by DCR. */
export async function secretClient(t: OAuthCore, metadata: Record<string, unknown> = {}): Promise<{ clientId: string; secret: string }> {
  const res = await t.auth.registerClient({
    metadata: { client_name: "Secret app", redirect_uris: [REDIRECT], token_endpoint_auth_method: "client_secret_basic", ...metadata } as never,
    remoteAddress: "127.0.0.11",
  });
  return { clientId: res.client!.clientId, secret: res.clientSecret };
}

export interface Authorized {
  code: string;
  verifier: string;
  sessionToken: string;
  redirect: URL;
}

/**
 * Runs the interactive flow as the facade would: StartAuthorization, Login,
 * DecideConsent (approve), and returns the code from the final redirect.
 */
export async function authorize(
  t: OAuthCore,
  clientId: string,
  opts: { email: string; password?: string; scope?: string; resources?: string[]; nonce?: string; sessionToken?: string; address?: string } = { email: ADMIN_EMAIL },
): Promise<Authorized> {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString("hex");
  const started = await t.auth.startAuthorization({
    clientId,
    redirectUri: REDIRECT,
    responseType: "code",
    scope: opts.scope ?? "mcp:read",
    state,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
    resources: opts.resources ?? [],
    nonce: opts.nonce ?? "",
    sessionToken: opts.sessionToken ?? "",
  });
  let sessionToken = opts.sessionToken ?? "";
  let next = started.next;
  if (next.case === "login") {
    const login = await t.auth.login({
      interactionId: next.value.id,
      csrfToken: next.value.csrfToken,
      email: opts.email,
      password: opts.password ?? (opts.email === ADMIN_EMAIL ? ADMIN_PASSWORD : PASSWORD),
      remoteAddress: opts.address ?? "127.0.0.20",
    });
    sessionToken = login.sessionToken;
    next = login.next!.next;
  }
  let redirectTo: string;
  if (next.case === "consent") {
    const decided = await t.auth.decideConsent({ interactionId: next.value.id, csrfToken: next.value.csrfToken, sessionToken, approve: true });
    redirectTo = decided.redirectTo;
  } else if (next.case === "redirectTo") {
    redirectTo = next.value;
  } else {
    throw new Error(`unexpected step ${String(next.case)}`);
  }
  const redirect = new URL(redirectTo);
  if (redirect.searchParams.get("state") !== state) throw new Error("state was not echoed");
  const code = redirect.searchParams.get("code");
  if (!code) throw new Error(`no code: ${redirectTo}`);
  return { code, verifier, sessionToken, redirect };
}

/** Exchanges a code as a public client. */
export function exchange(t: OAuthCore, clientId: string, a: Authorized, extra: Record<string, unknown> = {}) {
  return t.auth.token({
    grantType: "authorization_code",
    code: a.code,
    redirectUri: REDIRECT,
    codeVerifier: a.verifier,
    client: { clientId, method: "none", endpoint: `${t.issuer}/oauth/token` },
    ...extra,
  });
}

export function refresh(t: OAuthCore, clientId: string, refreshToken: string, extra: Record<string, unknown> = {}) {
  return t.auth.token({
    grantType: "refresh_token",
    refreshToken,
    client: { clientId, method: "none", endpoint: `${t.issuer}/oauth/token` },
    ...extra,
  });
}

export const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** The oauth-error code a failed RPC carried. */
export function oauthCodeOf(e: unknown): string | null {
  return (e as { metadata?: Headers }).metadata?.get("oauth-error") ?? null;
}
