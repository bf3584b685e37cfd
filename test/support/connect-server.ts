import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** Starts an h2c server on loopback; close() destroys sockets so it cannot hang. */
export async function serve(routes: (router: ConnectRouter) => void) {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return { port, close };
}

/** Turns a stream's events into awaitable messages, one per next(). */
export function reader<T>(stream: NodeJS.EventEmitter) {
  const buffered: T[] = [];
  const waiting: { resolve: (m: T) => void; reject: (e: unknown) => void }[] = [];
  let failure: unknown;
  stream.on("data", (m: T) => {
    const w = waiting.shift();
    if (w) w.resolve(m);
    else buffered.push(m);
  });
  stream.on("error", (e: unknown) => {
    failure = e;
    for (const w of waiting.splice(0)) w.reject(e);
  });
  return {
    next(): Promise<T> {
      if (buffered.length > 0) return Promise.resolve(buffered.shift() as T);
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}
