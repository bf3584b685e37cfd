import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { Context } from "koa";
import type { RouteDeps } from "../app.js";
import { classifyError } from "../errors.js";
import { cors, preflight } from "./cors.js";
import { noStore } from "./responses.js";

/** RFC 6750 3: quoted-string values may not carry `"` or `\`. */
function quoted(text: string): string {
  return text.replace(/["\\\r\n]/g, " ").slice(0, 200);
}

function challenge(ctx: Context, status: number, error?: string, description?: string, scope?: string): void {
  const parts = ['realm="meshai"'];
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${quoted(description)}"`);
  if (scope) parts.push(`scope="${scope}"`);
  ctx.set("WWW-Authenticate", `Bearer ${parts.join(", ")}`);
  ctx.status = status;
  ctx.body = error ? { error, error_description: description ?? "" } : { error: "invalid_token", error_description: "an access token is required" };
}

/**
 * GET/POST /oauth/userinfo (OIDC Core 5.3): the Bearer token from the
 * Authorization header goes to the core, which verifies it in full
 * (signature, alg, audience, expiry, revocation) and returns the claims its
 * scopes allow. Failures are RFC 6750 challenges.
 */
export function userinfoRoutes(router: Router, { core }: RouteDeps): void {
  const userinfo = async (ctx: Context) => {
    noStore(ctx);
    const authorization = ctx.get("authorization");
    if (!/^Bearer[ ]/i.test(authorization)) return challenge(ctx, 401);
    try {
      const res = await core.auth.userInfo({}, { headers: { authorization } });
      ctx.body = res.claims ?? {};
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.Unauthenticated) return challenge(ctx, 401, "invalid_token", e.rawMessage);
      if (e.code === Code.PermissionDenied) return challenge(ctx, 403, "insufficient_scope", e.rawMessage, "openid");
      const c = classifyError(e);
      if (c.status >= 500) throw err;
      ctx.status = c.status;
      ctx.body = { error: c.oauth, error_description: c.description };
    }
  };
  preflight(router, "/oauth/userinfo", ["GET", "POST"]);
  router.get("/oauth/userinfo", cors(), userinfo);
  router.post("/oauth/userinfo", cors(), userinfo);
}
