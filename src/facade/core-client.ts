import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { Config } from "../config.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService } from "../../gen/meshai/v1/auth_pb.js";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import { createDirectTransport, type InProcessCore } from "./in-process-transport.js";
import { currentRequestId } from "./request-id.js";

/** The facade's only way into the core: one Connect client per service. */
export interface CoreClients {
  auth: Client<typeof AuthService>;
  mesh: Client<typeof MeshService>;
  health: Client<typeof Health>;
  /** Drops the HTTP/2 connection to the core (a no-op for an injected transport). */
  close(): void;
}

export interface CoreClientOptions {
  /**
   * Use this transport as is instead of dialing `coreUrl`, e.g. a
   * `createRouterTransport` in tests. Build it with
   * `interceptors: [requestIdInterceptor]` to keep request ids flowing.
   */
  transport?: Transport;
  /** Extra interceptors for the dialed transport, run after the request id one. */
  interceptors?: Interceptor[];
}

/**
 * Stamps every outgoing core call with the current HTTP request's id, so a
 * request can be followed from the facade's log into the core's.
 *
 * @example
 * createRouterTransport(routes, { transport: { interceptors: [requestIdInterceptor] } })
 */
export const requestIdInterceptor: Interceptor = (next) => (req) => {
  const id = currentRequestId();
  if (id !== undefined && !req.header.has("x-request-id")) req.header.set("x-request-id", id);
  return next(req);
};

/**
 * Connects to the core over the gRPC protocol (HTTP/2; h2c for an `http://`
 * URL). The session manager is ours so `close()` can end the connection.
 *
 * @example
 * const core = createCoreClients(config);
 * await core.health.check({ service: "" }, { timeoutMs: 2000 });
 */
export function createCoreClients(
  config: Pick<Config, "coreUrl">,
  opts: CoreClientOptions = {},
): CoreClients {
  let close = () => {};
  let transport = opts.transport;
  if (transport === undefined) {
    const sessionManager = new Http2SessionManager(config.coreUrl);
    close = () => sessionManager.abort();
    transport = createGrpcTransport({
      baseUrl: config.coreUrl,
      sessionManager,
      interceptors: [requestIdInterceptor, ...(opts.interceptors ?? [])],
      // The core is next door (loopback or the same network): gzip would only spend CPU on both ends.
      acceptCompression: [],
    });
  }
  return {
    auth: createClient(AuthService, transport),
    mesh: createClient(MeshService, transport),
    health: createClient(Health, transport),
    close,
  };
}

export type { InProcessCore } from "./in-process-transport.js";

/**
 * The in-process transport for one-process mode (`meshai serve`, role "all"),
 * like gRPC's InProcessTransport: calls reach the core's own service
 * implementations without a socket, HTTP/2, gRPC framing or protobuf
 * encoding, through the same interceptors as over the network (the core's
 * request observer and auth check run on every call, and its errors keep
 * their code and metadata, e.g. `oauth-error`). Messages are copied each way.
 * The core's gRPC port keeps serving every other caller.
 *
 * @example
 * createCoreClients(config, { transport: createInProcessTransport(core.handlerOptions) })
 */
export function createInProcessTransport(core: InProcessCore): Transport {
  return createDirectTransport(core, [requestIdInterceptor]);
}
