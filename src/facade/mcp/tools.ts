import type { JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { AgentProtocol, type TaskEvent, TaskEventType, TaskState } from "../../../gen/meshai/v1/mesh_pb.js";
import type { CoreClients } from "../core-client.js";
import type { McpCaller } from "./auth.js";
import { agentView, isTerminalState, routingView, taskStateName, taskView } from "./views.js";

/** What a tool may use while it runs. */
export interface ToolContext {
  caller: McpCaller;
  core: Pick<CoreClients, "mesh">;
  /**
   * Fires when the work must stop: `notifications/cancelled`, `tasks/cancel`,
   * or a dropped connection the client cannot resume.
   */
  signal: AbortSignal;
  /** True when the task must survive this request (resumable stream or MCP task): run it detached. */
  detached: boolean;
  /** Called for every task event, in order (progress notifications, MCP task status). */
  onEvent?: (event: TaskEvent) => Promise<void> | void;
  /** Whether the client asked to follow a long job to its end (it sent a progress token, or runs it as an MCP task). */
  follow: boolean;
}

export interface ToolSpec {
  name: string;
  title: string;
  description: string;
  /** The scope the tool needs; the core checks it again. */
  scope: "mcp:read" | "mcp:execute" | "mcp:manage";
  input: z.ZodObject;
  output: z.ZodObject;
  annotations: ToolAnnotations;
  /** Offered as an MCP task (execution.taskSupport "optional"). */
  taskSupport?: boolean;
  /** A non-empty `error` in the output means the work failed: the result is marked isError. */
  failsOnError?: boolean;
  run(args: any, ctx: ToolContext): Promise<Record<string, unknown>>;
}

/** The caller's token on a core call: the core authorizes as the user, not as the facade. */
function callOptions(ctx: ToolContext, signal: AbortSignal = ctx.signal) {
  return { headers: { authorization: `Bearer ${ctx.caller.token}` }, signal };
}

const stringList = (what: string) => z.array(z.string().min(1).max(200)).max(50).describe(what);
const jsonObject = z.record(z.string(), z.unknown());

// ---- output shapes (views.ts produces exactly these) ----

const agentOut = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  framework: z.string(),
  capabilities: z.array(z.string()),
  protocol: z.string(),
  endpoint: z.string(),
  tags: z.array(z.string()),
  enabled: z.boolean(),
  health: z.string(),
  health_detail: z.string(),
  has_credentials: z.boolean(),
  max_concurrent_tasks: z.number(),
  stats: z.object({
    avg_latency_ms: z.number(),
    success_rate: z.number(),
    current_load: z.number(),
    total_tasks: z.number(),
    circuit_state: z.string(),
  }),
});

const routingOut = z.object({
  strategy: z.string(),
  agent_id: z.string(),
  required_capabilities: z.array(z.string()),
  capabilities_inferred: z.boolean(),
  reasons: z.array(z.string()),
  runners_up: z.array(z.object({ agent_id: z.string(), score: z.number(), note: z.string() })),
});

