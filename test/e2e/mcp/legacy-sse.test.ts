import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpHarness, json, startMcpHarness } from "./harness.js";

// The HTTP+SSE transport of protocol 2024-11-05, for clients that only speak it.
let h: McpHarness;

beforeAll(async () => {
  h = await startMcpHarness();
});
afterAll(async () => {
  await h?.close();
});

async function legacyClient(token: string): Promise<Client> {
  const client = new Client({ name: "legacy-test", version: "1.0.0" });
  await client.connect(new SSEClientTransport(new URL(`${h.facade.url}/v1/mcp/sse`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

describe("the legacy SSE transport serves the same tools", () => {
  it("lists tools and calls search and mesh_execute with progress over SSEClientTransport", async () => {
    const client = await legacyClient(await h.token("mcp:read mcp:execute"));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("mesh_execute");
    const found: any = await client.callTool({ name: "search", arguments: { query: "data analysis" } });
    expect(found.isError).toBeFalsy();
    expect(found.structuredContent.results.length).toBeGreaterThan(0);
    const progress: number[] = [];
    const ran: any = await client.callTool(
      { name: "mesh_execute", arguments: { task: "Summarize this CSV:\nname,score\nann,3\nbob,5", capabilities: ["data_analysis"] } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(ran.isError, JSON.stringify(ran.content)).toBeFalsy();
    expect(ran.structuredContent).toMatchObject({ state: "completed", agent_id: "builtin.data-analyst" });
    expect(progress.length).toBeGreaterThan(1);
    await client.close();
  });
});

describe("the legacy transport's message endpoint is bound to the stream's user", () => {
  it("answers 404 to a message for an unknown session or another user's session", async () => {
    const token = await h.token("mcp:read", "carol@example.com");
    const other = await h.token("mcp:read", "dave@example.com");
    const ac = new AbortController();
    const stream = await fetch(`${h.facade.url}/v1/mcp/sse`, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }, signal: ac.signal });
    const reader = stream.body!.getReader();
    let text = "";
    while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    const endpoint = /data: (\S+)/.exec(text)![1]!;
    expect(endpoint).toMatch(/^\/v1\/mcp\/messages\?sessionId=/);
    const post = (t: string, path: string) =>
      fetch(`${h.facade.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      });
    const theirs = await post(other, endpoint);
    expect(theirs.status).toBe(404);
    expect((await json(theirs)).error.code).toBe(-32001);
    expect((await post(token, "/v1/mcp/messages?sessionId=nope")).status).toBe(404);
    expect((await post(token, endpoint)).status).toBe(202);
    ac.abort();
  });
});
