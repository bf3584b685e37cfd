import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { type RunningFacade, startFacade } from "../../src/facade/server.js";
import { createObservability } from "../../src/observability/observability.js";
import { startTestCore, type TestCore, testEnv } from "../support/core.js";
import { authorizeOverHttp, failedLoginOverHttp, newPkce, registerClient, tokenRequest } from "../support/oauth-http.js";
import { type Family, parseExposition, samples, total } from "../support/prometheus.js";
import { type ObservedStack, startObservedStack } from "./support.js";

// One real core and facade sharing one registry (as in `meshai serve`), driven through real traffic:
// an OAuth flow, a refused token, a failed login, an MCP session with an open stream, a task on a built-in agent.
let stack: ObservedStack;
let facadeMetrics: Map<string, Family>;
let coreMetrics: Map<string, Family>;
let sseOpenWhileScraped = 0;
let sessionsOpenWhileScraped = 0;
const REDIRECT = "http://127.0.0.1:9/callback";
const ADMIN = { email: "admin@example.com", password: "admin-password-1" };

async function scrape(url: string): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

beforeAll(async () => {
  stack = await startObservedStack();
  const base = stack.issuer;
  const client = await registerClient(base, { client_name: "Metrics Test", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" });
  const pkce = newPkce();
  const { code } = await authorizeOverHttp(base, {
    clientId: client.client_id,
    redirectUri: REDIRECT,
    scope: "mcp:read mcp:execute",
    email: ADMIN.email,
    password: ADMIN.password,
    resource: stack.mcpUrl,
    pkce,
  });
  const tokens = await tokenRequest(base, { grant_type: "authorization_code", code, code_verifier: pkce.verifier, redirect_uri: REDIRECT, client_id: client.client_id });

  // A refused token (bad signature) at the MCP endpoint, and a refused code at the token endpoint.
  const [head, body] = tokens.access_token.split(".");
  const forged = await fetch(stack.mcpUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${head}.${body}.${"A".repeat(86)}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  expect(forged.status).toBe(401);

  expect((await failedLoginOverHttp(base, { clientId: client.client_id, redirectUri: REDIRECT, email: ADMIN.email, password: "wrong-password-1" })).status).toBe(400);

  // An MCP session, a task run through the built-in security scanner, and an open server-sent event stream.
  const mcp = new Client({ name: "metrics-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } } });
  await mcp.connect(transport);
  const result = await mcp.callTool({ name: "mesh_execute", arguments: { task: "Check this code for security vulnerabilities:\n```js\neval(userInput)\n```" } });
  expect(result.isError).toBeFalsy();
  const stream = new AbortController();
  const sse = await fetch(stack.mcpUrl, {
    headers: { authorization: `Bearer ${tokens.access_token}`, accept: "text/event-stream", "mcp-session-id": transport.sessionId!, "mcp-protocol-version": "2025-11-25" },
    signal: stream.signal,
  });
  // 409: the SDK client already holds the session's one standalone stream; either way one is open now.
  expect([200, 409]).toContain(sse.status);

  // Replaying the code is refused at the token endpoint.
  await expect(tokenRequest(base, { grant_type: "authorization_code", code, code_verifier: pkce.verifier, redirect_uri: REDIRECT, client_id: client.client_id })).rejects.toThrow(/400/);

  facadeMetrics = await scrape(stack.facade.url);
  sseOpenWhileScraped = total(facadeMetrics, "meshai_sse_streams_open");
  sessionsOpenWhileScraped = total(facadeMetrics, "meshai_mcp_sessions_open");
  stream.abort();
  await mcp.close();
  coreMetrics = await scrape(stack.core.url);
});
afterAll(async () => {
  await stack?.close();
});

describe("/metrics is Prometheus text with every MeshAI family, after real traffic", () => {
  it("has HELP and TYPE for each family and the meshai_ families the operations guide lists", () => {
    for (const [name, f] of facadeMetrics) {
      expect(f.help, name).not.toBe("");
      expect(f.type, name).not.toBe("untyped");
    }
    const expected: Record<string, string> = {
      meshai_http_requests_total: "counter",
      meshai_http_request_duration_seconds: "histogram",
      meshai_rpc_requests_total: "counter",
      meshai_rpc_duration_seconds: "histogram",
      meshai_tokens_issued_total: "counter",
      meshai_tokens_refused_total: "counter",
      meshai_login_failures_total: "counter",
      meshai_mcp_sessions_open: "gauge",
      meshai_sse_streams_open: "gauge",
      meshai_tasks: "gauge",
      meshai_task_completions_total: "counter",
      meshai_agent_call_duration_seconds: "histogram",
      meshai_agent_call_errors_total: "counter",
      meshai_circuit_breaker_state: "gauge",
      process_cpu_seconds_total: "counter",
      nodejs_eventloop_lag_seconds: "gauge",
    };
    for (const [name, type] of Object.entries(expected)) expect(facadeMetrics.get(name)?.type, name).toBe(type);
  });

  it("counts HTTP requests by route template, never the raw path or query", () => {
    expect(total(facadeMetrics, "meshai_http_requests_total", { method: "POST", route: "/oauth/token", status: "200" })).toBe(1);
    expect(total(facadeMetrics, "meshai_http_requests_total", { method: "POST", route: "/oauth/token", status: "400" })).toBe(1);
    expect(total(facadeMetrics, "meshai_http_request_duration_seconds_count", { route: "/oauth/authorize" })).toBeGreaterThanOrEqual(2);
    const routes = new Set(samples(facadeMetrics, "meshai_http_requests_total").map((s) => s.labels.route));
    for (const r of routes) expect(r).not.toMatch(/[?=]/);
  });

  it("counts RPCs by service, method and gRPC code", () => {
    expect(total(facadeMetrics, "meshai_rpc_requests_total", { service: "meshai.v1.AuthService", method: "Token", code: "OK" })).toBe(1);
    expect(total(facadeMetrics, "meshai_rpc_requests_total", { service: "meshai.v1.AuthService", method: "Token", code: "INVALID_ARGUMENT" })).toBe(1);
    expect(total(facadeMetrics, "meshai_rpc_duration_seconds_count", { service: "meshai.v1.MeshService", method: "ExecuteTask" })).toBeGreaterThanOrEqual(1);
  });

  it("counts tokens issued by grant type and refused by stage and reason", () => {
    expect(total(facadeMetrics, "meshai_tokens_issued_total", { grant_type: "authorization_code" })).toBe(1);
    expect(total(facadeMetrics, "meshai_tokens_refused_total", { stage: "verification", reason: "bad_signature" })).toBeGreaterThanOrEqual(1);
    expect(total(facadeMetrics, "meshai_tokens_refused_total", { stage: "token_endpoint", reason: "invalid_grant" })).toBe(1);
  });

  it("counts failed logins by reason", () => {
    expect(total(facadeMetrics, "meshai_login_failures_total", { reason: "bad_credentials" })).toBe(1);
  });

  it("shows the open MCP session and the open SSE stream while they are open", () => {
    expect(sessionsOpenWhileScraped).toBeGreaterThanOrEqual(1);
    expect(sseOpenWhileScraped).toBeGreaterThanOrEqual(1);
  });

  it("reports tasks by state from the database, completions, agent latency and the breaker state", () => {
    expect(total(facadeMetrics, "meshai_tasks", { kind: "task", state: "completed" })).toBe(1);
    expect(total(facadeMetrics, "meshai_task_completions_total", { kind: "task", outcome: "completed" })).toBe(1);
    expect(total(facadeMetrics, "meshai_agent_call_duration_seconds_count", { agent_id: "builtin.security-scanner", outcome: "ok" })).toBe(1);
    expect(samples(facadeMetrics, "meshai_circuit_breaker_state", { agent_id: "builtin.security-scanner" }).map((s) => s.value)).toEqual([0]);
  });

  it("is also served on the core's port (HTTP/1.1), for split deployments", () => {
    expect(total(coreMetrics, "meshai_rpc_requests_total", { method: "Token" })).toBeGreaterThanOrEqual(2);
    expect(coreMetrics.get("meshai_tasks")?.type).toBe("gauge");
  });
});

describe("/metrics answers only the addresses in MESHAI_METRICS_ALLOW", () => {
  let t: TestCore;
  let facade: RunningFacade;
  let proxied: RunningFacade;
  beforeAll(async () => {
    t = await startTestCore({ MESHAI_METRICS_ALLOW: "10.0.0.0/8" });
    const env = testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_METRICS_ALLOW: "10.0.0.0/8" });
    facade = await startFacade(loadConfig(env), undefined, { observability: createObservability({ logLevel: "silent" }, { defaultMetrics: false }), graceMs: 200 });
    const proxyEnv = testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_TRUST_PROXY: "1" });
    proxied = await startFacade(loadConfig(proxyEnv), undefined, { observability: createObservability({ logLevel: "silent" }, { defaultMetrics: false }), graceMs: 200 });
  });
  afterAll(async () => {
    await proxied?.close();
    await facade?.close();
    await t?.close();
  });

  it("refuses loopback when only 10.0.0.0/8 may scrape: 403 in the facade's JSON error shape", async () => {
    const res = await fetch(`${facade.url}/metrics`);
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe("forbidden");
    expect(body.error_description).toMatch(/MESHAI_METRICS_ALLOW/);
    expect(body.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("refuses it on the core's port too", async () => {
    const res = await fetch(`${t.core.url}/metrics`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("forbidden");
  });

  it("judges the client address behind a trusted proxy (X-Forwarded-For), not the proxy's", async () => {
    expect((await fetch(`${proxied.url}/metrics`, { headers: { "x-forwarded-for": "203.0.113.9" } })).status).toBe(403);
    expect((await fetch(`${proxied.url}/metrics`, { headers: { "x-forwarded-for": "127.0.0.1" } })).status).toBe(200);
  });

  it("refuses a bad MESHAI_METRICS_ALLOW at start, naming the entry", () => {
    expect(() => loadConfig(testEnv({ MESHAI_METRICS_ALLOW: "10.0.0.0/8, not-an-address" }))).toThrow(/MESHAI_METRICS_ALLOW.*not-an-address/);
  });
});

describe("the core's /metrics also answers HTTP/2 (h2c) clients", () => {
  it("serves the exposition over h2c to an allowed peer", async () => {
    const http2 = await import("node:http2");
    const session = http2.connect(stack.core.url);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ":method": "GET", ":path": "/metrics" });
        let status = 0;
        let body = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.setEncoding("utf8");
        req.on("data", (c: string) => (body += c));
        req.on("end", () => resolve({ status, body }));
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(parseExposition(body).get("meshai_rpc_requests_total")?.type).toBe("counter");
    } finally {
      session.close();
    }
  });
});

describe("in a split deployment each process's /metrics shows its own half", () => {
  let t: TestCore;
  let facade: RunningFacade;
  beforeAll(async () => {
    t = await startTestCore();
    const env = testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer });
    facade = await startFacade(loadConfig(env), undefined, { observability: createObservability({ logLevel: "silent" }), graceMs: 200 });
  });
  afterAll(async () => {
    await facade?.close();
    await t?.close();
  });

  it("counts the facade's HTTP request on the facade and the RPC it made on the core, each once", async () => {
    expect((await fetch(`${facade.url}/.well-known/oauth-authorization-server`)).status).toBe(200);
    const onFacade = await scrape(facade.url);
    const onCore = await scrape(t.core.url);
    expect(total(onFacade, "meshai_http_requests_total", { route: "/.well-known/oauth-authorization-server" })).toBe(1);
    expect(total(onFacade, "meshai_rpc_requests_total")).toBe(0);
    expect(total(onCore, "meshai_rpc_requests_total", { service: "meshai.v1.AuthService" })).toBeGreaterThanOrEqual(1);
    expect(total(onCore, "meshai_http_requests_total")).toBe(0);
    expect(onFacade.get("process_cpu_seconds_total")?.type).toBe("counter");
  });
});
