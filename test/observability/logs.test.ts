import http from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { loadConfig } from "../../src/config.js";
import { issueServiceToken } from "../../src/core/auth/service.js";
import { createBreakers } from "../../src/core/mesh/breaker.js";
import { createAccessTokenRepository } from "../../src/core/store/access-tokens.js";
import { tokenRefusalReason } from "../../src/core/telemetry.js";
import { createApp } from "../../src/facade/app.js";
import { createCoreClients } from "../../src/facade/core-client.js";
import { createLogger } from "../../src/observability/logger.js";
import { createObservability } from "../../src/observability/observability.js";
import { testEnv } from "../support/core.js";
import { failedLoginOverHttp, registerClient } from "../support/oauth-http.js";
import { captureLog, type LogLine, type ObservedStack, startObservedStack } from "./support.js";

let stack: ObservedStack;
beforeAll(async () => {
  stack = await startObservedStack();
});
afterAll(async () => {
  await stack?.close();
});

const lines = () => stack.log.lines();
const byRequest = (id: string) => lines().filter((l) => l.request_id === id);
const adminToken = async (scope: string) => {
  const p = stack.core.platform;
  const cfg = p.config;
  return (
    await issueServiceToken(
      { accounts: p.accounts, accessTokens: p.accessTokens, mcpResource: cfg.mcpResource, resources: cfg.resources, accessTokenTtl: cfg.accessTokenTtl },
      { email: "admin@example.com", scope, resource: "", ttlSeconds: 0 },
    )
  ).accessToken;
};

