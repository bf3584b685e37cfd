import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Node's request and response to and from the Web-standard ones the MCP
 * SDK's `WebStandardStreamableHTTPServerTransport` speaks, for one hop inside
 * this process. The SDK's own Node wrapper does this through
 * `@hono/node-server`, which builds a full `Request` (headers, AbortSignal)
 * for every message; the transport only ever reads the method, the URL and a
 * few headers (the body arrives already parsed), so a view of the
 * IncomingMessage serves it at a fraction of the cost.
 */

/** What the SDK's transport reads of a request: method, url, headers.get and headers.entries. */
export function requestView(req: IncomingMessage, url: string): Request {
  const headers = {
    get(name: string): string | null {
      const v = req.headers[name.toLowerCase()];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join(", ") : v;
    },
    has(name: string): boolean {
      return req.headers[name.toLowerCase()] !== undefined;
    },
    *entries(): IterableIterator<[string, string]> {
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) yield [k, Array.isArray(v) ? v.join(", ") : v];
    },
    forEach(f: (value: string, key: string) => void): void {
      for (const [k, v] of headers.entries()) f(v, k);
    },
    [Symbol.iterator]() {
      return headers.entries();
    },
  };
  return { method: req.method ?? "GET", url, headers } as unknown as Request;
}

/**
 * Writes a Web `Response` to Node's response: status and headers at once (an
 * SSE stream's headers must reach the client before its first event), then
 * the body chunk by chunk, waiting for `drain` under backpressure. A client
 * that goes away cancels the body, which is how the SDK learns a stream ended.
 */
export async function sendResponse(response: Response, res: ServerResponse): Promise<void> {
  // Set one by one (not passed to writeHead) so that they stay readable with getHeader, as the
  // access log's count of open event streams reads the content type.
  response.headers.forEach((value, key) => {
    if (key !== "set-cookie") res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  const body = response.body;
  if (!body) {
    res.writeHead(response.status).end();
    return;
  }
  res.writeHead(response.status);
  res.flushHeaders();
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  res.once("close", cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off("drain", go);
            res.off("close", go);
            resolve();
          };
          res.once("drain", go);
          res.once("close", go);
        });
      }
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    res.off("close", cancel);
  }
}
