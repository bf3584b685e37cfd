import { Code, ConnectError } from "@connectrpc/connect";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv-provider.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { CoreClients } from "../core-client.js";
import { toJsonRpcError } from "../errors.js";
import type { McpCaller } from "./auth.js";
import { insufficientScopeChallenge, invalidTokenChallenge } from "./challenge.js";
import type { McpTaskStore } from "./task-store.js";
import { TOOL_LIST, TOOLS_BY_NAME, type ToolContext, type ToolSpec } from "./tools.js";
import { eventLine } from "./views.js";

export const SERVER_INFO = { name: "meshai", title: "MeshAI", version: "0.1.0" };

/** One JSON Schema validator for all sessions: the SDK would build an Ajv instance per session. */
const sharedValidator = new AjvJsonSchemaValidator();

const INSTRUCTIONS =
  "MeshAI routes tasks to AI agents. Use `search` and `fetch` to find agents, docs, workflows and your tasks; " +
  "`list_agents` to see who can do what; `mesh_execute` to run a task on the best agent (it reports progress and " +
  "returns the output, the agent and why it was chosen); `submit_workflow` for multi-agent workflows; `get_task` " +
  "and `cancel_task` for long work.";

/** How one HTTP request carrying a JSON-RPC request may end early. */
export interface RequestLink {
  /** Fires if the HTTP response closes before the answer was written. */
  dropped: AbortSignal;
  /** True when the client can resume the stream (Last-Event-ID): then a drop must not stop the work. */
  resumable: boolean;
}

export interface SessionServerDeps {
  core: Pick<CoreClients, "mesh">;
  issuer: string;
  tasks: McpTaskStore;
  subject: string;
  /** The HTTP side of a JSON-RPC request id, when it arrived over a stream that can drop. */
  linkOf(requestId: string | number): RequestLink | undefined;
}

function callerOf(auth: AuthInfo | undefined): McpCaller {
  const extra = auth?.extra as { caller?: McpCaller } | undefined;
  if (!extra?.caller) throw new McpError(ErrorCode.InternalError, "request reached a tool without a verified caller");
  return extra.caller;
}

function ok(out: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
}

function failure(text: string, meta?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], isError: true, ...(meta ? { _meta: meta } : {}) };
}

/**
 * A tool's failure as the model should see it: a result with isError (not a
 * protocol error), worded from the error table. Auth failures carry the
 * challenge in `_meta["mcp/www_authenticate"]` so ChatGPT can re-authorize.
 */
export function toolFailure(err: unknown, spec: ToolSpec, caller: McpCaller, issuer: string): CallToolResult {
  if (err instanceof ConnectError) {
    if (err.code === Code.Unauthenticated) {
      return failure(`${spec.name}: ${err.rawMessage}`, { "mcp/www_authenticate": [invalidTokenChallenge(issuer, err.rawMessage)] });
    }
    if (err.code === Code.PermissionDenied) {
      return failure(`${spec.name}: ${err.rawMessage}`, {
        "mcp/www_authenticate": [insufficientScopeChallenge(issuer, spec.scope, caller.scopes, err.rawMessage)],
      });
    }
    if (err.code === Code.Unimplemented) {
      return failure(`${spec.name}: this MeshAI server does not offer this yet (the mesh answered "not implemented"); try again after an upgrade`);
    }
  }
  const { code, message } = toJsonRpcError(err);
  return failure(`${spec.name} failed: ${message} (error ${code})`);
}

/**
 * The MCP server of one session. It is the SDK's low-level `Server` rather
 * than `McpServer` for two reasons: McpServer runs task-capable tools that are
 * called without a task by polling its task store (no progress notifications,
 * no cancellation), and it converts every zod schema per session, while here
 * tools/list is computed once for all sessions.
 */
