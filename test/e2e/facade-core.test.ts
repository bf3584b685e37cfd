import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { type RunningFacade, startFacade } from "../../src/facade/server.js";
import { type TestCore, startTestCore, testEnv } from "../support/core.js";

// The whole path a browser or MCP client takes: HTTP -> Koa facade -> Connect client -> core -> database.
let t: TestCore;
let facade: RunningFacade;

beforeAll(async () => {
  t = await startTestCore();
  facade = await startFacade(loadConfig(testEnv({ MESHAI_CORE_URL: t.core.url, MESHAI_ISSUER: t.config.issuer })));
});
afterAll(async () => {
  await facade.close();
  await t.close();
});

const get = async (path: string) => {
  const res = await fetch(`${facade.url}${path}`);
  return { res, body: (await res.json()) as Record<string, any> };
};

describe("the facade reaches the real core", () => {
  it("is ready when the core and its database serve", async () => {
    const { res, body } = await get("/readyz");
    expect(res.status).toBe(200);
    expect(body).toEqual({ status: "ready", core: "SERVING" });
  });

  it("serves the core's authorization server metadata with the issuer to the letter", async () => {
    for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
      const { res, body } = await get(path);
      expect(res.status).toBe(200);
      expect(body.issuer).toBe("http://localhost:8080");
      expect(body.code_challenge_methods_supported).toEqual(["S256"]);
      expect(body.response_types_supported).toEqual(["code"]);
      expect(body.scopes_supported).toEqual(expect.arrayContaining(["mcp:read", "mcp:execute", "mcp:manage"]));
      expect(body.client_id_metadata_document_supported).toBe(true);
      expect(body.authorization_response_iss_parameter_supported).toBe(true);
      expect(body.token_endpoint).toBe("http://localhost:8080/oauth/token");
    }
  });

  it("serves protected resource metadata for the MCP resource in path and root form", async () => {
    for (const path of ["/.well-known/oauth-protected-resource/v1/mcp", "/.well-known/oauth-protected-resource"]) {
      const { body } = await get(path);
      expect(body).toMatchObject({
        resource: "http://localhost:8080/v1/mcp",
        authorization_servers: ["http://localhost:8080"],
        scopes_supported: ["mcp:read", "mcp:execute", "mcp:manage"],
        bearer_methods_supported: ["header"],
      });
    }
  });

  it("publishes the core's signing key as a JWKS without private parts", async () => {
    const { res, body } = await get("/oauth/jwks");
    expect(res.headers.get("content-type")).toMatch(/application\/jwk-set\+json/);
    const { kid } = await t.core.platform.keys.signingKey();
    expect(body.keys.map((k: any) => k.kid)).toContain(kid);
    expect(body.keys.every((k: any) => k.d === undefined)).toBe(true);
  });

  it("answers an unknown route with JSON 404 and keeps the security headers", async () => {
    const { res, body } = await get("/nowhere");
    expect(res.status).toBe(404);
    expect(body.error).toBe("not_found");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("is not ready once the core is gone", async () => {
    await t.core.close(100);
    const { res, body } = await get("/readyz");
    expect(res.status).toBe(503);
    expect(body.status).toBe("unavailable");
  });
});
