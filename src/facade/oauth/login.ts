import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Context, Middleware } from "koa";
import type { RouteDeps } from "../app.js";
import { classifyError, retryAfterOf } from "../errors.js";
import { loginPage } from "../pages/login-page.js";
import { followNext } from "./authorize.js";
import type { Cookies } from "./cookies.js";
import { checkCsrf, interactionIdOf, pageCsrf } from "./interaction-page.js";
import { formOf, single } from "./params.js";
import { sendPage } from "./responses.js";

/** Failures the user can fix on the same form; anything else is an error page. */
const RETRYABLE = new Set([Code.Unauthenticated, Code.ResourceExhausted, Code.InvalidArgument]);

const MAX_EMAIL = 320;
const MAX_PASSWORD = 1024;

/**
 * GET /oauth/login renders the sign-in form for an interaction; POST checks
 * the CSRF double-submit, asks the core to log in, sets the session cookie
 * and 303s to the next step. A failed attempt re-renders the form with the
 * core's message and its status (400 for wrong credentials, 429 with
 * Retry-After when throttled), so nothing about the account leaks.
 */
export function loginRoutes(router: Router, { core }: RouteDeps, cookies: Cookies, browser: Middleware): void {
  const render = async (ctx: Context, id: string, csrf: string, extra: { email?: string; error?: string } = {}, status = 200) => {
    const { interaction } = await core.auth.getInteraction({ id, sessionToken: cookies.session(ctx) ?? "" });
    if (!interaction) throw new ConnectError("interaction: not found; start again from your app", Code.NotFound);
    sendPage(
      ctx,
      loginPage({
        interactionId: interaction.id,
        csrfToken: csrf,
        clientName: interaction.client?.clientName || interaction.client?.clientId || "an app",
        redirectHost: interaction.redirectHost,
        ...extra,
      }),
      status,
    );
  };

  router.get("/oauth/login", browser, async (ctx) => {
    const { id, csrf } = pageCsrf(ctx, cookies);
    await render(ctx, id, csrf);
  });

  router.post("/oauth/login", browser, async (ctx) => {
    const form = formOf(ctx);
    const id = interactionIdOf(form);
    const csrf = checkCsrf(ctx, cookies, form);
    const email = single(form, "email").trim().slice(0, MAX_EMAIL);
    const password = single(form, "password");
    if (!email || !password || password.length > MAX_PASSWORD) {
      await render(ctx, id, csrf, { email, error: "Enter your email and password." }, 400);
      return;
    }
    let res;
    try {
      res = await core.auth.login({
        interactionId: id,
        csrfToken: csrf,
        email,
        password,
        remoteAddress: ctx.ip,
        userAgent: ctx.get("user-agent").slice(0, 512),
      });
    } catch (err) {
      const e = ConnectError.from(err);
      if (!RETRYABLE.has(e.code)) throw err;
      const { status, description } = classifyError(e);
      const retryAfter = retryAfterOf(e);
      if (retryAfter) ctx.set("Retry-After", retryAfter);
      await render(ctx, id, csrf, { email, error: description }, status === 401 ? 400 : status);
      return;
    }
    cookies.setSession(ctx, res.sessionToken, res.sessionExpireTime ? timestampDate(res.sessionExpireTime) : undefined);
    if (!res.next) throw new Error("the core's login answer has no next step");
    followNext(ctx, cookies, res.next.next);
  });
}