describe("the request id is carried from the facade into the core", () => {
  it("names one request in the facade's access line and in the core's RPC line", async () => {
    const res = await fetch(`${stack.issuer}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "Log Test", redirect_uris: ["http://127.0.0.1:9/cb"], token_endpoint_auth_method: "none" }),
    });
    expect(res.status).toBe(201);
    const id = res.headers.get("x-request-id")!;
    const seen = byRequest(id);
    const access = seen.find((l) => l.component === "facade" && l.msg === "request");
    const rpc = seen.find((l) => l.component === "core" && l.msg === "rpc");
    expect(access).toMatchObject({ level: "info", method: "POST", path: "/oauth/register", route: "/oauth/register", status: 201, remote_ip: "127.0.0.1" });
    expect(typeof access!.duration_ms).toBe("number");
    expect(rpc).toMatchObject({ level: "info", service: "meshai.v1.AuthService", method: "RegisterClient", grpc_code: "OK" });
  });

  it("keeps a sane X-Request-Id from a proxy in front of the facade, through to the core", async () => {
    const res = await fetch(`${stack.issuer}/.well-known/oauth-authorization-server`, { headers: { "x-request-id": "edge-7f3a.42" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("edge-7f3a.42");
    const seen = byRequest("edge-7f3a.42");
    expect(seen.some((l) => l.component === "facade" && l.msg === "request")).toBe(true);
    expect(seen.some((l) => l.component === "core" && l.msg === "rpc")).toBe(true);
  });

  it("gives a direct gRPC caller's RPC an id of its own, echoed in the response headers", async () => {
    const res = await fetch(`${stack.core.url}/meshai.v1.MeshService/ListDocs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(byRequest(id!).find((l) => l.msg === "rpc")).toMatchObject({ component: "core", method: "ListDocs", grpc_code: "OK" });
  });

  it("names the caller's subject and client id in the RPC line once a token is verified", async () => {
    const token = await adminToken("mcp:read");
    const res = await fetch(`${stack.core.url}/meshai.v1.MeshService/ListAgents`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-request-id": "subject-check-1" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    const admin = await stack.core.platform.users.byEmail("admin@example.com");
    expect(byRequest("subject-check-1").find((l) => l.msg === "rpc")).toMatchObject({ subject: admin!.id, grpc_code: "OK" });
  });
});

describe("access lines never carry the query string", () => {
  it("logs /oauth/authorize without its state, code_challenge or client_id", async () => {
    const res = await fetch(`${stack.issuer}/oauth/authorize?response_type=code&client_id=nobody&state=state-secret-91&code_challenge=chal-secret-91`, { redirect: "manual" });
    const id = res.headers.get("x-request-id")!;
    const access = byRequest(id).find((l) => l.msg === "request")!;
    expect(access.path).toBe("/oauth/authorize");
    expect(stack.log.raw.join("\n")).not.toMatch(/state-secret-91|chal-secret-91/);
  });
});

describe("domain events are logged with ids and reasons, never personal data or secrets", () => {
  it("a failed sign-in names the user id and the reason, not the email or the password", async () => {
    const client = await registerClient(stack.issuer, { client_name: "Login Log", redirect_uris: ["http://127.0.0.1:9/cb"], token_endpoint_auth_method: "none" });
    const res = await failedLoginOverHttp(stack.issuer, { clientId: client.client_id, redirectUri: "http://127.0.0.1:9/cb", email: "admin@example.com", password: "wrong-password-77" });
    const id = res.headers.get("x-request-id")!;
    const admin = await stack.core.platform.users.byEmail("admin@example.com");
    const line = lines().find((l) => l.event === "login_failed" && l.user_id === admin!.id);
    expect(line).toMatchObject({ level: "warn", reason: "bad_credentials", remote_ip: "127.0.0.1" });
    expect(byRequest(id).some((l) => l.msg === "request" && l.status === 400)).toBe(true);
    const all = stack.log.raw.join("\n");
    expect(all).not.toContain("wrong-password-77");
    expect(all).not.toContain("admin@example.com");
  });

  it("a task that fails is logged at warn with its id and why", async () => {
    const token = await adminToken("mcp:execute mcp:read");
    const mesh = createClient(MeshService, createGrpcTransport({ baseUrl: stack.core.url }));
    let taskId = "";
    for await (const r of mesh.executeTask({ task: "teleport me", capabilities: ["teleportation"] }, { headers: { authorization: `Bearer ${token}` } })) {
      taskId = r.event?.taskId || taskId;
    }
    const line = lines().find((l) => l.event === "task_failed" && l.task_id === taskId);
    expect(line).toMatchObject({ level: "warn", component: "core" });
    expect(String(line!.error)).toMatch(/teleportation/);
  });

  it("an agent turning unhealthy is logged at warn with its id and the probe's reason", async () => {
    const token = await adminToken("mcp:manage mcp:read");
    const call = (method: string, body: unknown) =>
      fetch(`${stack.core.url}/meshai.v1.MeshService/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const reg = await call("RegisterAgent", {
      agent: { id: "gone-agent", name: "Gone", protocol: "AGENT_PROTOCOL_MESHAI_HTTP", endpoint: "http://127.0.0.1:9", capabilities: ["text_generation"] },
    });
    expect(reg.status).toBe(200);
    expect((await call("CheckAgentHealth", { id: "gone-agent" })).status).toBe(200);
    expect(lines().find((l) => l.event === "agent_health" && l.agent_id === "gone-agent")).toMatchObject({ level: "warn", to: "unhealthy" });
  });

  it("a refused token is logged and counted with the verifier's reason", async () => {
    const res = await fetch(`${stack.core.url}/meshai.v1.MeshService/ListAgents`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer not.a.token", "x-request-id": "refused-1" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(byRequest("refused-1").find((l) => l.event === "token_refused")).toMatchObject({ stage: "verification", reason: "malformed" });
  });
});

describe("token refusals get a reason the metrics can count", () => {
  it("names expired, revoked, wrong audience, bad signature, malformed and insufficient scope", async () => {
    const tokens = stack.core.platform.accessTokens;
    const cfg = stack.core.platform.config;
    const issue = (ttlSeconds: number) => tokens.issue({ subject: "svc", clientId: "svc", scope: "mcp:read", audience: cfg.mcpResource, ttlSeconds });
    const reason = (p: Promise<unknown>) => p.then(() => "accepted", tokenRefusalReason);

    expect(await reason(tokens.verify((await issue(-120)).token))).toBe("expired");
    const revoked = await issue(600);
    await createAccessTokenRepository(stack.core.platform.db.knex).revoke(revoked.jti, Date.now());
    expect(await reason(tokens.verify(revoked.token))).toBe("revoked");
    expect(await reason(tokens.verify((await issue(600)).token, "https://elsewhere.example/mcp"))).toBe("wrong_audience");
    const [h, b] = (await issue(600)).token.split(".");
    expect(await reason(tokens.verify(`${h}.${b}.${"A".repeat(86)}`))).toBe("bad_signature");
    expect(await reason(tokens.verify("garbage"))).toBe("malformed");
    expect(tokenRefusalReason(new ConnectError("this call needs the mcp:manage scope", Code.PermissionDenied))).toBe("insufficient_scope");
  });
});

describe("circuit breaker transitions are reported as they happen", () => {
  it("reports closed -> open after the failures that trip it", async () => {
    const seen: string[] = [];
    const breakers = createBreakers({ failureThreshold: 2, halfOpenAfterMs: 60_000, onChange: (id, from, to) => seen.push(`${id}:${from}->${to}`) });
    const fail = () => Promise.reject(new Error("agent down"));
    await breakers.execute("a1", fail).catch(() => undefined);
    expect(seen).toEqual([]);
    await breakers.execute("a1", fail).catch(() => undefined);
    expect(seen).toEqual(["a1:closed->open"]);
    expect([...breakers.states()]).toEqual([["a1", "open"]]);
  });
});

describe("the logger redacts secret fields and 5xx errors are logged with their stack", () => {
  it("writes [redacted] for passwords, tokens, codes and authorization/cookie headers", () => {
    const out = captureLog();
    const logger = createLogger({ level: "debug", destination: out });
    logger.info(
      {
        password: "pw-1",
        access_token: "at-1",
        body: { refresh_token: "rt-1", code: "code-1", client_secret: "cs-1" },
        query: { code_verifier: "cv-1" },
        req: { headers: { authorization: "Bearer hdr-1", cookie: "sid=ck-1" } },
        headers: { "set-cookie": "sid=sc-1" },
      },
      "x",
    );
    expect(out.raw.join("\n")).not.toMatch(/pw-1|at-1|rt-1|code-1|cs-1|cv-1|hdr-1|ck-1|sc-1/);
    expect(out.lines()[0]).toMatchObject({ password: "[redacted]", body: { refresh_token: "[redacted]" }, headers: { "set-cookie": "[redacted]" } });
  });

  it("logs an unexpected facade error at error level with the request id and stack, and answers 500 without it", async () => {
    const out = captureLog();
    const config = loadConfig(testEnv());
    const app = createApp({
      config,
      core: createCoreClients(config),
      observability: createObservability({ logLevel: "info" }, { destination: out, defaultMetrics: false }),
      routes: [
        (router) =>
          router.get("/boom", () => {
            throw new Error("database fell over");
          }),
      ],
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/boom?code=abc`);
      expect(res.status).toBe(500);
      expect(await res.text()).not.toContain("database fell over");
      const id = res.headers.get("x-request-id");
      const err = out.lines().find((l: LogLine) => l.level === "error")!;
      expect(err).toMatchObject({ request_id: id, path: "/boom", msg: "request failed" });
      expect((err.err as { stack: string }).stack).toMatch(/database fell over/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
