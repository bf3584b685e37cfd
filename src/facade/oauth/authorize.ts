import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Router } from "@koa/router";
import type { Context, Middleware } from "koa";
import type { StartAuthorizationResponse } from "../../../gen/meshai/v1/auth_pb.js";
import type { RouteDeps } from "../app.js";
import type { Cookies } from "./cookies.js";
import { formOf, many, type Params, queryOf, single } from "./params.js";
import { seeOther } from "./responses.js";

/**
 * Sends the browser where the core says the interaction goes next: the login
 * or consent page (setting the interaction's CSRF cookie on the way), or back
 * to the client (the core has put code or error, state and iss on that URL).
 * Shared by /oauth/authorize and the login POST.
 */
export function followNext(ctx: Context, cookies: Cookies, next: StartAuthorizationResponse["next"]): void {
  switch (next.case) {
    case "login":
    case "consent": {
      const i = next.value;
      cookies.setCsrf(ctx, i.csrfToken, i.expireTime ? timestampDate(i.expireTime) : undefined);
      seeOther(ctx, `/oauth/${next.case}?interaction=${encodeURIComponent(i.id)}`);
      return;
    }
    case "redirectTo":
      cookies.clearCsrf(ctx);
      seeOther(ctx, next.value);
      return;
    default:
      throw new Error("the core answered the authorization request with no next step");
  }
}

/**
 * GET (and POST, RFC 6749 3.1) /oauth/authorize: every parameter goes to the
 * core as received, with the session cookie. An invalid client or redirect
 * URI comes back as an error and is rendered as a page: never a redirect.
 */
export function authorizeRoutes(router: Router, { core }: RouteDeps, cookies: Cookies, browser: Middleware): void {
  const authorize = async (ctx: Context, params: Params) => {
    const res = await core.auth.startAuthorization({
      clientId: single(params, "client_id"),
      redirectUri: single(params, "redirect_uri"),
      responseType: single(params, "response_type"),
      scope: single(params, "scope"),
      state: single(params, "state"),
      codeChallenge: single(params, "code_challenge"),
      codeChallengeMethod: single(params, "code_challenge_method"),
      resources: many(params, "resource"),
      nonce: single(params, "nonce"),
      prompt: single(params, "prompt"),
      sessionToken: cookies.session(ctx) ?? "",
    });
    followNext(ctx, cookies, res.next);
  };
  router.get("/oauth/authorize", browser, (ctx) => authorize(ctx, queryOf(ctx)));
  router.post("/oauth/authorize", browser, (ctx) => authorize(ctx, formOf(ctx)));
}
