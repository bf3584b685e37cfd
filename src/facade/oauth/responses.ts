import type { Context, Middleware } from "koa";
import type { ServerErrorLog } from "../error-handler.js";
import { classifyError, retryAfterOf, toHttpError } from "../errors.js";
import { errorPage } from "../pages/error-page.js";

/** Set on ctx.state by the client-credentials step, so a 401 can name the scheme the client used. */
export interface ClientAuthState {
  clientAuthMethod?: string;
}

/** Token responses and errors must never be cached (RFC 6749 5.1, 5.2). */
export function noStore(ctx: Context): void {
  ctx.set("Cache-Control", "no-store");
  ctx.set("Pragma", "no-cache");
}

/**
 * For the machine endpoints (token, register, revoke, introspect, userinfo):
 * `Cache-Control: no-store` on every answer, and any failure as OAuth error
 * JSON `{error, error_description}` through the one error table, with
 * `Retry-After` when throttled and `WWW-Authenticate: Basic` when a client
 * that authenticated with Basic is refused (RFC 6749 5.2).
 */
export function oauthJsonEndpoint(): Middleware {
  return async (ctx, next) => {
    noStore(ctx);
    try {
      await next();
    } catch (err) {
      const { status, body } = toHttpError(err, ctx.state.requestId as string | undefined);
      if (status >= 500) throw err; // the app's error handler logs it and answers the same JSON
      ctx.status = status;
      ctx.body = body;
      const retryAfter = retryAfterOf(err);
      if (retryAfter) ctx.set("Retry-After", retryAfter);
      if (status === 401 && (ctx.state as ClientAuthState).clientAuthMethod === "client_secret_basic") {
        ctx.set("WWW-Authenticate", 'Basic realm="meshai", charset="UTF-8"');
      }
    }
  };
}

const TITLES: Record<string, string> = {
  invalid_client: "This app is not recognised",
  invalid_request: "This sign-in request is not valid",
  invalid_redirect_uri: "This sign-in request is not valid",
  unauthorized_client: "This app may not sign in this way",
  access_denied: "Access denied",
  not_found: "This sign-in request has expired",
  temporarily_unavailable: "Please wait a moment",
};

/**
 * HTML pages for a browser failure, rendered from an error: the title from
 * the OAuth code, the core's message as the explanation. Never redirects.
 */
export function renderErrorPage(ctx: Context, err: unknown): void {
  const c = classifyError(err);
  // A browser is not an HTTP-authenticating client: a 401 here would demand a WWW-Authenticate challenge.
  ctx.status = c.status === 401 ? 400 : c.status;
  const retryAfter = retryAfterOf(err);
  if (retryAfter) ctx.set("Retry-After", retryAfter);
  noStore(ctx);
  ctx.type = "text/html; charset=utf-8";
  ctx.body = errorPage({
    title: c.status >= 500 ? "Something went wrong" : (TITLES[c.oauth] ?? "This request cannot be completed"),
    message: c.description,
    code: c.oauth,
    requestId: ctx.state.requestId as string | undefined,
  });
}

/**
 * For the browser endpoints (authorize, login, consent, logout): failures
 * become an error page; server-side ones are also logged, since the page
 * replaces the app's error handler (which would have logged them).
 */
export function browserEndpoint(log: ServerErrorLog): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      renderErrorPage(ctx, err);
      if (ctx.status >= 500) log(err, ctx);
    }
  };
}

/** Sends a rendered page; pages carrying a CSRF token or personal data are never cached. */
export function sendPage(ctx: Context, page: string, status = 200): void {
  noStore(ctx);
  ctx.status = status;
  ctx.type = "text/html; charset=utf-8";
  ctx.body = page;
}

/** Every POST that succeeds answers 303 See Other, so a reload never resubmits. */
export function seeOther(ctx: Context, location: string): void {
  noStore(ctx);
  ctx.status = 303;
  ctx.redirect(location);
}
