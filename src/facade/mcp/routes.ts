import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Router } from "@koa/router";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  InitializeRequestSchema,
  isInitializeRequest,
  ListTasksRequestSchema,
  ListToolsRequestSchema,
  PingRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import type { Context } from "koa";
import type { RouteDeps } from "../app.js";
import { toJsonRpcError } from "../errors.js";
import { BearerError, bearerFrom, createTokenVerifier, type McpCaller, type TokenVerifier } from "./auth.js";
import { BASELINE_SCOPE, insufficientScopeChallenge, invalidTokenChallenge } from "./challenge.js";
import { SessionEventStore } from "./event-store.js";
import { requestView, sendResponse } from "./node-http.js";
import { createSessionServer, type RequestLink } from "./server.js";
import { DEFAULT_SESSION_LIMITS, type SessionEntry, type SessionLimits, SessionRegistry } from "./sessions.js";
import { McpTaskStore } from "./task-store.js";

export const MCP_PATH = "/v1/mcp";
export const LEGACY_SSE_PATH = "/v1/mcp/sse";
export const LEGACY_MESSAGES_PATH = "/v1/mcp/messages";

/** Origins besides the issuer's that may call from a browser context: ChatGPT's. */
const CHATGPT_ORIGINS = ["https://chatgpt.com", "https://chat.openai.com"];
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Tuning for tests and operators; read from `config.mcp` when present. */
export interface McpOptions extends Partial<SessionLimits> {
  /** Events kept per session for Last-Event-ID replay. */
  maxEventsPerSession?: number;
  /** How long a positive token check is reused (ms). */
  tokenCacheMs?: number;
  /** The `retry:` hint (ms) sent on resumable SSE streams. */
  retryMs?: number;
}

interface StreamableSession extends SessionEntry {
  transport: WebStandardStreamableHTTPServerTransport;
  server: Server;
  events: SessionEventStore;
  links: Map<string | number, RequestLink>;
}

interface LegacySession extends SessionEntry {
  transport: SSEServerTransport;
}

type JsonRpcId = string | number | null;

/** The `dropped` signal of a resumable request: its connection dropping does not stop the work. */
const NEVER_ABORTED = new AbortController().signal;

/** http(s)://localhost, 127.0.0.1 or [::1] on any port: local tools, never a rebinding attacker's name. */
function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && LOOPBACK_HOSTS.has(u.hostname);
  } catch {
    return false;
  }
}

/**
 * The requests this server answers, by method. Their params are checked here
 * because the SDK reports a schema mismatch as -32603 (internal error) while
 * it is the client's mistake: -32602 (invalid params).
 */
