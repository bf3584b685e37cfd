import type { ServerResponse } from "node:http";
import type { Context, Middleware } from "koa";
import type { Observability } from "../observability/observability.js";

/** Probes and scrapes come every few seconds: their lines are debug, not info. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** The router's route template (`/v1/tasks/:id`), never the raw path: label values must stay few. */
function routeOf(ctx: Context): string {
  const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  if (matched === undefined) return "unmatched";
  return typeof matched === "string" ? matched : String(matched);
}

const isEventStream = (res: ServerResponse) => res.headersSent && String(res.getHeader("content-type") ?? "").startsWith("text/event-stream");

/**
 * One access line and one sample of the HTTP metrics per request, written
 * when the response has closed (so streams count their whole life and
 * handlers that write the raw response are seen too). Logs the path without
 * its query string: query strings carry authorization codes and state.
 * Also counts the open server-sent event streams for meshai_sse_streams_open.
 */
export function accessLog({ logger, metrics }: Observability): Middleware {
  const open = new Set<ServerResponse>();
  metrics.trackStreams(() => {
    let n = 0;
    for (const res of open) if (isEventStream(res)) n++;
    return n;
  });
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const res = ctx.res;
    const requestId = ctx.state.requestId as string | undefined;
    open.add(res);
    try {
      await next();
    } finally {
      const route = routeOf(ctx);
      res.once("close", () => {
        open.delete(res);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const status = res.statusCode;
        const labels = { method: ctx.method, route, status: String(status) };
        metrics.httpRequests.inc(labels);
        metrics.httpDuration.observe(labels, seconds);
        const line = {
          request_id: requestId,
          method: ctx.method,
          path: ctx.path,
          route,
          status,
          duration_ms: Math.round(seconds * 1e6) / 1e3,
          remote_ip: ctx.ip,
          user_agent: ctx.get("user-agent").slice(0, 256) || undefined,
          ...(res.writableFinished ? {} : { aborted: true }),
        };
        if (QUIET_PATHS.has(ctx.path)) logger.debug(line, "request");
        else logger.info(line, "request");
      });
    }
  };
}
