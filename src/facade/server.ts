import http from "node:http";
import type { Socket } from "node:net";
import type { Config } from "../config.js";
import { createObservability } from "../observability/observability.js";
import { createApp, type AppOptions } from "./app.js";
import { createCoreClients, type CoreClients } from "./core-client.js";

export interface RunningFacade {
  /** e.g. `http://127.0.0.1:8080` (the real port when configured with 0). */
  url: string;
  /** Stops accepting, lets requests finish for `graceMs`, then destroys what is left. */
  close(): Promise<void>;
}

/**
 * Listens on `config.host:config.httpPort`. Without `core` it dials
 * `config.coreUrl` and closes that connection on `close()`; a passed-in
 * `core` belongs to the caller.
 */
export async function startFacade(
  config: Config,
  core?: CoreClients,
  opts: Pick<AppOptions, "routes" | "log" | "observability"> & { graceMs?: number } = {},
): Promise<RunningFacade> {
  const clients = core ?? createCoreClients(config);
  const app = createApp({ config, core: clients, ...opts, observability: opts.observability ?? createObservability(config) });
  const server = http.createServer(app.callback());

  // server.close() waits for every open connection; keep them to cut stragglers.
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.httpPort, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port } = server.address() as { address: string; port: number };
  const host = address.includes(":") ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, opts.graceMs ?? 1000);
      await closed;
      clearTimeout(timer);
      if (core === undefined) clients.close();
    },
  };
}
