import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { preflight } from "./cors.js";

/** Clients fetch discovery often; the documents change only with configuration or key rotation. */
const CACHE = "public, max-age=300";

/**
 * Discovery documents, as the core words them: RFC 8414 authorization server
 * metadata (also at the OIDC path), RFC 9728 protected resource metadata for
 * the MCP resource (path form, tried first by clients, and root form), and the
 * JWKS.
 */
export function discoveryRoutes(router: Router, { core }: RouteDeps): void {
  const serverMetadata = async () => (await core.auth.getServerMetadata({})).authorizationServer ?? {};
  const resourceMetadata = async () => (await core.auth.getServerMetadata({})).protectedResource ?? {};

  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    router.get(path, async (ctx) => {
      ctx.set("Cache-Control", CACHE);
      ctx.set("Access-Control-Allow-Origin", "*");
      ctx.body = await serverMetadata();
    });
  }
  for (const path of ["/.well-known/oauth-protected-resource/v1/mcp", "/.well-known/oauth-protected-resource"]) {
    router.get(path, async (ctx) => {
      ctx.set("Cache-Control", CACHE);
      ctx.set("Access-Control-Allow-Origin", "*");
      ctx.body = await resourceMetadata();
    });
  }
  for (const path of [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource/v1/mcp",
    "/.well-known/oauth-protected-resource",
    "/oauth/jwks",
  ]) {
    preflight(router, path, ["GET"]);
  }
  router.get("/oauth/jwks", async (ctx) => {
    const { jwksJson } = await core.auth.getJwks({});
    ctx.set("Cache-Control", CACHE);
    ctx.set("Access-Control-Allow-Origin", "*");
    ctx.type = "application/jwk-set+json";
    ctx.body = jwksJson;
  });
}
