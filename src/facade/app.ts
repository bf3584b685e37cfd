import Koa, { type Middleware } from "koa";
import { Router } from "@koa/router";
import type { Config } from "../config.js";
import { adminRoutes } from "./admin/routes.js";
import { bodyParser } from "./body.js";
import type { CoreClients } from "./core-client.js";
import { createObservability, type Observability } from "../observability/observability.js";
import { accessLog } from "./access-log.js";
import { errorHandler, type ServerErrorLog, serverErrorLog } from "./error-handler.js";
import { HttpError } from "./errors.js";
import { healthRoutes } from "./health.js";
import { mcpRoutes } from "./mcp/routes.js";
import { metricsRoutes } from "./metrics-route.js";
import { discoveryRoutes } from "./oauth/discovery.js";
import { oauthRoutes } from "./oauth/routes.js";
import { docsRoutes } from "./pages/docs.js";
import { requestId } from "./request-id.js";
import { securityHeaders } from "./security-headers.js";

/** Everything a route module may use: settings and the core, nothing else. */
export interface RouteDeps {
  config: Config;
  core: CoreClients;
  /** The process's logger and metrics (see src/observability). */
  observability: Observability;
}

/** Adds one area's routes (health, oauth, mcp, admin) to the facade's router. */
export type RouteModule = (router: Router, deps: RouteDeps) => void;

/**
 * The facade's areas, in mount order. Later work adds its module here:
 *   wellKnownRoutes  /.well-known/oauth-authorization-server, oauth-protected-resource, jwks
 *   oauthRoutes      /oauth/authorize, /oauth/token, /oauth/register, ...
 *   mcpRoutes        /v1/mcp
 *   adminRoutes      /admin
 */
export const routeModules: readonly RouteModule[] = [healthRoutes, metricsRoutes, discoveryRoutes, oauthRoutes, mcpRoutes, docsRoutes, adminRoutes];

export interface AppOptions extends Omit<RouteDeps, "observability"> {
  /** Logger and metrics shared with the core in one process; by default a logger at config.logLevel and a registry of its own. */
  observability?: Observability;
  /** Extra route modules mounted after `routeModules` (tests, experiments). */
  routes?: readonly RouteModule[];
  /** Where 5xx details go; defaults to an `error` line on the observability logger. */
  log?: ServerErrorLog;
}

/**
 * Turns the router's bare 404/405/501 into JSON errors; the router has
 * already set `Allow`, and the error handler keeps it.
 */
function unmatched(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.respond === false || ctx.headerSent) return; // a handler owns the raw response
    if (ctx.body !== undefined && ctx.body !== null) return;
    if (ctx.status === 404) {
      const routed = (ctx as { _matchedRoute?: unknown })._matchedRoute !== undefined;
      throw new HttpError(404, "not_found", routed ? "not found" : `no route for ${ctx.method} ${ctx.path}`);
    }
    // 501 is the router's answer to a method it has never heard of: still the client's mistake.
    if (ctx.status === 405 || ctx.status === 501) {
      throw new HttpError(405, "method_not_allowed", `${ctx.method} is not allowed on ${ctx.path}`);
    }
  };
}

/**
 * The facade: parses HTTP, maps errors, renders; reaches the core only
 * through `core`. Returns the app without listening (see `startFacade`).
 *
 * @example
 * const app = createApp({ config, core: createCoreClients(config) });
 * http.createServer(app.callback()).listen(config.httpPort, config.host);
 */
export function createApp({ config, core, routes = [], log, observability }: AppOptions): Koa {
  observability ??= createObservability(config, { defaultMetrics: false });
  const router = new Router();
  const facadeObservability = { ...observability, logger: observability.logger.child({ component: "facade" }) };
  for (const mount of [...routeModules, ...routes]) mount(router, { config, core, observability: facadeObservability });

  const app = new Koa();
  // Behind N trusted proxies ctx.ip is the Nth-from-last X-Forwarded-For entry; earlier entries are the client's to forge.
  if (config.trustProxyHops > 0) {
    app.proxy = true;
    app.maxIpsCount = config.trustProxyHops;
  }
  app.use(requestId());
  app.use(accessLog(facadeObservability));
  app.use(errorHandler(log ?? serverErrorLog(facadeObservability.logger)));
  app.use(securityHeaders(config));
  app.use(bodyParser(config.bodyLimit));
  app.use(unmatched());
  app.use(router.routes());
  app.use(router.allowedMethods());
  // What escapes the error handler (a streamed body failing mid-way): a log line, not Koa's stderr dump.
  app.on("error", (err: unknown, ctx?: Koa.Context) => {
    facadeObservability.logger.error({ err, method: ctx?.method, path: ctx?.path }, "response failed");
  });
  return app;
}
