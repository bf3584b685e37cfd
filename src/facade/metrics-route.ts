import type { Router } from "@koa/router";
import { isAllowed, parseAllowList } from "../observability/allow-list.js";
import type { RouteDeps } from "./app.js";
import { HttpError } from "./errors.js";

/**
 * GET /metrics in Prometheus text format, for the addresses in
 * MESHAI_METRICS_ALLOW only (loopback by default). The client address is
 * ctx.ip, so behind MESHAI_TRUST_PROXY proxies it is the real client's.
 */
export function metricsRoutes(router: Router, { config, observability }: RouteDeps): void {
  const allow = parseAllowList(config.metricsAllow.join(","));
  router.get("/metrics", async (ctx) => {
    if (!isAllowed(allow, ctx.ip)) {
      throw new HttpError(403, "forbidden", "metrics: this address may not read /metrics (see MESHAI_METRICS_ALLOW)");
    }
    const { contentType, body } = await observability.metrics.exposition();
    ctx.set("Cache-Control", "no-store");
    ctx.type = contentType;
    ctx.body = body;
  });
}
