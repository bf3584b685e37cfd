import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError, auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientSite, type OAuthStack, launchBrowser, signInAndDecide, startClientSite, startOAuthStack } from "../oauth/harness.js";
import { MemoryProvider } from "../../support/mcp-oauth-provider.js";

// The whole path a person takes in ChatGPT-like client, with the MCP SDK's client doing the OAuth
// dance on its own: 401 -> discovery -> DCR -> PKCE -> Chromium sign-in and consent -> tools ->
// step-up -> progress -> automatic refresh -> revoke, after which the next call is refused.
// (Cancellation is covered against a held agent in tools.test.ts.)
let stack: OAuthStack;
let site: ClientSite;
let browser: Browser;
let page: Page;
let provider: MemoryProvider;
let client: Client;

const USER = { email: "nina@example.com", password: "nina-password-1" };

function newTransport(): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(stack.mcpResource), { authProvider: provider });
}

beforeAll(async () => {
  [stack, site, browser] = await Promise.all([startOAuthStack({ MESHAI_ACCESS_TOKEN_TTL: "3" }), startClientSite(), launchBrowser()]);
  await stack.addUser(USER.email, USER.password, { name: "Nina" });
  page = await browser.newPage();
  provider = new MemoryProvider(site.redirectUri, "MCP end-to-end client");
});
afterAll(async () => {
  await client?.close().catch(() => undefined);
  await browser?.close();
  await site?.close();
  await stack?.close();
});

describe("an MCP client without a token is sent through OAuth by the 401 challenge", () => {
  it("connect fails with UnauthorizedError after registering by DCR and building a PKCE authorization URL", async () => {
    const transport = newTransport();
    await expect(new Client({ name: "e2e", version: "1" }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.information?.client_id).toBeTruthy();
    const url = provider.authorizationUrl!;
    expect(url.origin + url.pathname).toBe(`${stack.issuer}/oauth/authorize`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("resource")).toBe(stack.mcpResource);
    expect(url.searchParams.get("scope")?.split(" ")).toContain("mcp:read");

    const back = await signInAndDecide(page, site, url.href, { ...USER, screenshots: "mcp-e2e" });
    expect(back.searchParams.get("state")).toBe(provider.lastState);
    await transport.finishAuth(back.searchParams.get("code")!);
    expect(provider.saved?.refresh_token).toBeTruthy();
  });
});

describe("with the token the client uses every tool its scopes allow, and steps up for the rest", () => {
  it("lists the tools and calls search, fetch and list_agents with the mcp:read the challenge asked for", async () => {
    expect(provider.saved!.scope?.split(" ")).toEqual(["mcp:read"]);
    client = new Client({ name: "e2e", version: "1" });
    await client.connect(newTransport());
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["search", "fetch", "list_agents", "mesh_execute", "submit_workflow", "get_task", "cancel_task"]));

    const found: any = await client.callTool({ name: "search", arguments: { query: "security" } });
    expect(found.isError).toBeFalsy();
    const fetched: any = await client.callTool({ name: "fetch", arguments: { id: found.structuredContent.results[0].id } });
    expect(fetched.structuredContent.url).toMatch(/^http/);
    const agents: any = await client.callTool({ name: "list_agents", arguments: {} });
    expect(agents.structuredContent.agents.length).toBeGreaterThan(0);
  });

  it("mesh_execute answers with the step-up challenge; re-authorizing for its scope in the browser makes it run with progress", async () => {
    const refused: any = await client.callTool({ name: "mesh_execute", arguments: { task: "hello" } });
    expect(refused.isError).toBe(true);
    const challenge: string = refused._meta["mcp/www_authenticate"][0];
    const scope = /scope="([^"]+)"/.exec(challenge)![1]!;
    expect(scope).toBe("mcp:execute mcp:read");

    // A step-up is a new authorization, not a refresh of the narrower grant. The SDK registered the
    // client (DCR) with the challenge's scope, which caps what that registration may ask for, so the
    // client registers again for the wider scope.
    provider.saved = undefined;
    provider.information = undefined;
    expect(await auth(provider, { serverUrl: stack.mcpResource, scope })).toBe("REDIRECT");
    const back = await signInAndDecide(page, site, provider.authorizationUrl!.href, USER);
    expect(await auth(provider, { serverUrl: stack.mcpResource, scope, authorizationCode: back.searchParams.get("code")! })).toBe("AUTHORIZED");
    expect(provider.saved!.scope?.split(" ").sort()).toEqual(["mcp:execute", "mcp:read"]);

    await client.close();
    client = new Client({ name: "e2e", version: "1" });
    await client.connect(newTransport());
    const progress: number[] = [];
    const ran: any = await client.callTool(
      { name: "mesh_execute", arguments: { task: "Find security problems in: password = 'hunter2'; eval(input)" } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(ran.isError, JSON.stringify(ran.content)).toBeFalsy();
    expect(progress.length).toBeGreaterThan(2);
    const task: any = await client.callTool({ name: "get_task", arguments: { id: ran.structuredContent.task_id } });
    expect(task.structuredContent.state).toBe("completed");
  });

  it("mcp:manage tools answer a non-admin with the step-up challenge", async () => {
    const manage: any = await client.callTool({ name: "remove_agent", arguments: { id: "builtin.docs" } });
    expect(manage.isError).toBe(true);
    expect(manage._meta["mcp/www_authenticate"][0]).toMatch(/insufficient_scope/);
  });
});

describe("an expired access token is refreshed by the client without the person", () => {
  it("the next call after expiry succeeds on a new access token", async () => {
    const before = provider.saved!.access_token;
    await new Promise((r) => setTimeout(r, 3500));
    const res: any = await client.callTool({ name: "list_agents", arguments: {} });
    expect(res.isError).toBeFalsy();
    expect(provider.saved!.access_token).not.toBe(before);
  });
});

describe("after revocation the next call is refused", () => {
  it("revoking the refresh and access tokens ends the client's access", async () => {
    const { access_token, refresh_token } = provider.saved!;
    const clientId = provider.information!.client_id;
    for (const [token, hint] of [[refresh_token!, "refresh_token"], [access_token, "access_token"]] as const) {
      const res = await fetch(`${stack.issuer}/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, token_type_hint: hint, client_id: clientId }),
      });
      expect(res.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 1100)); // past the facade's one-second positive cache
    const raw = await fetch(stack.mcpResource, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(raw.status).toBe(401);
    expect(raw.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", error_description="access token has been revoked"/);
    await expect(client.callTool({ name: "list_agents", arguments: {} })).rejects.toThrow();
  });
});
