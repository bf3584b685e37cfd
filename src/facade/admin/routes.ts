import type { Router } from "@koa/router";
import type { Context } from "koa";
import type { RouteDeps, RouteModule } from "../app.js";
import { serverErrorLog } from "../error-handler.js";
import { HttpError } from "../errors.js";
import { followNext } from "../oauth/authorize.js";
import { sameToken } from "../oauth/cookies.js";
import { assetRoutes } from "../pages/assets.js";
import { html } from "../pages/html.js";
import { agentConsole } from "./agents.js";
import { CONSOLE_STYLESHEET_ASSET, LIVE_SCRIPT_ASSET } from "./assets.js";
import { clientConsole } from "./clients.js";
import { dashboardConsole } from "./dashboard.js";
import { type ConsoleFrame, consoleCsrfToken, createConsoleFrame, isConsolePath } from "./frame.js";
import { grantConsole } from "./grants.js";
import { taskConsole } from "./tasks.js";
import { userConsole } from "./users.js";
import { field } from "./widgets.js";
import { queryOf } from "../oauth/params.js";

/** Sign-in and sign-out: the same login page and session cookie as the OAuth flow. */
function signInRoutes(router: Router, { core }: RouteDeps, frame: ConsoleFrame): void {
  const { cookies } = frame;
  const guarded = (handler: (ctx: Context) => Promise<void>) => async (ctx: Context) => {
    try {
      await handler(ctx);
    } catch (err) {
      frame.renderError(ctx, err);
    }
  };

  // Already signed in: straight to `next`; otherwise the login page, which comes back to `next`.
  router.get("/admin/login", guarded(async (ctx) => {
    const wanted = field(queryOf(ctx), "next");
    const next = wanted && isConsolePath(wanted) ? wanted : "/admin";
    const res = await core.auth.startConsoleSignIn({ next, sessionToken: cookies.session(ctx) ?? "" });
    followNext(ctx, cookies, res.next);
  }));

  // A typed or bookmarked sign-out link: a page with the sign-out button (a GET never signs anyone out).
  router.get("/admin/logout", guarded(async (ctx) => {
    const sessionToken = cookies.session(ctx);
    if (!sessionToken) {
      ctx.status = 303;
      ctx.set("Cache-Control", "no-store");
      ctx.redirect("/oauth/logout");
      return;
    }
    frame.page(ctx, {
      title: "Sign out",
      body: html`<h1>Sign out of MeshAI?</h1>
<p>This ends your sign-in in this browser, for the console and for apps asking you to sign in.</p>
<form method="post" action="/admin/logout"><input type="hidden" name="csrf_token" value="${consoleCsrfToken(sessionToken)}"><div class="inline-actions"><button type="submit">Sign out</button><a class="button secondary" href="/admin">Cancel</a></div></form>`,
    });
  }));

  // Ends the login session everywhere it is used (console and OAuth pages alike).
  router.post("/admin/logout", guarded(async (ctx) => {
    const sessionToken = cookies.session(ctx);
    if (sessionToken) {
      const site = ctx.get("sec-fetch-site");
      if (site && site !== "same-origin" && site !== "none") throw new HttpError(403, "access_denied", "This form was sent from another site, so you are still signed in.");
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      const csrf = typeof body.csrf_token === "string" ? body.csrf_token : undefined;
      if (!sameToken(consoleCsrfToken(sessionToken), csrf)) {
        throw new HttpError(403, "access_denied", "csrf_token: missing or wrong, so you are still signed in. Reload the page and try again.");
      }
      frame.forget(sessionToken);
      await core.auth.endLoginSession({ sessionToken });
    }
    cookies.clearSession(ctx);
    ctx.status = 303;
    ctx.set("Cache-Control", "no-store");
    ctx.redirect("/oauth/logout");
  }));
}

/**
 * The admin console under /admin: the frame (sign-in, CSRF, page chrome) and
 * its sections. Every action is an ordinary admin RPC made with the signed-in
 * administrator's short-lived console token.
 */
export const adminRoutes: RouteModule = (router, deps) => {
  const logger = deps.observability.logger;
  // One info line per console action: the audit trail of who changed what (ids and the message shown, no secrets).
  const audit = (e: { adminUserId: string; method: string; path: string; message: string }) =>
    logger.info({ event: "console_action", admin_user_id: e.adminUserId, method: e.method, path: e.path, result: e.message }, "console action");
  const frame = createConsoleFrame(deps, serverErrorLog(logger), audit);

  assetRoutes(router, [CONSOLE_STYLESHEET_ASSET, LIVE_SCRIPT_ASSET]);

  signInRoutes(router, deps, frame);
  dashboardConsole(router, deps, frame);
  userConsole(router, deps, frame);
  clientConsole(router, deps, frame);
  grantConsole(router, deps, frame);
  agentConsole(router, deps, frame);
  taskConsole(router, deps, frame);

  // Anything else under /admin: a console 404 for a signed-in admin (sign-in first otherwise).
  router.all(/^\/admin(?:\/.*)?$/, frame.requireAdmin, (ctx) => {
    if (ctx.body !== undefined && ctx.body !== null) return;
    throw new HttpError(404, "not_found", `There is no console page at ${ctx.path}.`);
  });
};
