import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { auth, extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientSite, type OAuthStack, launchBrowser, signInAndDecide, startClientSite, startOAuthStack } from "./harness.js";
import { MemoryProvider } from "../../support/mcp-oauth-provider.js";

// The MCP SDK's own client auth flow, from a 401 at the MCP resource to refreshed tokens, against the real servers.
let stack: OAuthStack;
let site: ClientSite;
let browser: Browser;
let page: Page;
let provider: MemoryProvider;
let mcpUrl: string;
let resourceMetadataUrl: URL | undefined;

const USER = { email: "mia@example.com", password: "mia-password-1" };

beforeAll(async () => {
  [stack, site, browser] = await Promise.all([startOAuthStack(), startClientSite(), launchBrowser()]);
  await stack.addUser(USER.email, USER.password, { name: "Mia" });
  page = await browser.newPage();
  mcpUrl = stack.mcpResource;
  provider = new MemoryProvider(site.redirectUri);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await stack?.close();
});

async function listTools(): Promise<string[]> {
  const client = new Client({ name: "mcp-sdk-oauth-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe("the MCP resource points an unauthenticated client at its metadata", () => {
  it("answers 401 with a Bearer challenge naming the protected resource metadata", async () => {
    const res = await fetch(mcpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(res.status).toBe(401);
    resourceMetadataUrl = extractWWWAuthenticateParams(res).resourceMetadataUrl;
    expect(resourceMetadataUrl?.href).toBe(`${stack.issuer}/.well-known/oauth-protected-resource/v1/mcp`);
  });
});

describe("auth() discovers, registers and sends the person to authorize", () => {
  it("follows protected resource metadata to the authorization server, registers by DCR and builds a PKCE S256 request for the MCP resource", async () => {
    expect(await auth(provider, { serverUrl: mcpUrl, resourceMetadataUrl })).toBe("REDIRECT");
    expect(provider.information?.client_id).toBeTruthy();
    const url = provider.authorizationUrl!;
    expect(url.origin + url.pathname).toBe(`${stack.issuer}/oauth/authorize`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("resource")).toBe(mcpUrl);
    expect(url.searchParams.get("state")).toBe(provider.lastState);
  });
});

let code = "";

describe("the browser step in real Chromium", () => {
  it("the person signs in and allows; the code returns to the loopback redirect URI with state and iss", async () => {
    const back = await signInAndDecide(page, site, provider.authorizationUrl!.href, { ...USER, screenshots: "mcp-sdk" });
    expect(back.searchParams.get("state")).toBe(provider.lastState);
    expect(back.searchParams.get("iss")).toBe(stack.issuer);
    code = back.searchParams.get("code") ?? "";
    expect(code).not.toBe("");
  });
});

describe("auth() exchanges the code", () => {
  it("gets tokens for the MCP resource; mcp:manage is dropped for a non-admin", async () => {
    expect(await auth(provider, { serverUrl: mcpUrl, resourceMetadataUrl, authorizationCode: code })).toBe("AUTHORIZED");
    const tokens = provider.saved!;
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope?.split(" ").sort()).toEqual(["mcp:execute", "mcp:read"]);
    const payload = JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString());
    expect(payload.aud).toBe(mcpUrl);
  });

  it("the access token opens an MCP session", async () => {
    expect((await listTools()).length).toBeGreaterThan(0);
  });
});

describe("auth() refreshes", () => {
  it("trades the refresh token for a new pair without the browser, and the new access token works", async () => {
    const before = provider.saved!;
    provider.authorizationUrl = undefined;
    expect(await auth(provider, { serverUrl: mcpUrl, resourceMetadataUrl })).toBe("AUTHORIZED");
    expect(provider.authorizationUrl).toBeUndefined();
    expect(provider.saved!.access_token).not.toBe(before.access_token);
    expect(provider.saved!.refresh_token).not.toBe(before.refresh_token);
    expect((await listTools()).length).toBeGreaterThan(0);
  });
});
