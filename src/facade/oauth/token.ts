import type { Router } from "@koa/router";
import type { RouteDeps } from "../app.js";
import { clientCredentialsOf } from "./client-credentials.js";
import { cors, preflight } from "./cors.js";
import { formOf, many, single } from "./params.js";
import { type ClientAuthState, oauthJsonEndpoint } from "./responses.js";

/**
 * POST /oauth/token: one form in, one JSON answer out (RFC 6749 5.1), for
 * every grant the core supports. The facade only finds the client's
 * credentials in the request; grants, PKCE, rotation and scopes are the core's.
 */
export function tokenRoutes(router: Router, { core, config }: RouteDeps): void {
  const endpoint = `${config.issuer}/oauth/token`;
  preflight(router, "/oauth/token", ["POST"]);
  router.post("/oauth/token", cors(), oauthJsonEndpoint(), async (ctx) => {
    const form = formOf(ctx);
    const client = clientCredentialsOf(ctx, form, endpoint);
    (ctx.state as ClientAuthState).clientAuthMethod = client.method;
    const res = await core.auth.token({
      grantType: single(form, "grant_type"),
      code: single(form, "code"),
      redirectUri: single(form, "redirect_uri"),
      codeVerifier: single(form, "code_verifier"),
      refreshToken: single(form, "refresh_token"),
      scope: single(form, "scope"),
      resources: many(form, "resource"),
      client,
    });
    const body: Record<string, string | number> = {
      access_token: res.accessToken,
      token_type: res.tokenType || "Bearer",
      expires_in: Number(res.expiresIn),
    };
    if (res.refreshToken) body.refresh_token = res.refreshToken;
    if (res.scope) body.scope = res.scope;
    if (res.idToken) body.id_token = res.idToken;
    ctx.body = body;
  });
}
