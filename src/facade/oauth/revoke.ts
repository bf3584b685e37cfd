import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { clientCredentialsOf } from "./client-credentials.js";
import { cors, preflight } from "./cors.js";
import { formOf, single } from "./params.js";
import { type ClientAuthState, oauthJsonEndpoint } from "./responses.js";

/**
 * POST /oauth/revoke (RFC 7009): 200 with an empty body whether or not the
 * token was known; the core revokes the jti, or the whole grant of a refresh token.
 */
export function revokeRoutes(router: Router, { core, config }: RouteDeps): void {
  const endpoint = `${config.issuer}/oauth/revoke`;
  preflight(router, "/oauth/revoke", ["POST"]);
  router.post("/oauth/revoke", cors(), oauthJsonEndpoint(), async (ctx) => {
    const form = formOf(ctx);
    const client = clientCredentialsOf(ctx, form, endpoint);
    (ctx.state as ClientAuthState).clientAuthMethod = client.method;
    await core.auth.revoke({ token: single(form, "token"), tokenTypeHint: single(form, "token_type_hint"), client });
    ctx.status = 200;
    ctx.body = "";
  });
}
