import type { AgentRecord } from "../store/agents.js";

/**
 * The one small interface every agent protocol implements (a2a, openai,
 * langserve, langgraph, meshai_http, builtin). The executor drives it; an
 * adapter only speaks its protocol.
 */

/** What the mesh asks an agent to do. */
export interface AgentCall {
  taskId: string;
  /** The task in words. */
  task: string;
  /** The capabilities the task was routed for. */
  capabilities: string[];
  /** Extra context from the caller (and, in workflows, earlier steps' outputs). */
  context: Record<string, unknown>;
  /** Hard limit for the call; the adapter also stops when `signal` aborts. */
  timeoutMs: number;
  /** Aborts on cancel, timeout or shutdown; adapters cancel the remote work (A2A CancelTask, aborted HTTP). */
  signal: AbortSignal;
}

/** What an agent reports while it works. The last event of a successful run is `result`. */
export type AgentEvent =
  | { type: "progress"; message: string; progress?: number; total?: number }
  | { type: "output"; text: string }
  | { type: "result"; text: string; data?: Record<string, unknown> };

export interface HealthVerdict {
  health: "healthy" | "degraded" | "unhealthy";
  detail: string;
}

export interface AgentAdapter {
  readonly protocol: string;
  /** Runs the call, yielding events; throws (an Error with a clear message) on failure. */
  run(agent: AgentRecord, call: AgentCall): AsyncIterable<AgentEvent>;
  /** Probes the agent without doing work. */
  health(agent: AgentRecord, signal: AbortSignal): Promise<HealthVerdict>;
}
