import type { Router } from "@koa/router";
import type { Context, Middleware } from "koa";
import type { RouteDeps } from "../app.js";
import { signedOutPage } from "../pages/signed-out-page.js";
import type { Cookies } from "./cookies.js";
import { seeOther, sendPage } from "./responses.js";

/**
 * GET (the advertised end_session_endpoint) and POST /oauth/logout end the
 * login session and clear the cookies. There is no redirect parameter: a
 * logout link can never be turned into an open redirect.
 */
export function logoutRoutes(router: Router, { core }: RouteDeps, cookies: Cookies, browser: Middleware): void {
  const end = async (ctx: Context) => {
    const sessionToken = cookies.session(ctx);
    if (sessionToken) await core.auth.endLoginSession({ sessionToken });
    cookies.clearSession(ctx);
    cookies.clearCsrf(ctx);
  };
  router.get("/oauth/logout", browser, async (ctx) => {
    await end(ctx);
    sendPage(ctx, signedOutPage());
  });
  router.post("/oauth/logout", browser, async (ctx) => {
    await end(ctx);
    seeOther(ctx, "/oauth/logout");
  });
}