export function createSessionServer(deps: SessionServerDeps): Server {
  const taskStore = deps.tasks.viewFor(deps.subject);
  const server = new Server(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: false },
      logging: {}, // clients may set a level; the SDK keeps it per session
      tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
    },
    instructions: INSTRUCTIONS,
    taskStore,
    jsonSchemaValidator: sharedValidator,
  });
  server.onerror = () => {}; // transport-level noise (a client that went away) is not ours to report

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOL_LIST }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const spec = TOOLS_BY_NAME.get(request.params.name);
    if (!spec) throw new McpError(ErrorCode.InvalidParams, `name: there is no tool "${request.params.name}" (tools/list names them)`);
    const caller = callerOf(extra.authInfo);

    const parsed = spec.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) return failure(`${spec.name}: invalid arguments: ${z.prettifyError(parsed.error)}`);
    if (!caller.scopes.includes(spec.scope)) {
      const why = `${spec.name} needs the ${spec.scope} scope, which this token was not granted`;
      return failure(why, { "mcp/www_authenticate": [insufficientScopeChallenge(deps.issuer, spec.scope, caller.scopes, why)] });
    }

    if (request.params.task && spec.taskSupport && extra.taskStore) {
      const store = extra.taskStore;
      const task = await store.createTask({ ttl: extra.taskRequestedTtl ?? undefined });
      const ac = new AbortController();
      deps.tasks.onCancel(task.taskId, () => ac.abort(new Error("task cancelled")));
      const ctx: ToolContext = {
        caller,
        core: deps.core,
        signal: ac.signal,
        detached: true,
        follow: true,
        onEvent: (e) => deps.tasks.note(task.taskId, eventLine(e)),
      };
      void (async () => {
        let result: CallToolResult;
        try {
          const out = await spec.run(parsed.data, ctx);
          result = ok(out);
          if (spec.failsOnError && out.error) result.isError = true;
        } catch (err) {
          if (ac.signal.aborted) return; // tasks/cancel already recorded the outcome
          result = toolFailure(err, spec, caller, deps.issuer);
        }
        await store.storeTaskResult(task.taskId, result.isError ? "failed" : "completed", result).catch(() => undefined);
      })();
      return { task };
    }

    // A plain call: follow the work on this request, with progress when asked.
    const link = deps.linkOf(extra.requestId);
    // Linked by hand: Node 20's AbortSignal.any can lose its listeners to GC while a call runs.
    // Only cancellation can stop a resumable call: then the SDK's own signal is the one to follow.
    let signal = extra.signal;
    if (link && !link.resumable) {
      const stop = new AbortController();
      const abort = () => stop.abort(new Error("the call was cancelled or its connection dropped"));
      for (const s of [extra.signal, link.dropped]) {
        if (s.aborted) abort();
        else s.addEventListener("abort", abort, { once: true });
      }
      signal = stop.signal;
    }
    const progressToken = extra._meta?.progressToken;
    let progress = 0;
    const ctx: ToolContext = {
      caller,
      core: deps.core,
      signal,
      detached: link?.resumable ?? false,
      follow: progressToken !== undefined,
      onEvent:
        progressToken === undefined
          ? undefined
          : async (e) => {
              progress = Math.max(progress + 1, Number(e.seq));
              await extra
                .sendNotification({
                  method: "notifications/progress",
                  params: { progressToken, progress, message: eventLine(e) },
                })
                .catch(() => undefined);
            },
    };
    try {
      const out = await spec.run(parsed.data, ctx);
      // SDK clients handle notifications a microtask late but responses at once: a result
      // read in the same chunk as the last progress would orphan them. Let them go first.
      if (progress > 0) await new Promise((r) => setTimeout(r, 5));
      const result = ok(out);
      if (spec.failsOnError && typeof out.error === "string" && out.error !== "") {
        result.isError = true;
        result.content.push({ type: "text", text: out.error });
      }
      return result;
    } catch (err) {
      return toolFailure(err, spec, caller, deps.issuer);
    }
  });

  return server;
}