const taskOut = z.object({
  id: z.string(),
  kind: z.string(),
  state: z.string(),
  input: z.string(),
  capabilities: z.array(z.string()),
  agent_id: z.string(),
  output: z.string(),
  result: jsonObject.nullable(),
  error: z.string(),
  parent_id: z.string(),
  last_seq: z.number(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  ended_at: z.string().nullable(),
});

const runOut = z.object({
  task_id: z.string().describe("Id of the task (or workflow); get_task and cancel_task accept it"),
  kind: z.enum(["task", "workflow"]),
  state: z.string().describe("pending, routing, executing, completed, failed or cancelled"),
  output: z.string().describe("The agent's final output text"),
  agent_id: z.string().describe("The agent that ran the task (empty for workflows)"),
  routing: routingOut.nullable().describe("Why the router chose that agent"),
  result: jsonObject.nullable().describe("Structured result, when the agent or workflow gives one"),
  error: z.string(),
  events: z.number().describe("How many task events were seen"),
});

// ---- running and following tasks ----

interface Followed {
  taskId: string;
  state: TaskState;
  output: string;
  agentId: string;
  routing: ReturnType<typeof routingView>;
  result: JsonObject | null;
  error: string;
  events: number;
}

/** Reads a task's event stream to its end, noting what the result needs. */
async function follow(stream: AsyncIterable<{ event?: TaskEvent }>, ctx: ToolContext, seen: Followed, onId: () => void): Promise<void> {
  for await (const { event } of stream) {
    if (!event) continue;
    seen.events++;
    if (event.taskId && !seen.taskId) {
      seen.taskId = event.taskId;
      onId();
    }
    if (event.state !== TaskState.UNSPECIFIED) seen.state = event.state;
    if (event.routing) seen.routing = routingView(event.routing);
    if (event.agentId) seen.agentId = event.agentId;
    if (event.type === TaskEventType.OUTPUT) seen.output += event.output;
    if (event.type === TaskEventType.COMPLETED) {
      if (event.output) seen.output = event.output;
      if (event.data && Object.keys(event.data).length) seen.result = event.data;
    }
    if (event.type === TaskEventType.FAILED) seen.error = event.message || "the task failed";
    if (event.type === TaskEventType.CANCELLED) seen.error = event.message || "the task was cancelled";
    await ctx.onEvent?.(event);
  }
}

/**
 * Runs `start` and follows its events. The Connect call always has its own
 * signal, aborted in `finally` (breaking out of a Connect stream does not
 * cancel it). When the caller's signal fires: an attached task is cancelled
 * by the core as its stream closes; a detached one by CancelTask, which needs
 * the task id, so a cancel that comes before the first event waits for it.
 */
async function runFollowed(
  ctx: ToolContext,
  kind: "task" | "workflow",
  start: (signal: AbortSignal, seen: Followed) => Promise<AsyncIterable<{ event?: TaskEvent }>>,
) {
  const ac = new AbortController();
  const seen: Followed = { taskId: "", state: TaskState.PENDING, output: "", agentId: "", routing: null, result: null, error: "", events: 0 };
  let cancelling = false;
  const cancelRemote = () => {
    if (cancelling) return;
    cancelling = true;
    void ctx.core.mesh
      .cancelTask({ id: seen.taskId, reason: "cancelled by the MCP client" }, callOptions(ctx, AbortSignal.timeout(5000)))
      .catch(() => undefined)
      .finally(() => ac.abort(ctx.signal.reason));
  };
  const onCancel = () => {
    if (seen.taskId) return cancelRemote();
    if (!ctx.detached && kind === "task") return ac.abort(ctx.signal.reason);
    // No id yet: give the first event a moment to name the task, then stop regardless.
    setTimeout(() => ac.abort(ctx.signal.reason), 5000).unref();
  };
  if (ctx.signal.aborted) onCancel();
  else ctx.signal.addEventListener("abort", onCancel, { once: true });
  const onId = () => {
    if (ctx.signal.aborted) cancelRemote();
  };
  try {
    const stream = await start(ac.signal, seen);
    if (seen.taskId) onId(); // a workflow's id is known once it is submitted
    await follow(stream, ctx, seen, onId);
    if (ctx.signal.aborted) throw new ConnectError("the call was cancelled", Code.Canceled);
  } finally {
    ctx.signal.removeEventListener("abort", onCancel);
    ac.abort();
  }
  if (seen.taskId && !isTerminalState(seen.state)) {
    // The stream ended without a final event: ask for the task as stored.
    const { task } = await ctx.core.mesh.getTask({ id: seen.taskId }, callOptions(ctx, AbortSignal.timeout(10_000)));
    if (task) {
      seen.state = task.state;
      seen.output ||= task.output;
      seen.error ||= task.error;
      seen.agentId ||= task.agentId;
      seen.result ??= task.result ?? null;
    }
  }
  return {
    task_id: seen.taskId,
    kind,
    state: taskStateName(seen.state),
    output: seen.output,
    agent_id: seen.agentId,
    routing: seen.routing,
    result: seen.result,
    error: seen.error,
    events: seen.events,
  };
}

function watch(ctx: ToolContext, id: string, signal: AbortSignal) {
  return ctx.core.mesh.watchTask({ id, afterSeq: 0n }, callOptions(ctx, signal));
}

// ---- the tools ----

const search: ToolSpec = {
  name: "search",
  title: "Search MeshAI",
  description:
    "Full-text search over MeshAI's agent registry, documentation, workflow templates and your own tasks. " +
    "Use it to find which agent can do something, how MeshAI works, or a past task. Returns ids that `fetch` " +
    "opens in full (e.g. 'agent:builtin.docs', 'doc:chatgpt'). Narrow with `type` when you know what you want.",
  scope: "mcp:read",
  input: z.object({
    query: z.string().min(1).max(1000).describe("What to look for, in words"),
    type: z.enum(["all", "agents", "docs", "workflows", "tasks"]).optional().describe("Limit to one kind of result (default all)"),
  }),
  output: z.object({
    results: z.array(z.object({ id: z.string(), title: z.string(), url: z.string().min(1) })),
  }),
  annotations: { title: "Search MeshAI", readOnlyHint: true, openWorldHint: false },
  async run(args: { query: string; type?: string }, ctx) {
    const res = await ctx.core.mesh.search({ query: args.query, type: args.type ?? "all", limit: 10 }, callOptions(ctx));
    return { results: res.results.map((r) => ({ id: r.id, title: r.title, url: r.url })) };
  },
};

const fetchTool: ToolSpec = {
  name: "fetch",
  title: "Fetch a search result",
  description:
    "Returns one item found by `search` in full: an agent's description and capabilities, a documentation page, " +
    "a workflow template or one of your tasks. Pass the `id` exactly as `search` gave it.",
  scope: "mcp:read",
  input: z.object({ id: z.string().min(1).max(500).describe("An id returned by search, e.g. 'doc:chatgpt'") }),
  output: z.object({
    id: z.string(),
    title: z.string(),
    text: z.string(),
    url: z.string().min(1),
    metadata: jsonObject.optional(),
  }),
  annotations: { title: "Fetch a search result", readOnlyHint: true, openWorldHint: false },
  async run(args: { id: string }, ctx) {
    const res = await ctx.core.mesh.fetch({ id: args.id }, callOptions(ctx));
    return { id: res.id, title: res.title, text: res.text, url: res.url, ...(res.metadata ? { metadata: res.metadata } : {}) };
  },
};

const listAgents: ToolSpec = {
  name: "list_agents",
  title: "List agents",
  description:
    "Lists the AI agents registered in the MeshAI mesh with their capabilities, framework, health and load. " +
    "Filter by `capabilities` (agents having all of them, e.g. ['code_generation']) or `framework` " +
    "(langchain, crewai, autogen, openai, ...). Use it before mesh_execute to pick or check agents.",
  scope: "mcp:read",
  input: z.object({
    capabilities: stringList("Only agents having every one of these capabilities").optional(),
    framework: z.string().max(100).optional().describe("Only agents of this framework (case-insensitive)"),
    include_disabled: z.boolean().optional().describe("Also list disabled agents"),
    page_token: z.string().max(500).optional().describe("next_page_token of a previous call"),
  }),
  output: z.object({
    agents: z.array(agentOut),
    total: z.number(),
    next_page_token: z.string(),
  }),
  annotations: { title: "List agents", readOnlyHint: true, openWorldHint: false },
  async run(args: { capabilities?: string[]; framework?: string; include_disabled?: boolean; page_token?: string }, ctx) {
    const res = await ctx.core.mesh.listAgents(
      {
        capabilities: args.capabilities ?? [],
        framework: args.framework ?? "",
        includeDisabled: args.include_disabled ?? false,
        pageSize: 100,
        pageToken: args.page_token ?? "",
      },
      callOptions(ctx),
    );
    return { agents: res.agents.map(agentView), total: res.totalSize, next_page_token: res.nextPageToken };
  },
};

const meshExecute: ToolSpec = {
  name: "mesh_execute",
  title: "Run a task on the mesh",
  description:
    "Runs a task on the best-suited MeshAI agent and waits for its answer. Describe the task in words; MeshAI " +
    "infers the capabilities it needs (or pass `capabilities`, e.g. ['security_analysis']), routes it to an agent " +
    "and returns the agent's output, which agent ran it, why it was chosen, and the task id. Restrict the choice " +
    "with `agents` (ids from list_agents). Set `workflow` to run it as a workflow instead: e.g. consensus (several " +
    "agents answer, the majority wins), hierarchical (a manager splits it for workers) or sequential. Progress is " +
    "reported while it runs; long tasks can also run as MCP tasks.",
  scope: "mcp:execute",
  input: z.object({
    task: z.string().min(1).max(20_000).describe("What to do, in words"),
    capabilities: stringList("Required capabilities, e.g. text_generation, code_generation, data_analysis, reasoning").optional(),
    agents: stringList("Only these agent ids may run it, in order of preference").optional(),
    workflow: z.string().min(1).max(100).optional().describe("Run as a workflow of this type (sequential, consensus, hierarchical, ...) instead of one agent call"),
    context: jsonObject.optional().describe("Extra context passed to the agent"),
  }),
  output: runOut,
  annotations: { title: "Run a task on the mesh", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  taskSupport: true,
  failsOnError: true,
  async run(args: { task: string; capabilities?: string[]; agents?: string[]; workflow?: string; context?: JsonObject }, ctx) {
    if (args.workflow) {
      return runFollowed(ctx, "workflow", async (signal, seen) => {
        const { workflow } = await ctx.core.mesh.submitWorkflow(
          {
            workflowType: args.workflow!,
            payload: {
              task: args.task,
              ...(args.capabilities ? { capabilities: args.capabilities } : {}),
              ...(args.agents ? { agents: args.agents } : {}), // consensus: the voters
              ...(args.context ? { context: args.context } : {}),
            } as JsonObject,
            agents: args.agents ?? [],
          },
          callOptions(ctx, signal),
        );
        seen.taskId = workflow?.id ?? "";
        return watch(ctx, seen.taskId, signal);
      });
    }
    return runFollowed(ctx, "task", async (signal) =>
      ctx.core.mesh.executeTask(
        {
          task: args.task,
          capabilities: args.capabilities ?? [],
          agents: args.agents ?? [],
          ...(args.context ? { context: args.context } : {}),
          detached: ctx.detached,
        },
        callOptions(ctx, signal),
      ),
    );
  },
};

const submitWorkflow: ToolSpec = {
  name: "submit_workflow",
  title: "Submit a multi-agent workflow",
  description:
"Starts a multi-agent workflow. `workflow_type` and its `payload`: sequential {steps} (in order; a step's task " +
    "can use {{previous.output}}); parallel {steps, aggregator?}; dag {steps with id and depends_on}; consensus " +
    "{task, agents or voters+capabilities, method: majority|judge}; hierarchical {task, manager, workers}; " +
    "map_reduce {items, map: step using {{item}}, reduce?}; or a template name (code-review, debug-and-fix, " +
    "data-report, or one found with search type workflows) with its parameters as payload. A step is {task, " +
    "capabilities?, agent?}. Returns the workflow id at once; when you follow it (progress token or MCP task) it " +
    "reports each step and returns the final output. Check on it later with get_task.",
  scope: "mcp:execute",
  input: z.object({
    workflow_type: z.string().min(1).max(100).describe("sequential, parallel, dag, consensus, hierarchical, map_reduce, or a template name"),
    payload: jsonObject.describe("The type's fields, e.g. {steps: [{task, capabilities?}]}, or a template's parameters"),
    agents: stringList("Only these agents may take part").optional(),
  }),
  output: z.object({
    workflow_id: z.string(),
    state: z.string(),
    output: z.string(),
    result: jsonObject.nullable(),
    error: z.string(),
  }),
  annotations: { title: "Submit a multi-agent workflow", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  taskSupport: true,
  failsOnError: true,
  async run(args: { workflow_type: string; payload: JsonObject; agents?: string[] }, ctx) {
    const submit = (signal: AbortSignal) =>
      ctx.core.mesh.submitWorkflow({ workflowType: args.workflow_type, payload: args.payload, agents: args.agents ?? [] }, callOptions(ctx, signal));
    if (!ctx.follow) {
      const { workflow } = await submit(ctx.signal);
      return {
        workflow_id: workflow?.id ?? "",
        state: taskStateName(workflow?.state ?? TaskState.PENDING),
        output: workflow?.output ?? "",
        result: workflow?.result ?? null,
        error: workflow?.error ?? "",
      };
    }
    const r = await runFollowed(ctx, "workflow", async (signal, seen) => {
      const { workflow } = await submit(signal);
      seen.taskId = workflow?.id ?? "";
      return watch(ctx, seen.taskId, signal);
    });
    return { workflow_id: r.task_id, state: r.state, output: r.output, result: r.result, error: r.error };
  },
};

const getTask: ToolSpec = {
  name: "get_task",
  title: "Get a task",
  description:
    "Returns the state of one of your tasks or workflows by id (from mesh_execute or submit_workflow): " +
    "pending, routing, executing, completed, failed or cancelled, with its output once it has one.",
  scope: "mcp:read",
  input: z.object({ id: z.string().min(1).max(200).describe("The task or workflow id") }),
  output: taskOut,
  annotations: { title: "Get a task", readOnlyHint: true, openWorldHint: false },
  async run(args: { id: string }, ctx) {
    const { task } = await ctx.core.mesh.getTask({ id: args.id }, callOptions(ctx));
    if (!task) throw new ConnectError(`id: no task ${args.id}`, Code.NotFound);
    return taskView(task);
  },
};

const cancelTask: ToolSpec = {
  name: "cancel_task",
  title: "Cancel a task",
  description: "Stops one of your running tasks or workflows by id. Finished tasks stay as they are.",
  scope: "mcp:execute",
  input: z.object({
    id: z.string().min(1).max(200).describe("The task or workflow id"),
    reason: z.string().max(500).optional().describe("Why, for the task's history"),
  }),
  output: taskOut,
  annotations: { title: "Cancel a task", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args: { id: string; reason?: string }, ctx) {
    const { task } = await ctx.core.mesh.cancelTask({ id: args.id, reason: args.reason ?? "" }, callOptions(ctx));
    if (!task) throw new ConnectError(`id: no task ${args.id}`, Code.NotFound);
    return taskView(task);
  },
};

const PROTOCOLS = ["a2a", "openai", "langserve", "langgraph", "meshai_http", "builtin"] as const;
const protocolValue = (p: string) => (AgentProtocol as unknown as Record<string, AgentProtocol>)[p.toUpperCase()] ?? AgentProtocol.UNSPECIFIED;

const agentFields = {
  name: z.string().min(1).max(200).optional().describe("Display name"),
  description: z.string().max(5000).optional(),
  framework: z.string().max(100).optional().describe("langchain, langgraph, crewai, autogen, adk, openai, meshai, ..."),
  capabilities: stringList("What it can do: text_generation, code_generation, data_analysis, reasoning, ... or custom").optional(),
  endpoint: z.string().max(2000).optional().describe("Base URL of the agent"),
  tags: stringList("Free-form tags").optional(),
  max_concurrent_tasks: z.number().int().min(1).max(10_000).optional(),
  config: jsonObject.optional().describe("Protocol settings, e.g. {model: 'gpt-4o-mini'} for openai agents"),
  bearer_token: z.string().max(10_000).optional().describe("Credential MeshAI sends to the agent (stored, never shown)"),
  headers: z.record(z.string(), z.string()).optional().describe("Extra headers MeshAI sends to the agent, e.g. an API key"),
};

function credentials(args: { bearer_token?: string; headers?: Record<string, string> }) {
  return args.bearer_token || args.headers ? { bearerToken: args.bearer_token ?? "", headers: args.headers ?? {} } : undefined;
}

const registerAgent: ToolSpec = {
  name: "register_agent",
  title: "Register an agent",
  description:
    "Adds an agent to the mesh (administrators, mcp:manage). Give its `protocol` (a2a, openai, langserve, " +
    "langgraph, meshai_http) and `endpoint`, a name and capabilities; or only `card_url`, an A2A agent card " +
    "URL to import name, description and skills from. Credentials are stored for MeshAI's calls and never shown.",
  scope: "mcp:manage",
  input: z.object({
    id: z.string().min(1).max(100).optional().describe("Wanted id; assigned when left out"),
    protocol: z.enum(PROTOCOLS).optional().describe("How MeshAI reaches it (default a2a)"),
    card_url: z.string().max(2000).optional().describe("URL of an A2A agent card to import"),
    ...agentFields,
  }),
  output: z.object({ agent: agentOut }),
  annotations: { title: "Register an agent", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, ctx) {
    const { agent } = await ctx.core.mesh.registerAgent(
      {
        agent: {
          id: args.id ?? "",
          name: args.name ?? "",
          description: args.description ?? "",
          framework: args.framework ?? "",
          capabilities: args.capabilities ?? [],
          protocol: protocolValue(args.protocol ?? (args.card_url ? "a2a" : "")),
          endpoint: args.endpoint ?? "",
          tags: args.tags ?? [],
          maxConcurrentTasks: args.max_concurrent_tasks ?? 0,
          enabled: true,
          ...(args.config ? { config: args.config } : {}),
        },
        credentials: credentials(args),
        cardUrl: args.card_url ?? "",
      },
      callOptions(ctx),
    );
    if (!agent) throw new ConnectError("agent: the core returned none", Code.Internal);
    return { agent: agentView(agent) };
  },
};

const updateAgent: ToolSpec = {
  name: "update_agent",
  title: "Update an agent",
  description:
    "Changes an agent's settings (administrators, mcp:manage): only the fields you pass change. Use `enabled: " +
    "false` to take it out of routing without removing it, `clear_credentials` to forget its stored credentials.",
  scope: "mcp:manage",
  input: z.object({
    id: z.string().min(1).max(100).describe("The agent's id"),
    enabled: z.boolean().optional().describe("false takes it out of routing"),
    clear_credentials: z.boolean().optional(),
    ...agentFields,
  }),
  output: z.object({ agent: agentOut }),
  annotations: { title: "Update an agent", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, ctx) {
    const paths = ["name", "description", "framework", "capabilities", "endpoint", "tags", "enabled", "max_concurrent_tasks", "config"].filter(
      (k) => args[k] !== undefined,
    );
    const creds = credentials(args);
    if (paths.length === 0 && !creds && !args.clear_credentials) {
      throw new ConnectError("update_agent: pass at least one field to change", Code.InvalidArgument);
    }
    const { agent } = await ctx.core.mesh.updateAgent(
      {
        agent: {
          id: args.id,
          name: args.name ?? "",
          description: args.description ?? "",
          framework: args.framework ?? "",
          capabilities: args.capabilities ?? [],
          endpoint: args.endpoint ?? "",
          tags: args.tags ?? [],
          enabled: args.enabled ?? false,
          maxConcurrentTasks: args.max_concurrent_tasks ?? 0,
          ...(args.config ? { config: args.config } : {}),
        },
        updateMask: { paths },
        credentials: creds,
        clearCredentials: args.clear_credentials ?? false,
      },
      callOptions(ctx),
    );
    if (!agent) throw new ConnectError("agent: the core returned none", Code.Internal);
    return { agent: agentView(agent) };
  },
};

const removeAgent: ToolSpec = {
  name: "remove_agent",
  title: "Remove an agent",
  description: "Removes an agent from the mesh for good (administrators, mcp:manage). Prefer update_agent with enabled: false to pause one.",
  scope: "mcp:manage",
  input: z.object({ id: z.string().min(1).max(100).describe("The agent's id") }),
  output: z.object({ id: z.string(), removed: z.boolean() }),
  annotations: { title: "Remove an agent", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args: { id: string }, ctx) {
    await ctx.core.mesh.deleteAgent({ id: args.id }, callOptions(ctx));
    return { id: args.id, removed: true };
  },
};

export const TOOLS: readonly ToolSpec[] = [
  search,
  fetchTool,
  listAgents,
  meshExecute,
  submitWorkflow,
  getTask,
  cancelTask,
  registerAgent,
  updateAgent,
  removeAgent,
];

export const TOOLS_BY_NAME: ReadonlyMap<string, ToolSpec> = new Map(TOOLS.map((t) => [t.name, t]));

/** tools/list, computed once: sessions share it, so a session costs no schema conversion. */
export const TOOL_LIST = TOOLS.map((t) => ({
  name: t.name,
  title: t.title,
  description: `${t.description} Needs the ${t.scope} scope.`,
  inputSchema: z.toJSONSchema(t.input, { target: "draft-7", io: "input" }) as { type: "object"; [k: string]: unknown },
  outputSchema: z.toJSONSchema(t.output, { target: "draft-7", io: "output" }) as { type: "object"; [k: string]: unknown },
  annotations: t.annotations,
  ...(t.taskSupport ? { execution: { taskSupport: "optional" as const } } : {}),
}));
