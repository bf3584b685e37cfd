import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { RouteDeps } from "./app.js";

/** How long /readyz waits for the core before calling it unavailable. */
const READY_TIMEOUT_MS = 2000;

/** `DeadlineExceeded` -> `DEADLINE_EXCEEDED`, the way gRPC names statuses. */
function statusName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** What the core says about itself, in grpc.health.v1's words. */
async function coreStatus({ core }: RouteDeps): Promise<string> {
  try {
    const res = await core.health.check({ service: "" }, { timeoutMs: READY_TIMEOUT_MS });
    return ServingStatus[res.status] ?? "UNKNOWN";
  } catch (err) {
    return statusName(ConnectError.from(err).code);
  }
}

/**
 * `/healthz`: liveness, this process answers (never asks the core, so a core
 * outage does not get the facade restarted). `/readyz`: readiness, the core
 * (and through it the database) serves.
 */
export function healthRoutes(router: Router, deps: RouteDeps): void {
  router.get("/healthz", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    const core = await coreStatus(deps);
    ctx.set("Cache-Control", "no-store");
    ctx.status = core === "SERVING" ? 200 : 503;
    ctx.body = core === "SERVING" ? { status: "ready", core } : { status: "unavailable", core };
  });
}
