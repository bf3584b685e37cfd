import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService } from "../../gen/meshai/v1/auth_pb.js";
import { MeshService } from "../../gen/meshai/v1/mesh_pb.js";
import type { Config } from "../config.js";
import { createAuthInterceptor } from "./auth/policy.js";
import { createAuthService } from "./auth/service.js";
import { createHealthService, type HealthService } from "./health.js";
import { createMeshService } from "./mesh/service.js";
import { bootstrap, type BootstrapResult, openPlatform, type Platform } from "./platform.js";
import { registerReflection } from "./reflection.js";
import { DEFAULT_METRICS_ALLOW, parseAllowList } from "../observability/allow-list.js";
import type { Observability } from "../observability/observability.js";
import { withMetricsEndpoint } from "./metrics-endpoint.js";
import { createRpcObserver } from "./rpc-observer.js";
import { bindCoreGauges, createCoreTelemetry } from "./telemetry.js";

/** The services the core serves, as reflection lists them. */
export const CORE_SERVICES = [AuthService, MeshService];

/** Registers every service on a Connect router: the two MeshAI services, health and reflection. */
export function createRoutes(platform: Platform, health: HealthService) {
  const { config } = platform;
  return (router: ConnectRouter) => {
    router.service(
      AuthService,
      createAuthService({
        issuer: config.issuer,
        mcpResource: config.mcpResource,
        resources: config.resources,
        accessTokenTtl: config.accessTokenTtl,
        keys: platform.keys,
        accessTokens: platform.accessTokens,
        accounts: platform.accounts,
        clock: platform.clock,
        oauth: platform.oauth,
        users: platform.users,
      }),
    );
    router.service(MeshService, createMeshService({ search: platform.search, registry: platform.registry, mesh: platform.mesh }));
    router.service(Health, health.impl);
    registerReflection(router, CORE_SERVICES);
    reportParseErrorsAsInvalidArgument(router);
  };
}

/**
 * connect-es reports a request it cannot decode from protobuf binary as
 * INTERNAL ("parse binary: ..."), as grpc-go does; it is the client's mistake,
 * so the gRPC trailer says INVALID_ARGUMENT instead. (JSON bodies already get
 * INVALID_ARGUMENT naming the field.)
 */
function reportParseErrorsAsInvalidArgument(router: ConnectRouter): void {
  router.handlers.forEach((handler, i) => {
    const wrapped = Object.assign(async (req: Parameters<typeof handler>[0]) => {
      const res = await handler(req);
      const { body, trailer } = res;
      if (!trailer || !body || body instanceof Uint8Array) return res;
      const fix = () => {
        if (trailer.get("grpc-status") !== String(Code.Internal)) return;
        const message = decodeURIComponent(trailer.get("grpc-message") ?? "");
        if (!message.startsWith("parse binary:")) return;
        trailer.set("grpc-status", String(Code.InvalidArgument));
        trailer.set("grpc-message", encodeURIComponent(`request message could not be decoded: ${message.slice(13).trim()}`));
      };
      // A plain pass-through iterator, not an async generator: this runs on every call.
      const it = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      const checked: AsyncIterableIterator<Uint8Array> = {
        [Symbol.asyncIterator]: () => checked,
        next: () =>
          it.next().then((r) => {
            if (r.done) fix();
            return r;
          }),
        return: (v?: unknown) => (it.return ? it.return(v) : Promise.resolve({ done: true as const, value: undefined })),
        throw: (e?: unknown) => (it.throw ? it.throw(e) : Promise.reject(e)),
      };
      return { ...res, body: checked };
    }, handler);
    router.handlers[i] = wrapped;
  });
}

/**
 * Connect handler options (routes, interceptors, limits): the one definition
 * of how the core answers an RPC, used by its network server and by
 * in-process callers (`createRouterTransport`, as `meshai serve` wires the
 * facade in one process), so every rule runs the same way for both.
 */
export function coreHandlerOptions(platform: Platform, health: HealthService) {
  return {
    routes: createRoutes(platform, health),
    // The observer first: it gives the call its request id and sees the auth interceptor's refusals.
    interceptors: [createRpcObserver(platform.telemetry), createAuthInterceptor(platform.accessTokens)],
    // Large enough for workflow payloads, small enough to refuse abuse.
    readMaxBytes: 4 * 1024 * 1024,
  };
}

