import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { loadConfig } from "../../../src/config.js";
import type { McpOptions } from "../../../src/facade/mcp/routes.js";
import { type RunningFacade, startFacade } from "../../../src/facade/server.js";
import { facadeCoreLink, type TestCore, startTestCore, testEnv } from "../../support/core.js";

/** A real core and a real facade on loopback, and helpers to reach /v1/mcp as a user. */
export interface McpHarness {
  t: TestCore;
  facade: RunningFacade;
  /** `${facade.url}/v1/mcp` */
  url: string;
  issuer: string;
  /** A user token for the MCP resource. */
  token(scope?: string, email?: string, opts?: { admin?: boolean; resource?: string; ttlSeconds?: number }): Promise<string>;
  /** An SDK client, connected and initialized with this token. */
  client(token: string, opts?: { protocolVersion?: string }): Promise<Client>;
  close(): Promise<void>;
}

export async function startMcpHarness(mcp: McpOptions = {}, coreEnv: Record<string, string> = {}): Promise<McpHarness> {
  const t = await startTestCore(coreEnv);
  const config = { ...loadConfig(testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer })), mcp };
  const facade = await startFacade(config, facadeCoreLink(t), { graceMs: 200 });
  const url = `${facade.url}/v1/mcp`;
  const clients: Client[] = [];
  return {
    t,
    facade,
    url,
    issuer: t.config.issuer,
    token: (scope = "mcp:read mcp:execute", email, opts) => t.token(scope, email, opts),
    async client(token) {
      const client = new Client({ name: "meshai-test", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await facade.close();
      await t.close();
    },
  };
}

/** A raw POST to the MCP endpoint, as a client that does not use the SDK would send it. */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const initializeMessage = (protocolVersion = "2025-11-25", id: string | number = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

/** Opens a session by raw initialize + initialized; returns its id. */
export async function rawSession(url: string, token: string, protocolVersion = "2025-11-25"): Promise<string> {
  const res = await rawPost(url, initializeMessage(protocolVersion), { authorization: `Bearer ${token}` });
  if (res.status !== 200) throw new Error(`initialize answered ${res.status}: ${await res.text()}`);
  await res.text();
  const id = res.headers.get("mcp-session-id")!;
  const ack = await rawPost(url, { jsonrpc: "2.0", method: "notifications/initialized" }, {
    authorization: `Bearer ${token}`,
    "mcp-session-id": id,
    "mcp-protocol-version": protocolVersion,
  });
  await ack.text();
  return id;
}

/** The JSON-RPC messages of an SSE or JSON response body. */
export async function messagesOf(res: Response): Promise<any[]> {
  const text = await res.text();
  if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    return text
      .split("\n\n")
      .map((block) => block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"))
      .filter((d) => d.trim() !== "")
      .map((d) => JSON.parse(d));
  }
  return text ? [JSON.parse(text)] : [];
}

/** A response body as loosely typed JSON, for assertions. */
export const json = async (res: Response): Promise<any> => res.json();