const REQUEST_SCHEMAS = new Map<string, { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }>([
  ["initialize", InitializeRequestSchema],
  ["ping", PingRequestSchema],
  ["tools/list", ListToolsRequestSchema],
  ["tools/call", CallToolRequestSchema],
  ["tasks/get", GetTaskRequestSchema],
  ["tasks/result", GetTaskPayloadRequestSchema],
  ["tasks/list", ListTasksRequestSchema],
  ["tasks/cancel", CancelTaskRequestSchema],
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A cheap shape check of one JSON-RPC 2.0 message (request, notification or
 * response): the SDK's zod parse runs after it anyway, this only decides the
 * right error code (-32600) for what is not a message at all.
 */
function isJsonRpcMessage(m: Record<string, unknown>): boolean {
  if (m.jsonrpc !== "2.0") return false;
  const idOk = typeof m.id === "string" || (typeof m.id === "number" && Number.isFinite(m.id));
  if ("method" in m) {
    if (typeof m.method !== "string" || m.method === "") return false;
    if ("params" in m && m.params !== undefined && !isObject(m.params)) return false;
    return !("id" in m) || idOk;
  }
  return idOk && ("result" in m ? isObject(m.result) : isObject(m.error));
}

/** "params.name: expected string" for the first problem of a request whose params do not fit its method. */
function paramsProblem(message: Record<string, unknown>): string | undefined {
  if (message.method === "tools/call") {
    // The hot path, checked by hand; the SDK validates the rest of the shape again.
    const p = message.params;
    if (!isObject(p)) return "params: expected an object";
    if (typeof p.name !== "string") return "params.name: expected a string";
    if (p.arguments !== undefined && !isObject(p.arguments)) return "params.arguments: expected an object";
    if (p.task !== undefined && !isObject(p.task)) return "params.task: expected an object";
    if (p._meta !== undefined && !isObject(p._meta)) return "params._meta: expected an object";
    return undefined;
  }
  const schema = typeof message.method === "string" ? REQUEST_SCHEMAS.get(message.method) : undefined;
  if (!schema || !("id" in message)) return undefined;
  const parsed = schema.safeParse(message);
  if (parsed.success) return undefined;
  const issue = parsed.error?.issues[0];
  return issue ? `${issue.path.map(String).join(".") || "params"}: ${issue.message}` : "params: invalid";
}

function rpcError(ctx: Context, status: number, code: number, message: string, id: JsonRpcId = null): void {
  ctx.status = status;
  ctx.type = "application/json";
  ctx.body = { jsonrpc: "2.0", id, error: { code, message } };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * MCP over Streamable HTTP at /v1/mcp, and the older HTTP+SSE transport at
 * /v1/mcp/sse (+ /v1/mcp/messages). This module checks what the SDK's
 * transport does not (Host/Origin, the bearer token through the core, the
 * session's owner, batches, `server/discover`) and then hands the request to
 * the SDK's Web-standard transport (see node-http.ts) with the body body.ts
 * already parsed.
 */
export function createMcpRoutes(options: McpOptions = {}) {
  return function mcpRoutes(router: Router, { config, core, observability }: RouteDeps): void {
    const opts: McpOptions = { ...options, ...((config as { mcp?: McpOptions }).mcp ?? {}) };
    const limits: SessionLimits = {
      idleMs: opts.idleMs ?? DEFAULT_SESSION_LIMITS.idleMs,
      maxSessions: opts.maxSessions ?? DEFAULT_SESSION_LIMITS.maxSessions,
      maxPerSubject: opts.maxPerSubject ?? DEFAULT_SESSION_LIMITS.maxPerSubject,
    };
    const issuer = config.issuer;
    const issuerUrl = new URL(issuer);
    const allowedOrigins = new Set([issuerUrl.origin, ...CHATGPT_ORIGINS]);
    const verify: TokenVerifier = createTokenVerifier(core, config.mcpResource, { cacheMs: opts.tokenCacheMs ?? 1000 });
    const tasks = new McpTaskStore();
    const sessions = new SessionRegistry<StreamableSession>(limits);
    const legacy = new SessionRegistry<LegacySession>({ ...limits, idleMs: Number.MAX_SAFE_INTEGER });
    observability.metrics.trackSessions(() => sessions.size + legacy.size);

    /** DNS-rebinding protection: the Host must be ours, a present Origin must be one we trust. */
    function checkOrigin(ctx: Context): boolean {
      const host = (header(ctx.req, "host") ?? "").toLowerCase();
      const hostname = host.replace(/:\d+$/, "");
      if (host !== issuerUrl.host && !LOOPBACK_HOSTS.has(hostname)) {
        rpcError(ctx, 403, -32000, `Host ${JSON.stringify(host)} is not this server's; use ${issuerUrl.host}`);
        return false;
      }
      const origin = header(ctx.req, "origin");
      if (origin !== undefined && !allowedOrigins.has(origin) && !isLoopbackOrigin(origin)) {
        rpcError(ctx, 403, -32000, `Origin ${JSON.stringify(origin)} is not allowed to call this MCP server`);
        return false;
      }
      return true;
    }

    /** The verified caller, or undefined after answering 401/403 with the exact challenge. */
    async function authenticate(ctx: Context): Promise<McpCaller | undefined> {
      let caller: McpCaller;
      try {
        caller = await verify(bearerFrom(header(ctx.req, "authorization")));
      } catch (err) {
        if (!(err instanceof BearerError)) throw err;
        ctx.set("WWW-Authenticate", invalidTokenChallenge(issuer, err.message));
        const { code } = toJsonRpcError(new ConnectError(err.message, Code.Unauthenticated));
        rpcError(ctx, 401, code, err.message);
        return undefined;
      }
      if (!caller.scopes.includes(BASELINE_SCOPE)) {
        const why = `this MCP server needs the ${BASELINE_SCOPE} scope`;
        ctx.set("WWW-Authenticate", insufficientScopeChallenge(issuer, BASELINE_SCOPE, caller.scopes, why));
        const { code } = toJsonRpcError(new ConnectError(why, Code.PermissionDenied));
        rpcError(ctx, 403, code, why);
        return undefined;
      }
      (ctx.req as IncomingMessage & { auth?: AuthInfo }).auth = {
        token: caller.token,
        clientId: caller.clientId,
        scopes: caller.scopes,
        expiresAt: caller.expiresAt,
        extra: { caller, subject: caller.subject },
      };
      return caller;
    }

    /** Counts an exchange as active until its response closes, so busy sessions never idle out. */
    function hold(session: SessionEntry, res: ServerResponse): void {
      session.active++;
      res.once("close", () => {
        session.active--;
        session.lastSeen = Date.now();
      });
    }

    function openSession(subject: string): StreamableSession {
      sessions.reserve(subject);
      const id = randomUUID();
      const events = new SessionEventStore({ maxEvents: opts.maxEventsPerSession });
      const links = new Map<string | number, RequestLink>();
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => id,
        eventStore: events,
        retryInterval: opts.retryMs ?? 1000,
        onsessioninitialized: () => sessions.add(session),
        onsessionclosed: () => sessions.remove(id),
      });
      const server = createSessionServer({ core, issuer, tasks, subject, linkOf: (rid) => links.get(rid) });
      const session: StreamableSession = {
        id,
        subject,
        lastSeen: Date.now(),
        active: 0,
        transport,
        server,
        events,
        links,
        close: async () => {
          sessions.remove(id);
          await server.close();
        },
      };
      transport.onclose = () => sessions.remove(id);
      return session;
    }

    /** Notes, per JSON-RPC request id, whether its HTTP response dropped early and whether the client could resume. */
    function linkRequests(session: StreamableSession, body: unknown, res: ServerResponse, protocolVersion: string): void {
      const messages = Array.isArray(body) ? body : [body];
      const resumable = protocolVersion >= "2025-11-25";
      for (const m of messages) {
        if (typeof m !== "object" || m === null || !("method" in m) || !("id" in m)) continue;
        const rid = (m as { id: string | number }).id;
        // A resumable call ignores drops (the client comes back with Last-Event-ID): no controller to build.
        const dropped = resumable ? undefined : new AbortController();
        const link: RequestLink = { dropped: dropped?.signal ?? NEVER_ABORTED, resumable };
        session.links.set(rid, link);
        res.once("close", () => {
          if (dropped && !res.writableFinished) dropped.abort(new Error("the client closed the connection"));
          if (session.links.get(rid) === link) session.links.delete(rid);
        });
      }
    }

    async function handOver(ctx: Context, session: StreamableSession, body?: unknown): Promise<void> {
      ctx.respond = false;
      hold(session, ctx.res);
      try {
        const authInfo = (ctx.req as IncomingMessage & { auth?: AuthInfo }).auth;
        const response = await session.transport.handleRequest(requestView(ctx.req, `${issuerUrl.origin}${ctx.req.url ?? MCP_PATH}`), { authInfo, parsedBody: body });
        await sendResponse(response, ctx.res);
      } catch (err) {
        if (!ctx.res.headersSent) {
          const { code, message } = toJsonRpcError(err);
          ctx.res.writeHead(500, { "content-type": "application/json" });
          ctx.res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }));
        } else ctx.res.destroy();
      }
    }

    /**
     * CORS for browser-based MCP clients on an allowed origin (ChatGPT's, the issuer's, loopback
     * tools such as the MCP Inspector): they must read the session id and the auth challenge.
     */
    function cors(ctx: Context): void {
      const origin = header(ctx.req, "origin");
      if (origin === undefined) return;
      ctx.set("Access-Control-Allow-Origin", origin);
      ctx.set("Vary", "Origin");
      ctx.set("Access-Control-Expose-Headers", "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate");
    }

    const streamable = async (ctx: Context) => {
      if (!checkOrigin(ctx)) return;
      cors(ctx);
      if (ctx.method === "OPTIONS") {
        ctx.set("Access-Control-Allow-Methods", "GET, POST, DELETE");
        ctx.set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID");
        ctx.set("Access-Control-Max-Age", "600");
        ctx.status = 204;
        return;
      }
      if (!["POST", "GET", "DELETE"].includes(ctx.method)) {
        ctx.set("Allow", "GET, POST, DELETE");
        return rpcError(ctx, 405, -32000, `${ctx.method} is not allowed on ${MCP_PATH}; use POST, GET or DELETE`);
      }
      const caller = await authenticate(ctx);
      if (!caller) return;
      const sessionId = header(ctx.req, "mcp-session-id");
      const version = header(ctx.req, "mcp-protocol-version");
      const body = ctx.request.body;

      if (ctx.method === "POST") {
        if (body === undefined) {
          if (ctx.request.rawBody !== undefined && !ctx.is("json", "+json")) {
            return rpcError(ctx, 415, -32000, "Content-Type must be application/json");
          }
          return rpcError(ctx, 400, -32700, "Parse error: the body must be one JSON-RPC message");
        }
        // ChatGPT probes the stateless 2026-07-28 revision first; "no such method" sends it to initialize.
        const single = !Array.isArray(body) && typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined;
        if (single && (single.method === "server/discover" || (sessionId === undefined && single.id === "openai-mcp-discover" && single.method !== "initialize"))) {
          const id = typeof single.id === "string" || typeof single.id === "number" ? single.id : null;
          return rpcError(ctx, 200, -32601, `Method not found: ${String(single.method)} (this server speaks MCP up to ${SUPPORTED_PROTOCOL_VERSIONS[0]}; send initialize)`, id);
        }
        if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
          return rpcError(ctx, 400, -32000, `Bad Request: unsupported MCP-Protocol-Version ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`);
        }
        if (Array.isArray(body)) {
          if (body.length === 0 || (version !== undefined && version >= "2025-06-18")) {
            return rpcError(ctx, 400, -32600, "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 and later send one message per POST)");
          }
        } else if (!isObject(body) || !isJsonRpcMessage(body)) {
          const id = single && (typeof single.id === "string" || typeof single.id === "number") ? single.id : null;
          return rpcError(ctx, 400, -32600, "Invalid Request: the body is not a JSON-RPC 2.0 request, notification or response", id);
        }
        const problem = single ? paramsProblem(single) : undefined;
        if (problem) return rpcError(ctx, 200, -32602, `Invalid params for ${String(single!.method)}: ${problem}`, single!.id as string | number);
        if (sessionId === undefined) {
          if (Array.isArray(body) || !isInitializeRequest(body)) {
            return rpcError(ctx, 400, -32000, "Bad Request: Mcp-Session-Id header is required (send initialize first)");
          }
          const session = openSession(caller.subject);
          await session.server.connect(session.transport);
          linkRequests(session, body, ctx.res, version ?? "2025-03-26");
          return handOver(ctx, session, body);
        }
        const session = sessions.get(sessionId, caller.subject);
        if (!session) return rpcError(ctx, 404, -32001, "Session not found (it ended, expired, or belongs to another user): initialize a new one");
        linkRequests(session, body, ctx.res, version ?? "2025-03-26");
        return handOver(ctx, session, body);
      }

      if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
        return rpcError(ctx, 400, -32000, `Bad Request: unsupported MCP-Protocol-Version ${version} (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`);
      }
      if (sessionId === undefined) return rpcError(ctx, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
      const session = sessions.get(sessionId, caller.subject);
      if (!session) return rpcError(ctx, 404, -32001, "Session not found (it ended, expired, or belongs to another user)");
      const lastEventId = header(ctx.req, "last-event-id");
      if (ctx.method === "GET" && lastEventId !== undefined && (await session.events.getStreamIdForEventId(lastEventId)) === undefined) {
        return rpcError(ctx, 400, -32000, "Bad Request: Last-Event-ID is not an event of this session (or it is too old to replay)");
      }
      return handOver(ctx, session);
    };

    router.all(MCP_PATH, streamable);

    // The HTTP+SSE transport of protocol 2024-11-05: GET opens the stream and
    // names the POST endpoint; each message then comes as a POST with ?sessionId.
    router.get(LEGACY_SSE_PATH, async (ctx) => {
      if (!checkOrigin(ctx)) return;
      const caller = await authenticate(ctx);
      if (!caller) return;
      legacy.reserve(caller.subject);
      ctx.respond = false;
      const transport = new SSEServerTransport(LEGACY_MESSAGES_PATH, ctx.res);
      const server = createSessionServer({ core, issuer, tasks, subject: caller.subject, linkOf: () => undefined });
      const session: LegacySession = {
        id: transport.sessionId,
        subject: caller.subject,
        lastSeen: Date.now(),
        active: 0,
        transport,
        close: () => server.close(),
      };
      legacy.add(session);
      hold(session, ctx.res);
      ctx.res.once("close", () => {
        legacy.remove(session.id);
        void server.close().catch(() => undefined);
      });
      await server.connect(transport);
    });

    router.post(LEGACY_MESSAGES_PATH, async (ctx) => {
      if (!checkOrigin(ctx)) return;
      const caller = await authenticate(ctx);
      if (!caller) return;
      const id = typeof ctx.query.sessionId === "string" ? ctx.query.sessionId : "";
      const session = id ? legacy.get(id, caller.subject) : undefined;
      if (!session) return rpcError(ctx, 404, -32001, "Session not found: open a new stream with GET /v1/mcp/sse");
      const body = ctx.request.body;
      if (!isObject(body) || !isJsonRpcMessage(body)) {
        return rpcError(ctx, 400, body === undefined ? -32700 : -32600, "Invalid Request: send one JSON-RPC 2.0 message as application/json");
      }
      ctx.respond = false;
      await session.transport.handlePostMessage(ctx.req, ctx.res, body).catch(() => {
        if (!ctx.res.headersSent) ctx.res.writeHead(500).end();
      });
    });
  };
}

/** The route module app.ts mounts, with the default limits (or `config.mcp`). */
export const mcpRoutes = createMcpRoutes();
