import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser, Page } from "playwright-core";
import { AuthService } from "../../gen/meshai/v1/auth_pb.js";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { ADMIN, type OAuthStack, launchBrowser, startOAuthStack } from "../e2e/oauth/harness.js";

/**
 * The admin console in a real browser: a core and facade on loopback
 * (admin@example.com / admin-password-1 is the administrator), Chromium, and
 * the person's sign-in through the same login page as the OAuth flow.
 *
 * @example
 * const { stack, browser } = await startConsole();
 * const page = await browser.newPage();
 * await signInToConsole(page, stack);            // lands on /admin
 * await page.goto(`${stack.issuer}/admin/users`);
 */
export { ADMIN, type OAuthStack };

export async function startConsole(env: Record<string, string> = {}): Promise<{ stack: OAuthStack; browser: Browser }> {
  const [stack, browser] = await Promise.all([startOAuthStack(env), launchBrowser()]);
  return { stack, browser };
}

/**
 * Opens `path` (default /admin), is sent to the login page, signs in and
 * waits to be back at `path`. Resolves once the console page has loaded.
 */
export async function signInToConsole(
  page: Page,
  stack: Pick<OAuthStack, "issuer">,
  opts: { email?: string; password?: string; path?: string } = {},
): Promise<void> {
  const target = opts.path ?? "/admin";
  await page.goto(`${stack.issuer}${target}`);
  await page.waitForURL(/\/oauth\/login\?/);
  await page.getByLabel("Email").fill(opts.email ?? ADMIN.email);
  await page.getByLabel("Password").fill(opts.password ?? ADMIN.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/oauth/login")), page.getByRole("button", { name: "Sign in" }).click()]);
}

export const ADMIN_SCREENSHOT_DIR = path.resolve("test-output", "admin");

/** Saves a full-page screenshot under test-output/admin/ (gitignored) for people to look at. */
export async function consoleScreenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ADMIN_SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ADMIN_SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** The core's AuthService over Connect, as a test drives the OAuth flow without a browser. */
export function coreAuth(stack: Pick<OAuthStack, "t">): Client<typeof AuthService> {
  return createClient(AuthService, createConnectTransport({ baseUrl: stack.t.core.url, httpVersion: "1.1" }));
}

export interface GrantedTokens {
  clientId: string;
  accessToken: string;
  refreshToken: string;
}

/**
 * A user's grant to a freshly registered public client (DCR at the facade),
 * made through the same RPCs the OAuth pages call, and the tokens the client
 * got under it (audience: the MCP endpoint; mcp:read offline_access unless `scope` says otherwise).
 */
export async function grantedTokens(
  stack: OAuthStack,
  user: { email: string; password: string },
  clientName = "Granted app",
  scope = "mcp:read offline_access",
): Promise<GrantedTokens> {
  const redirectUri = "http://127.0.0.1:7777/callback";
  const reg = await fetch(`${stack.issuer}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: clientName, redirect_uris: [redirectUri], token_endpoint_auth_method: "none" }),
  });
  if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${await reg.text()}`);
  const { client_id: clientId } = (await reg.json()) as { client_id: string };
  const auth = coreAuth(stack);
  const verifier = randomBytes(32).toString("base64url");
  const started = await auth.startAuthorization({
    clientId,
    redirectUri,
    responseType: "code",
    scope,
    codeChallenge: createHash("sha256").update(verifier).digest("base64url"),
    codeChallengeMethod: "S256",
  });
  if (started.next.case !== "login") throw new Error(`expected the login step, got ${String(started.next.case)}`);
  const login = await auth.login({
    interactionId: started.next.value.id,
    csrfToken: started.next.value.csrfToken,
    email: user.email,
    password: user.password,
    remoteAddress: "127.0.0.99",
  });
  const consent = login.next!.next;
  if (consent.case !== "consent") throw new Error(`expected the consent step, got ${String(consent.case)}`);
  const { redirectTo } = await auth.decideConsent({
    interactionId: consent.value.id,
    csrfToken: consent.value.csrfToken,
    sessionToken: login.sessionToken,
    approve: true,
  });
  const code = new URL(redirectTo).searchParams.get("code");
  if (!code) throw new Error(`no code in ${redirectTo}`);
  const tokenRes = await fetch(`${stack.issuer}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier, client_id: clientId }),
  });
  const tokens = (await tokenRes.json()) as { access_token?: string; refresh_token?: string };
  if (!tokens.access_token || !tokens.refresh_token) throw new Error(`token exchange failed: ${JSON.stringify(tokens)}`);
  return { clientId, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

/** The HTTP status the MCP endpoint answers an `initialize` carrying this bearer token with. */
export async function mcpStatus(stack: Pick<OAuthStack, "issuer">, token: string): Promise<number> {
  const res = await fetch(`${stack.issuer}/v1/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "admin-console-test", version: "1" } },
    }),
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}

/** A real gRPC call (HTTP/2, gRPC framing) to the core's MeshService/ListAgents with this token: the Connect code, Code.OK-like 0 on success. */
export async function grpcListAgentsCode(stack: Pick<OAuthStack, "t">, token: string): Promise<number> {
  const transport = createGrpcTransport({ baseUrl: stack.t.core.url });
  const mesh = createClient(MeshService, transport);
  try {
    await mesh.listAgents({}, { headers: { authorization: `Bearer ${token}` } });
    return 0;
  } catch (e) {
    return ConnectError.from(e).code;
  }
}
