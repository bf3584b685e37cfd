import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpHarness, initializeMessage, json, messagesOf, rawPost, rawSession, startMcpHarness } from "./harness.js";

// Streamable HTTP as REFERENCES.md "MCP transport" words it, driven by raw HTTP so every status is visible.
let h: McpHarness;
let alice: string;
let bob: string;

beforeAll(async () => {
  h = await startMcpHarness({ idleMs: 400, maxPerSubject: 3 });
  alice = await h.token("mcp:read mcp:execute", "alice@example.com");
  bob = await h.token("mcp:read mcp:execute", "bob@example.com");
});
afterAll(async () => {
  await h?.close();
});

const auth = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
const inSession = (token: string, id: string, version = "2025-11-25") => auth(token, { "mcp-session-id": id, "mcp-protocol-version": version });
const ping = (id: number | string = 7) => ({ jsonrpc: "2.0", id, method: "ping" });

describe("initialize opens a session for every supported protocol version", () => {
  it.each(["2025-03-26", "2025-06-18", "2025-11-25"])("negotiates %s and returns an Mcp-Session-Id", async (version) => {
    const res = await rawPost(h.url, initializeMessage(version), auth(alice));
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toMatch(/^[0-9a-f-]{36}$/);
    const [msg] = (await messagesOf(res)).filter((m) => m.id === 1);
    expect(msg.result.protocolVersion).toBe(version);
    expect(msg.result.serverInfo.name).toBe("meshai");
    expect(msg.result.capabilities.tools).toBeDefined();
    expect(msg.result.capabilities.tasks.requests.tools.call).toEqual({});
  });
});

describe("requests after initialize need a known session of the same user", () => {
  it("answers 400 when the Mcp-Session-Id header is missing", async () => {
    const res = await rawPost(h.url, ping(), auth(alice, { "mcp-protocol-version": "2025-11-25" }));
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toMatch(/Mcp-Session-Id header is required/);
  });

  it("answers 404 for a session id it does not know", async () => {
    const res = await rawPost(h.url, ping(), inSession(alice, "00000000-0000-4000-8000-000000000000"));
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe(-32001);
  });

  it("answers 404 when another user's token uses the session", async () => {
    const id = await rawSession(h.url, alice);
    const theirs = await rawPost(h.url, ping(), inSession(bob, id));
    expect(theirs.status).toBe(404);
    const mine = await rawPost(h.url, ping(), inSession(alice, id));
    expect(mine.status).toBe(200);
    expect((await messagesOf(mine)).find((m) => m.id === 7).result).toEqual({});
  });

  it("ends a session on DELETE, after which it is unknown", async () => {
    const id = await rawSession(h.url, alice);
    const del = await fetch(h.url, { method: "DELETE", headers: inSession(alice, id) });
    expect(del.status).toBe(200);
    const after = await rawPost(h.url, ping(), inSession(alice, id));
    expect(after.status).toBe(404);
  });

  it("expires a session left idle", async () => {
    const id = await rawSession(h.url, alice);
    await new Promise((r) => setTimeout(r, 700));
    const res = await rawPost(h.url, ping(), inSession(alice, id));
    expect(res.status).toBe(404);
  });

  it("keeps at most maxPerSubject sessions per user, closing the least recently used", async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await rawSession(h.url, bob));
    expect((await rawPost(h.url, ping(), inSession(bob, ids[0]!))).status).toBe(404);
    expect((await rawPost(h.url, ping(), inSession(bob, ids[3]!))).status).toBe(200);
  });
});

describe("the GET stream and Last-Event-ID", () => {
  it("opens an SSE stream on GET", async () => {
    const id = await rawSession(h.url, alice);
    const ac = new AbortController();
    const res = await fetch(h.url, { headers: { ...inSession(alice, id), accept: "text/event-stream" }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    ac.abort();
  });

  it("answers 400 to a Last-Event-ID that is not an event of this session", async () => {
    const id = await rawSession(h.url, alice);
    for (const bad of ["nope", "x.1", "../../etc", "9".repeat(300)]) {
      const res = await fetch(h.url, { headers: { ...inSession(alice, id), accept: "text/event-stream", "last-event-id": bad } });
      expect(res.status).toBe(400);
      expect((await json(res)).error.message).toMatch(/Last-Event-ID/);
    }
  });

  it("replays what a dropped POST stream missed when the client comes back with Last-Event-ID", async () => {
    const id = await rawSession(h.url, alice);
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 42, method: "tools/list" }, inSession(alice, id));
    const text = await res.text();
    // Priming event first: an id and empty data, with a retry hint.
    const prime = /^id: (\S+)\nretry: \d+\ndata: \n\n/.exec(text);
    expect(prime).not.toBeNull();
    const replay = await fetch(h.url, { headers: { ...inSession(alice, id), accept: "text/event-stream", "last-event-id": prime![1]! } });
    expect(replay.status).toBe(200);
    const reader = replay.body!.getReader();
    let got = "";
    while (!got.includes('"id":42')) got += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(got).toMatch(/"tools":\[/);
  });
});

describe("MCP-Protocol-Version is checked", () => {
  it("answers 400 to an unsupported version", async () => {
    const id = await rawSession(h.url, alice);
    const res = await rawPost(h.url, ping(), inSession(alice, id, "1999-01-01"));
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toMatch(/unsupported MCP-Protocol-Version 1999-01-01/);
  });

  it("treats a missing header as 2025-03-26", async () => {
    const id = await rawSession(h.url, alice, "2025-03-26");
    const res = await rawPost(h.url, ping(), auth(alice, { "mcp-session-id": id }));
    expect(res.status).toBe(200);
  });
});

describe("Host and Origin are validated against DNS rebinding", () => {
  it("refuses a foreign Origin with 403", async () => {
    const res = await rawPost(h.url, initializeMessage(), auth(alice, { origin: "https://evil.example" }));
    expect(res.status).toBe(403);
    expect((await json(res)).error.message).toMatch(/Origin/);
  });

  it("allows the issuer's origin and ChatGPT's", async () => {
    for (const origin of [h.issuer, "https://chatgpt.com", "https://chat.openai.com"]) {
      const res = await rawPost(h.url, initializeMessage(), auth(alice, { origin }));
      expect(res.status).toBe(200);
      await res.text();
    }
  });

  it("refuses a foreign Host with 403", async () => {
    const { request } = await import("node:http");
    const u = new URL(h.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { host: "evil.example", "content-type": "application/json", accept: "application/json, text/event-stream", ...auth(alice) } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify(initializeMessage()));
    });
    expect(status).toBe(403);
  });
});