export interface RunningCore {
  url: string;
  port: number;
  platform: Platform;
  health: HealthService;
  bootstrap: BootstrapResult;
  /**
   * The handler options this core serves its port with: a caller in the same
   * process passes them to `createRouterTransport` to reach the same services
   * through the same interceptors without a socket.
   */
  handlerOptions: ReturnType<typeof coreHandlerOptions>;
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts the core on one port. HTTP/2 connections (gRPC, gRPC-Web, Connect
 * with prior knowledge) and HTTP/1.1 ones (Connect and gRPC-Web from fetch,
 * browsers, `buf curl` without --http2-prior-knowledge) are told apart by the
 * HTTP/2 connection preface, so every client works on the same port.
 */
export async function startCore(
  config: Pick<Config, "host" | "grpcPort"> & Partial<Pick<Config, "metricsAllow">> & Parameters<typeof openPlatform>[0],
  options: {
    platform?: Platform;
    /** The process's logger and metrics (shared with the facade in one process); ignored with `platform`, which has its own. */
    observability?: Observability;
  } = {},
): Promise<RunningCore> {
  const platform = options.platform ?? (await openPlatform(config, undefined, options.observability && createCoreTelemetry(options.observability)));
  const boot = await bootstrap(platform);
  // Fails tasks a dead process left running, then starts heartbeats and agent health checks.
  await platform.mesh.start();
  // Housekeeping: reap idle dynamic clients, forget expired codes, sessions and assertions.
  const stopSweeper = platform.oauth.startSweeper();
  const health = createHealthService(() => platform.db.ping(), {
    services: CORE_SERVICES.map((s) => s.typeName),
  });
  // Tasks by state and breaker states are read when Prometheus scrapes.
  const unbindGauges = bindCoreGauges(platform);
  const handlerOptions = coreHandlerOptions(platform, health);
  const handler = withMetricsEndpoint(
    connectNodeAdapter(handlerOptions),
    platform.telemetry.metrics,
    parseAllowList((config.metricsAllow ?? [DEFAULT_METRICS_ALLOW]).join(",")),
  );
  const h2 = http2.createServer({}, handler);
  const h1 = http.createServer(handler);

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });

  const PREFACE = "PRI * HTTP/2.0";
  const server = net.createServer((socket) => {
    // HTTP/2 sets TCP_NODELAY only on sockets it accepts itself; this one reaches it wrapped, so
    // without this Nagle holds small frames for the peer's delayed ACK (~40 ms per unary call).
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const text = seen.toString("latin1");
      const decided = seen.length >= PREFACE.length || !PREFACE.startsWith(text);
      if (!decided) return;
      socket.off("data", onData);
      socket.pause();
      if (text.startsWith(PREFACE)) {
        h2.emit("connection", replaying(socket, seen));
      } else {
        socket.unshift(seen);
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.grpcPort, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    platform,
    health,
    bootstrap: boot,
    handlerOptions,
    close(graceMs = 5000) {
      closing ??= (async () => {
        health.shutdown();
        unbindGauges();
        // Running tasks end now with a clear "interrupted" event, which also ends their streams.
        await platform.mesh.close();
        await stopSweeper();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Ask HTTP/2 clients to finish (GOAWAY) and HTTP/1 ones to stop keeping alive.
        for (const s of sessions) s.close();
        h1.closeIdleConnections?.();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        timer.unref();
        await stopped;
        clearTimeout(timer);
        await platform.db.close();
      })();
      return closing;
    },
  };
}

/**
 * A stream over `socket` that first yields the bytes already read from it.
 * The HTTP/2 session reads a plain socket's handle directly, so bytes put back
 * with unshift() would be lost to it; a Duplex without a handle is read
 * through its stream interface instead.
 */
function replaying(socket: net.Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  // The peer's address, as a socket would report it (the /metrics allow list reads it).
  for (const key of ["remoteAddress", "remotePort", "remoteFamily"] as const) {
    Object.defineProperty(stream, key, { get: () => socket[key] });
  }
  stream.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.once("end", () => stream.push(null));
  socket.once("close", () => stream.destroy());
  return stream;
}
