import type { JsonObject } from "@bufbuild/protobuf";
import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { HttpError } from "../errors.js";
import { cors, preflight } from "./cors.js";
import { oauthJsonEndpoint } from "./responses.js";

/**
 * POST /oauth/register (RFC 7591): the JSON client metadata goes to the core
 * as sent, with the caller's address for its rate limit; 201 with the
 * registration (client_id, and a client_secret once for confidential clients).
 */
export function registerRoutes(router: Router, { core }: RouteDeps): void {
  preflight(router, "/oauth/register", ["POST"]);
  router.post("/oauth/register", cors(), oauthJsonEndpoint(), async (ctx) => {
    const body = ctx.request.body;
    if (!ctx.is("json", "+json") || body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new HttpError(400, "invalid_client_metadata", "request body must be a JSON object of client metadata (application/json)");
    }
    const res = await core.auth.registerClient({ metadata: body as JsonObject, remoteAddress: ctx.ip });
    ctx.status = 201;
    ctx.body = res.registration ?? { client_id: res.client?.clientId ?? "" };
  });
}
