import { Code, ConnectError } from "@connectrpc/connect";
import type { Context } from "koa";
import { HttpError } from "../errors.js";
import { type Cookies, sameToken } from "./cookies.js";
import { type Params, queryOf, single } from "./params.js";

/** Shown when the browser lacks the interaction's CSRF cookie: another browser, or a stale tab. */
export const STALE_LINK =
  "This sign-in link has expired or was opened in another browser. Start again from your app.";

/** The `interaction` id of a login or consent page request. */
export function interactionIdOf(params: Params): string {
  const id = single(params, "interaction");
  if (!id) throw new HttpError(400, "invalid_request", "interaction: missing; start again from your app");
  if (id.length > 200) throw new HttpError(400, "invalid_request", "interaction: not a valid id");
  return id;
}

/** For a page GET: the CSRF value to embed in the form, which only the cookie holds. */
export function pageCsrf(ctx: Context, cookies: Cookies): { id: string; csrf: string } {
  const id = interactionIdOf(queryOf(ctx));
  const csrf = cookies.csrf(ctx);
  if (!csrf) throw new ConnectError(STALE_LINK, Code.PermissionDenied);
  return { id, csrf };
}

/**
 * For a form POST: the double-submit check. The `csrf_token` field must
 * equal the `meshai_csrf` cookie (a cross-site form cannot read or set it);
 * the core then checks the value against the interaction it was minted for.
 */
export function checkCsrf(ctx: Context, cookies: Cookies, form: Params): string {
  const field = single(form, "csrf_token");
  const cookie = cookies.csrf(ctx);
  if (!sameToken(cookie, field)) {
    const why = !field
      ? "csrf_token: missing from the form; start again from your app"
      : cookie
        ? "A newer sign-in was started in this browser. Use the most recent sign-in window, or start again from your app."
        : STALE_LINK;
    throw new ConnectError(why, Code.PermissionDenied, { "oauth-error": "access_denied" });
  }
  return field;
}
