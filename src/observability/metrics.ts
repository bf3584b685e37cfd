import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Request latencies: 5 ms to 30 s (MCP tool calls and streams run long). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Agent calls: model calls take seconds to minutes. */
const AGENT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Tasks counted per kind (task, workflow) and state, as the core's store answers. */
export interface TaskStateCount {
  kind: string;
  state: string;
  count: number;
}

export type BreakerStateName = "closed" | "half_open" | "open";

/** The gauge values Prometheus sees for a breaker: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, half_open: 1, open: 2 };

/** Tasks by state are read from the database at most this often (scrapes in between see the cache). */
export const TASK_STATE_CACHE_MS = 5000;

/**
 * Every MeshAI metric on one Registry, made once per process: in `meshai
 * serve` the core and the facade share it, so the facade's /metrics shows
 * both; in split deployments each process serves its own. Gauges whose truth
 * lives elsewhere (the database, the breakers, the session maps) are read at
 * scrape time from sources their owners register.
 *
 * @example
 * const metrics = createMetrics();
 * metrics.httpRequests.inc({ method: "GET", route: "/healthz", status: "200" });
 * res.setHeader("content-type", metrics.registry.contentType).end(await metrics.registry.metrics());
 */
export function createMetrics(opts: { defaultMetrics?: boolean; now?: () => number } = {}) {
  const registry = new Registry();
  const now = opts.now ?? Date.now;
  // Process CPU, memory, event loop lag, GC: once per registry, and a process has one.
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  let taskCounts: (() => Promise<TaskStateCount[]>) | undefined;
  let taskCache: { at: number; rows: Promise<TaskStateCount[]> } | undefined;
  let breakerStates: (() => Iterable<[string, BreakerStateName]>) | undefined;
  const sessionSources = new Set<() => number>();
  const streamSources = new Set<() => number>();
  const sum = (sources: Set<() => number>) => [...sources].reduce((n, f) => n + f(), 0);
  const track = (sources: Set<() => number>, f: () => number) => {
    sources.add(f);
    return () => void sources.delete(f);
  };

  const metrics = {
    registry,

    httpRequests: new Counter({
      name: "meshai_http_requests_total",
      help: "HTTP requests the facade answered, by method, route template and status code.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "meshai_http_request_duration_seconds",
      help: "Time from receiving an HTTP request to the end of its response (streams: until they close).",
      labelNames: ["method", "route", "status"] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    rpcRequests: new Counter({
      name: "meshai_rpc_requests_total",
      help: "RPCs the core handled, by service, method and gRPC status code name.",
      labelNames: ["service", "method", "code"] as const,
      registers,
    }),
    rpcDuration: new Histogram({
      name: "meshai_rpc_duration_seconds",
      help: "Time the core spent on an RPC (server streams: until the stream ends).",
      labelNames: ["service", "method", "code"] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    tokensIssued: new Counter({
      name: "meshai_tokens_issued_total",
      help: "Access tokens issued, by grant type (authorization_code, refresh_token, client_credentials, service).",
      labelNames: ["grant_type"] as const,
      registers,
    }),
    tokensRefused: new Counter({
      name: "meshai_tokens_refused_total",
      help: "Token requests refused at the token endpoint, and access tokens refused when presented, by stage and reason.",
      labelNames: ["stage", "reason"] as const,
      registers,
    }),
    loginFailures: new Counter({
      name: "meshai_login_failures_total",
      help: "Failed sign-ins, by reason (bad_credentials, throttled, disabled).",
      labelNames: ["reason"] as const,
      registers,
    }),
    mcpSessions: new Gauge({
      name: "meshai_mcp_sessions_open",
      help: "MCP sessions open in this facade (Streamable HTTP and the legacy HTTP+SSE transport).",
      registers,
      collect() {
        this.set(sum(sessionSources));
      },
    }),
    sseStreams: new Gauge({
      name: "meshai_sse_streams_open",
      help: "Server-sent event streams open in this facade (MCP streams, console live views).",
      registers,
      collect() {
        this.set(sum(streamSources));
      },
    }),
    tasks: new Gauge({
      name: "meshai_tasks",
      help: "Tasks and workflows in the database, by kind and state (read at most every 5 s).",
      labelNames: ["kind", "state"] as const,
      registers,
      async collect() {
        if (!taskCounts) return;
        if (!taskCache || now() - taskCache.at >= TASK_STATE_CACHE_MS) {
          const read = taskCounts();
          taskCache = { at: now(), rows: read };
          // A failed read is retried at the next scrape rather than cached.
          read.catch(() => {
            if (taskCache?.rows === read) taskCache = undefined;
          });
        }
        const rows = await taskCache.rows.catch(() => undefined);
        if (!rows) return; // the database is unreachable: keep the last values
        this.reset();
        for (const r of rows) this.set({ kind: r.kind, state: r.state }, r.count);
      },
    }),
    taskCompletions: new Counter({
      name: "meshai_task_completions_total",
      help: "Tasks and workflows that ended, by kind and outcome (completed, failed, cancelled).",
      labelNames: ["kind", "outcome"] as const,
      registers,
    }),
    agentCallDuration: new Histogram({
      name: "meshai_agent_call_duration_seconds",
      help: "Calls from the mesh to an agent, by agent id, protocol and outcome (ok, error).",
      labelNames: ["agent_id", "protocol", "outcome"] as const,
      buckets: AGENT_BUCKETS,
      registers,
    }),
    agentCallErrors: new Counter({
      name: "meshai_agent_call_errors_total",
      help: "Agent calls that failed (errors, refusals, bad answers; not calls cut short by a task timeout or cancel), by agent id and protocol.",
      labelNames: ["agent_id", "protocol"] as const,
      registers,
    }),
    breakerState: new Gauge({
      name: "meshai_circuit_breaker_state",
      help: "Circuit breaker state per agent: 0 closed, 1 half-open, 2 open.",
      labelNames: ["agent_id"] as const,
      registers,
      collect() {
        if (!breakerStates) return;
        this.reset();
        for (const [agentId, state] of breakerStates()) this.set({ agent_id: agentId }, BREAKER_STATE_VALUE[state]);
      },
    }),

    /** The core registers its GROUP BY query here; returns an unregister function. */
    setTaskCounter(f: () => Promise<TaskStateCount[]>): () => void {
      taskCounts = f;
      taskCache = undefined;
      return () => {
        if (taskCounts === f) taskCounts = undefined;
      };
    },
    /** The core's breakers report their agents' states here. */
    setBreakerStates(f: () => Iterable<[string, BreakerStateName]>): () => void {
      breakerStates = f;
      return () => {
        if (breakerStates === f) breakerStates = undefined;
      };
    },
    /** A session map adds its size to meshai_mcp_sessions_open. */
    trackSessions: (f: () => number) => track(sessionSources, f),
    /** A connection tracker adds its open streams to meshai_sse_streams_open. */
    trackStreams: (f: () => number) => track(streamSources, f),

    /** The exposition body and its content type, for a GET /metrics handler. */
    async exposition(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
