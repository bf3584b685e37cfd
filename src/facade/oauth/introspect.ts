import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { clientCredentialsOf } from "./client-credentials.js";
import { cors, preflight } from "./cors.js";
import { formOf, single } from "./params.js";
import { type ClientAuthState, oauthJsonEndpoint } from "./responses.js";

/**
 * POST /oauth/introspect (RFC 7662): the calling client must authenticate
 * (the core refuses public clients with invalid_client); the answer is the
 * core's RFC 7662 body, `{"active": false}` for anything unusable.
 */
export function introspectRoutes(router: Router, { core, config }: RouteDeps): void {
  const endpoint = `${config.issuer}/oauth/introspect`;
  preflight(router, "/oauth/introspect", ["POST"]);
  router.post("/oauth/introspect", cors(), oauthJsonEndpoint(), async (ctx) => {
    const form = formOf(ctx);
    const client = clientCredentialsOf(ctx, form, endpoint);
    (ctx.state as ClientAuthState).clientAuthMethod = client.method;
    const res = await core.auth.introspect({ token: single(form, "token"), tokenTypeHint: single(form, "token_type_hint"), client });
    ctx.body = res.introspection ?? { active: false };
  });
}
