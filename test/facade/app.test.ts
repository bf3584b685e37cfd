import { Code, ConnectError, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import type { RouteModule } from "../../src/facade/app.js";
import { createCoreClients, requestIdInterceptor } from "../../src/facade/core-client.js";
import { startFacade, type RunningFacade } from "../../src/facade/server.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

type Check = ServiceImpl<typeof Health>["check"];

const running: RunningFacade[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.close()));
});

function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ MESHAI_HTTP_PORT: "0", MESHAI_LOG_LEVEL: "silent", MESHAI_BODY_LIMIT: "64", ...env });
}

/** A core that is only a Health service we script, reached in memory. */
function fakeCore(check: Check) {
  const transport = createRouterTransport(({ service }) => service(Health, { check }), {
    transport: { interceptors: [requestIdInterceptor] },
  });
  return createCoreClients({ coreUrl: "http://unused" }, { transport });
}

const serving: Check = () => ({ status: ServingStatus.SERVING });

/** Test-only routes, mounted through the app's route hook. */
const testRoutes: RouteModule = (router, { core }) => {
  router.post("/echo", (ctx) => {
    ctx.body = { body: ctx.request.body ?? null };
  });
  router.get("/probe/:service", async (ctx) => {
    ctx.body = await core.health.check({ service: ctx.params.service });
  });
  router.get("/boom", () => {
    throw new Error("database password is hunter2");
  });
};

async function start(check: Check = serving, env: Record<string, string> = {}): Promise<string> {
  const facade = await startFacade(testConfig(env), fakeCore(check), { routes: [testRoutes] });
  running.push(facade);
  return facade.url;
}

describe("liveness and readiness", () => {
  it("GET /healthz answers 200 without asking the core", async () => {
    let asked = false;
    const url = await start(() => {
      asked = true;
      throw new ConnectError("down", Code.Unavailable);
    });
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(asked).toBe(false);
  });

  it("GET /readyz is 200 when the core is SERVING", async () => {
    const url = await start(serving);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", core: "SERVING" });
  });

  it("GET /readyz is 503 when the core is NOT_SERVING", async () => {
    const url = await start(() => ({ status: ServingStatus.NOT_SERVING }));
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", core: "NOT_SERVING" });
  });

  it("GET /readyz is 503 when the core fails with Unavailable", async () => {
    const url = await start(() => {
      throw new ConnectError("no database", Code.Unavailable);
    });
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", core: "UNAVAILABLE" });
  });

  it("GET /readyz is 503 when nothing listens at coreUrl", async () => {
    const config = testConfig({ MESHAI_CORE_URL: "http://127.0.0.1:1" });
    const facade = await startFacade(config); // dials the real (absent) core
    running.push(facade);
    const res = await fetch(`${facade.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", core: "UNAVAILABLE" });
  });
});

describe("routing errors are JSON", () => {
  it("an unknown route is 404 not_found naming method and path", async () => {
    const url = await start();
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error: "not_found", error_description: "no route for GET /nope" });
  });

  it("a wrong method on a known route is 405 with Allow", async () => {
    const url = await start();
    const res = await fetch(`${url}/healthz`, { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect(await res.json()).toMatchObject({ error: "method_not_allowed" });
  });

  it("a method the router does not know is also 405, not a 5xx", async () => {
    const url = await start();
    const res = await fetch(`${url}/healthz`, { method: "PROPFIND" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
  });
});

describe("request bodies", () => {
  const big = JSON.stringify({ pad: "x".repeat(200) });

  it("parses a JSON body", async () => {
    const url = await start();
    const res = await fetch(`${url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ body: { a: 1 } });
  });

  it("parses a urlencoded form, keeping repeated names", async () => {
    const url = await start();
    const res = await fetch(`${url}/echo`, { method: "POST", body: new URLSearchParams("a=1&b=2&b=3") });
    expect(await res.json()).toEqual({ body: { a: "1", b: ["2", "3"] } });
  });

  it("refuses a JSON body over the limit with 413 invalid_request", async () => {
    const url = await start();
    const res = await fetch(`${url}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "invalid_request", error_description: "request body exceeds 64 bytes" });
  });

  it("refuses a urlencoded body over the limit with 413", async () => {
    const url = await start();
    const res = await fetch(`${url}/echo`, { method: "POST", body: new URLSearchParams({ pad: "x".repeat(200) }) });
    expect(res.status).toBe(413);
  });

  it("refuses an oversized chunked body (no Content-Length) with 413", async () => {
    const url = await start();
    const chunks = [new TextEncoder().encode(big.slice(0, 50)), new TextEncoder().encode(big.slice(50))];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res = await fetch(`${url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it("applies the limit before routing, to unknown paths too", async () => {
    const url = await start();
    const res = await fetch(`${url}/not-a-route`, { method: "POST", body: big });
    expect(res.status).toBe(413);
  });

  it("answers malformed JSON with 400 invalid_request", async () => {
    const url = await start();
    const res = await fetch(`${url}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_request", error_description: "request body is not valid JSON" });
  });
});

describe("security headers", () => {
  it("sets CSP, frame, referrer and nosniff headers, and no HSTS over http", async () => {
    const url = await start();
    const res = await fetch(`${url}/healthz`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toBeNull();
  });

  it("sends HSTS when the issuer is https", async () => {
    const url = await start(serving, { MESHAI_ISSUER: "https://mesh.example.com" });
    const res = await fetch(`${url}/healthz`);
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  });

  it("keeps the headers on error responses", async () => {
    const url = await start();
    const res = await fetch(`${url}/nope`);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("request ids", () => {
  it("echoes a sane incoming X-Request-Id", async () => {
    const url = await start();
    const res = await fetch(`${url}/healthz`, { headers: { "x-request-id": "edge-42.a_b" } });
    expect(res.headers.get("x-request-id")).toBe("edge-42.a_b");
  });

  it.each(["has space", "x".repeat(65), "semi;colon"])("replaces an unsafe X-Request-Id (%s)", async (bad) => {
    const url = await start();
    const res = await fetch(`${url}/healthz`, { headers: { "x-request-id": bad } });
    const id = res.headers.get("x-request-id");
    expect(id).not.toBe(bad);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reaches the core on every call", async () => {
    let seen: string | null = null;
    const url = await start((_req, ctx) => {
      seen = ctx.requestHeader.get("x-request-id");
      return { status: ServingStatus.SERVING };
    });
    await fetch(`${url}/readyz`, { headers: { "x-request-id": "trace-me" } });
    expect(seen).toBe("trace-me");
  });
});

describe("core errors become HTTP errors through the table", () => {
  it("a 4xx keeps the core's message and its explicit oauth-error", async () => {
    const url = await start(() => {
      throw new ConnectError("code expired", Code.InvalidArgument, { "oauth-error": "invalid_grant" });
    });
    const res = await fetch(`${url}/probe/x`, { headers: { "x-request-id": "r1" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "code expired", request_id: "r1" });
  });

  it("a core 5xx hides its message and gives the request id", async () => {
    const url = await start(() => {
      throw new ConnectError("SELECT * FROM secrets failed", Code.Internal);
    });
    const res = await fetch(`${url}/probe/x`, { headers: { "x-request-id": "r2" } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "server_error", error_description: "internal error", request_id: "r2" });
  });

  it("a plain exception in the facade is a 500 that leaks nothing", async () => {
    const url = await start();
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(JSON.parse(text)).toMatchObject({ error: "server_error", error_description: "internal error" });
  });
});
