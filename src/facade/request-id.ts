import type { Middleware } from "koa";
import { acceptRequestId, currentRequestId, runWithRequestId } from "../observability/request-context.js";

// One request context for the whole process (see src/observability/request-context.ts):
// the facade's log lines and core calls read the id from it.
export { currentRequestId, runWithRequestId };

/**
 * Accepts a sane incoming `X-Request-Id` (so a proxy's id follows the request
 * into the core), else makes one; echoes it on the response and runs the rest
 * of the pipeline inside it.
 */
export function requestId(): Middleware {
  return async (ctx, next) => {
    const id = acceptRequestId(ctx.get("x-request-id"));
    ctx.state.requestId = id;
    ctx.set("X-Request-Id", id);
    await runWithRequestId(id, next);
  };
}
