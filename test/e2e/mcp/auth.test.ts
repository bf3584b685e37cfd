import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpHarness, initializeMessage, json, rawPost, startMcpHarness } from "./harness.js";

// REFERENCES.md "MCP authorization": the challenges ChatGPT reads, byte for byte.
let h: McpHarness;
const METADATA = "http://localhost:8080/.well-known/oauth-protected-resource/v1/mcp";

beforeAll(async () => {
  h = await startMcpHarness({ tokenCacheMs: 100 });
});
afterAll(async () => {
  await h?.close();
});

const challenge = (description: string) =>
  `Bearer error="invalid_token", error_description="${description}", resource_metadata="${METADATA}", scope="mcp:read"`;

async function initWith(headers: Record<string, string>) {
  return rawPost(h.url, initializeMessage(), headers);
}

describe("a request without a usable token gets 401 with the exact invalid_token challenge", () => {
  it("no Authorization header", async () => {
    const res = await initWith({});
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge("an access token is required"));
    expect((await json(res)).error.code).toBe(-32016);
  });

  it("a non-Bearer scheme", async () => {
    const res = await initWith({ authorization: "Basic dXNlcjpwYXNz" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge("the authorization header must be 'Bearer <access token>'"));
  });

  it("a token that is not a JWT of ours", async () => {
    const res = await initWith({ authorization: "Bearer not.a.token" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge("access token is malformed"));
  });

  it("a token for another audience", async () => {
    const token = await h.token("mcp:read", "admin@example.com", { resource: "http://localhost:8080" });
    const res = await initWith({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge("access token aud claim is not accepted here"));
  });

  it("an expired token", async () => {
    const token = await h.token("mcp:read", "admin@example.com", { ttlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const res = await initWith({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge("access token has expired"));
  });

  it("a revoked token, even in the middle of a session", async () => {
    const token = await h.token("mcp:read", "admin@example.com");
    const ok = await initWith({ authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    await ok.text();
    const { jti } = decodeJwt(token);
    await h.t.core.platform.db.knex("access_tokens").where({ jti }).update({ revoked_at: Date.now() });
    await new Promise((r) => setTimeout(r, 150)); // past the facade's positive cache
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 2, method: "ping" }, {
      authorization: `Bearer ${token}`,
      "mcp-session-id": ok.headers.get("mcp-session-id")!,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge("access token has been revoked"));
  });

  it("GET, DELETE and the legacy SSE endpoint are guarded the same way", async () => {
    for (const [method, path] of [["GET", "/v1/mcp"], ["DELETE", "/v1/mcp"], ["GET", "/v1/mcp/sse"], ["POST", "/v1/mcp/messages?sessionId=x"]] as const) {
      const res = await fetch(`${h.facade.url}${path}`, { method, headers: { accept: "text/event-stream" } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(challenge("an access token is required"));
    }
  });

  it("the challenge points at protected resource metadata that names this resource", async () => {
    const res = await fetch(`${h.facade.url}/.well-known/oauth-protected-resource/v1/mcp`);
    expect((await json(res)).resource).toBe("http://localhost:8080/v1/mcp");
  });
});

describe("a token without the baseline scope gets the 403 step-up challenge", () => {
  it("names the needed scope plus those already granted", async () => {
    const token = await h.token("mcp:execute", "admin@example.com");
    const res = await initWith({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", scope="mcp:read mcp:execute", resource_metadata="${METADATA}", ` +
        `error_description="this MCP server needs the mcp:read scope"`,
    );
  });
});

describe("a tool called without its scope answers isError with the challenge in _meta", () => {
  it("mesh_execute with only mcp:read", async () => {
    const client = await h.client(await h.token("mcp:read", "admin@example.com"));
    const result: any = await client.callTool({ name: "mesh_execute", arguments: { task: "hello" } });
    expect(result.isError).toBe(true);
    expect(result.content[0].text).toBe("mesh_execute needs the mcp:execute scope, which this token was not granted");
    expect(result._meta["mcp/www_authenticate"]).toEqual([
      `Bearer error="insufficient_scope", scope="mcp:execute mcp:read", resource_metadata="${METADATA}", ` +
        `error_description="mesh_execute needs the mcp:execute scope, which this token was not granted"`,
    ]);
  });

  it("register_agent with read and execute but not manage", async () => {
    const client = await h.client(await h.token("mcp:read mcp:execute", "admin@example.com"));
    const result: any = await client.callTool({ name: "register_agent", arguments: { name: "x", protocol: "a2a", endpoint: "https://a.example" } });
    expect(result.isError).toBe(true);
    expect(result._meta["mcp/www_authenticate"][0]).toMatch(/^Bearer error="insufficient_scope", scope="mcp:manage mcp:read mcp:execute"/);
  });
});
