import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpHarness, initializeMessage, json, rawPost, startMcpHarness } from "./harness.js";

// The facade outlives its core: MCP clients get a retryable error, never a 500 or a hang.
let h: McpHarness;

beforeAll(async () => {
  h = await startMcpHarness({ tokenCacheMs: 60_000 });
});
afterAll(async () => {
  await h?.close();
});

describe("while the core is down the MCP endpoint answers 503 and tool errors, never 500", () => {
  it("an unchecked token gets 503 with a JSON-RPC error; a session's tool call gets a retryable tool error", async () => {
    const known = await h.token("mcp:read mcp:execute", "admin@example.com");
    const fresh = await h.token("mcp:read", "other@example.com");
    const client = await h.client(known); // checks `known` while the core is up
    await h.t.core.close(100);

    const res = await rawPost(h.url, initializeMessage(), { authorization: `Bearer ${fresh}` });
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ jsonrpc: "2.0", id: null, error: { message: "service temporarily unavailable, try again" } });

    const r: any = await client.callTool({ name: "list_agents", arguments: {} });
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toMatch(/temporarily unavailable/);
  });
});
