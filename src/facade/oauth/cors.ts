import type { Router } from "@koa/router";
import type { Middleware } from "koa";

/**
 * CORS for the endpoints browser-based clients call directly (token,
 * register, revoke, introspect, userinfo, discovery): any origin, never
 * credentials (these endpoints take no cookies, only what the request
 * carries). The interactive pages (authorize, login, consent) get none.
 */
export function cors(): Middleware {
  return async (ctx, next) => {
    ctx.set("Access-Control-Allow-Origin", "*");
    ctx.set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After, X-Request-Id");
    await next();
  };
}

/** Request headers browser clients send: the MCP SDK adds MCP-Protocol-Version to discovery fetches. */
const ALLOWED_HEADERS = "Authorization, Content-Type, Accept, MCP-Protocol-Version, X-Request-Id";

/** Answers the CORS preflight (OPTIONS) for `path` with the methods it serves. */
export function preflight(router: Router, path: string, methods: string[]): void {
  router.options(path, (ctx) => {
    ctx.set("Access-Control-Allow-Origin", "*");
    ctx.set("Access-Control-Allow-Methods", [...methods, "OPTIONS"].join(", "));
    ctx.set("Access-Control-Allow-Headers", ALLOWED_HEADERS);
    ctx.set("Access-Control-Max-Age", "600");
    ctx.set("Allow", [...methods, "OPTIONS"].join(", "));
    ctx.status = 204;
  });
}
