import type http from "node:http";
import type http2 from "node:http2";
import { type AllowList, isAllowed } from "../observability/allow-list.js";
import type { Metrics } from "../observability/metrics.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

const isMetricsPath = (url: string | undefined) => url === "/metrics" || (url?.startsWith("/metrics?") ?? false);

function reply(res: Res, status: number, contentType: string, body: string): void {
  (res as http.ServerResponse).writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
  res.end(body);
}

/**
 * The TCP peer. An h2c connection reaches the HTTP/2 server as a wrapped
 * stream (see server.ts `replaying`), which Node puts inside a socket of its
 * own: the address is on the wrapped stream, which carries the real socket's.
 */
function peerAddress(req: Req): string | undefined {
  const socket = req.socket as (typeof req.socket & { stream?: { remoteAddress?: string } }) | undefined;
  return socket?.remoteAddress ?? socket?.stream?.remoteAddress;
}

/**
 * `GET /metrics` on the core's port (HTTP/1.1 and h2), answered before the
 * Connect handler sees the request, so a split `--role core` process is
 * scraped on its own. Only addresses in the allow list (the socket's peer:
 * the core has no proxies in front) may read it.
 *
 * @example
 * http.createServer(withMetricsEndpoint(connectHandler, metrics, allow))
 */
export function withMetricsEndpoint<H extends (req: never, res: never) => void>(handler: H, metrics: Metrics, allow: AllowList): H {
  const wrapped = (req: Req, res: Res) => {
    if (!isMetricsPath(req.url)) return (handler as unknown as (req: Req, res: Res) => void)(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return reply(res, 405, "application/json", JSON.stringify({ error: "method_not_allowed", error_description: `${req.method} is not allowed on /metrics` }));
    }
    if (!isAllowed(allow, peerAddress(req))) {
      return reply(res, 403, "application/json", JSON.stringify({ error: "forbidden", error_description: "metrics: this address may not read /metrics (see MESHAI_METRICS_ALLOW)" }));
    }
    metrics.exposition().then(
      ({ contentType, body }) => reply(res, 200, contentType, req.method === "HEAD" ? "" : body),
      (e: unknown) => reply(res, 500, "application/json", JSON.stringify({ error: "server_error", error_description: `metrics: ${String(e)}` })),
    );
  };
  return wrapped as unknown as H;
}
