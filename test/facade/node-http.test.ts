import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { requestView, sendResponse } from "../../src/facade/mcp/node-http.js";

/** A real HTTP server on loopback whose handler answers with the Web Response `answer` builds. */
async function serve(answer: (req: Request) => Response): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => void sendResponse(answer(requestView(req, `http://127.0.0.1${req.url}`)), res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let open: http.Server | undefined;
afterEach(async () => {
  open?.closeAllConnections();
  await new Promise((r) => open?.close(r));
  open = undefined;
});

describe("the MCP transport's view of a Node request", () => {
  it("reads the method, the URL and headers case-insensitively, repeated ones joined", async () => {
    let seen: Record<string, unknown> = {};
    const { url, server } = await serve((req) => {
      seen = { method: req.method, url: req.url, accept: req.headers.get("Accept"), missing: req.headers.get("x-none"), all: Object.fromEntries(req.headers.entries()) };
      return new Response(null, { status: 202 });
    });
    open = server;
    const res = await fetch(`${url}/v1/mcp?x=1`, { method: "DELETE", headers: { accept: "text/event-stream", "x-two": "a" } });
    expect(res.status).toBe(202);
    expect(seen).toMatchObject({ method: "DELETE", url: "http://127.0.0.1/v1/mcp?x=1", accept: "text/event-stream", missing: null });
    expect((seen.all as Record<string, string>)["x-two"]).toBe("a");
  });
});

describe("a Web Response written to Node's response", () => {
  it("keeps the status, every header and each Set-Cookie", async () => {
    const { url, server } = await serve(() => {
      const headers = new Headers({ "content-type": "application/json", "mcp-session-id": "s1" });
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2");
      return new Response('{"ok":true}', { status: 404, headers });
    });
    open = server;
    const res = await fetch(url);
    expect(res.status).toBe(404);
    expect(res.headers.get("mcp-session-id")).toBe("s1");
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("leaves the headers readable on Node's response (the access log counts open event streams by content type)", async () => {
    let seen: unknown;
    const server = http.createServer((req, res) => {
      res.once("close", () => (seen = res.getHeader("content-type")));
      void sendResponse(new Response("data: x\n\n", { headers: { "content-type": "text/event-stream" } }), res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    open = server;
    await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)).text();
    await expect.poll(() => seen).toBe("text/event-stream");
  });

  it("sends an event stream's headers before its first event, then each event as it comes", async () => {
    let push: ((s: string) => void) | undefined;
    const { url, server } = await serve(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              push = (s) => c.enqueue(new TextEncoder().encode(s));
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    open = server;
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    push!("data: one\n\n");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: one\n\n");
    push!("data: two\n\n");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: two\n\n");
    await reader.cancel();
  });

  it("delivers a body far larger than the socket's buffers whole (backpressure)", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(120);
    const { url, server } = await serve(() => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            if (sent++ < 256) c.enqueue(chunk);
            else c.close();
          },
        }),
      );
    });
    open = server;
    const res = await fetch(url);
    expect((await res.arrayBuffer()).byteLength).toBe(256 * chunk.length);
  });

  it("a client that goes away cancels the body, which is how the SDK learns its stream ended", async () => {
    let cancelled: (() => void) | undefined;
    const gone = new Promise<void>((r) => (cancelled = r));
    const { url, server } = await serve(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new TextEncoder().encode(": primed\n\n"));
            },
            cancel: () => cancelled!(),
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    open = server;
    const ac = new AbortController();
    const res = await fetch(url, { signal: ac.signal });
    await res.body!.getReader().read();
    ac.abort();
    await gone;
  });
});