describe("browser-based clients on an allowed origin get CORS", () => {
  it("answers the preflight without a token and exposes the session id and challenge", async () => {
    const pre = await fetch(h.url, { method: "OPTIONS", headers: { origin: "http://localhost:6274", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:6274");
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/Mcp-Session-Id/);
    const res = await rawPost(h.url, initializeMessage(), auth(alice, { origin: "https://chatgpt.com" }));
    expect(res.headers.get("access-control-expose-headers")).toMatch(/Mcp-Session-Id/);
    await res.text();
  });

  it("gives a foreign origin's preflight 403", async () => {
    const pre = await fetch(h.url, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(403);
  });
});

describe("server/discover from the stateless revision gets a plain JSON -32601 before any session", () => {
  it("answers ChatGPT's probe without a session id, as application/json", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: "openai-mcp-discover", method: "server/discover", params: {} }, auth(alice, { "mcp-protocol-version": "2026-07-28" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: "2.0", id: "openai-mcp-discover", error: { code: -32601 } });
  });

  it("answers any pre-initialize request with ChatGPT's probe id the same way", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: "openai-mcp-discover", method: "tools/list" }, auth(alice));
    expect(res.status).toBe(200);
    expect((await json(res)).error.code).toBe(-32601);
  });
});

describe("bad input gets the spec's status and a JSON-RPC error, never a 500", () => {
  let id: string;
  beforeAll(async () => {
    id = await rawSession(h.url, alice);
  });

  it("malformed JSON: 400 with -32700", async () => {
    const res = await rawPost(h.url, '{"jsonrpc": "2.0", "id": 1, "method": ', inSession(alice, id));
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32700 } });
  });

  it("a body that is not a JSON-RPC message: 400 with -32600", async () => {
    for (const body of [{ hello: "world" }, { jsonrpc: "1.0", id: 1, method: "ping" }, 42, "just a string"]) {
      const res = await rawPost(h.url, JSON.stringify(body), inSession(alice, id));
      expect(res.status).toBe(400);
      expect((await json(res)).error.code).toBe(-32600);
    }
  });

  it("batches: 400 with -32600 on 2025-06-18 and later", async () => {
    const res = await rawPost(h.url, [ping(1), ping(2)], inSession(alice, id));
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: -32600, message: expect.stringMatching(/batches/) });
  });

  it("unknown methods: -32601 in the JSON-RPC response", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 9, method: "no/such/method" }, inSession(alice, id));
    expect(res.status).toBe(200);
    expect((await messagesOf(res)).find((m) => m.id === 9).error.code).toBe(-32601);
  });

  it("wrong parameter types: -32602", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 10, method: "tools/call", params: { name: 5, arguments: "x" } }, inSession(alice, id));
    expect(res.status).toBe(200);
    expect((await messagesOf(res)).find((m) => m.id === 10).error.code).toBe(-32602);
  });

  it("an unknown tool name: -32602 naming it", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "rm_rf", arguments: {} } }, inSession(alice, id));
    const msg = (await messagesOf(res)).find((m) => m.id === 11);
    expect(msg.error).toMatchObject({ code: -32602, message: expect.stringMatching(/rm_rf/) });
  });

  it("huge bodies: 413 with a JSON-RPC error, and the session still works", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(2 * 1024 * 1024) } }, inSession(alice, id));
    expect(res.status).toBe(413);
    expect((await json(res)).jsonrpc).toBe("2.0");
    const after = await rawPost(h.url, ping(), inSession(alice, id));
    expect(after.status).toBe(200);
  });

  it("a non-JSON content type: 415", async () => {
    const res = await fetch(h.url, { method: "POST", headers: { ...inSession(alice, id), "content-type": "text/plain", accept: "application/json, text/event-stream" }, body: "ping" });
    expect(res.status).toBe(415);
  });

  it("a missing Accept for SSE: 406", async () => {
    const res = await fetch(h.url, { method: "POST", headers: { ...inSession(alice, id), "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(ping()) });
    expect(res.status).toBe(406);
  });

  it("other HTTP methods: 405 with Allow", async () => {
    const res = await fetch(h.url, { method: "PUT", headers: auth(alice) });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, POST, DELETE");
  });

  it("notifications get 202", async () => {
    const res = await rawPost(h.url, { jsonrpc: "2.0", method: "notifications/initialized" }, inSession(alice, id));
    expect(res.status).toBe(202);
  });
});
