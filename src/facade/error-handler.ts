import type { Context, Middleware } from "koa";
import type { Logger } from "../observability/logger.js";
import { toHttpError, toJsonRpcError } from "./errors.js";

/** The MCP endpoint speaks JSON-RPC: its errors (even a body that never parsed) are JSON-RPC error objects. */
const isJsonRpcPath = (path: string) => path === "/v1/mcp" || path.startsWith("/v1/mcp/");

/** Called for every 5xx: the only place an internal message is written down. */
export type ServerErrorLog = (err: unknown, ctx: Context) => void;

/**
 * One `error` line per 5xx with the error's message and stack. Method and
 * path only: query strings carry authorization codes and headers carry
 * tokens, so neither is ever written. The request id comes from the logger's
 * request context.
 */
export function serverErrorLog(logger: Logger): ServerErrorLog {
  return (err, ctx) => {
    logger.error({ err, method: ctx.method, path: ctx.path, status: ctx.status }, "request failed");
  };
}

/**
 * Renders anything thrown below it as `{error, error_description, request_id}`
 * through the one error table. Headers already set (request id, security
 * headers, Allow) stay. A response that has already started is left alone.
 */
export function errorHandler(log: ServerErrorLog): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const { status, body } = toHttpError(err, ctx.state.requestId as string | undefined);
      if (ctx.headerSent || !ctx.writable) {
        log(err, ctx);
        return;
      }
      ctx.status = status;
      ctx.body = isJsonRpcPath(ctx.path)
        ? { jsonrpc: "2.0", id: null, error: toJsonRpcError(err, ctx.state.requestId as string | undefined) }
        : body;
      if (status >= 500) log(err, ctx);
    }
  };
}
