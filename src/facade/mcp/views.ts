import type { JsonObject } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  type Agent,
  AgentHealth,
  AgentProtocol,
  type RoutingDecision,
  RoutingStrategy,
  type Task,
  type TaskEvent,
  TaskEventType,
  TaskKind,
  TaskState,
} from "../../../gen/meshai/v1/mesh_pb.js";

/**
 * The JSON a model reads: snake_case, enums as short lower-case words
 * ("completed", "a2a"), times as ISO strings, 64-bit counters as numbers.
 * The zod output schemas in tools.ts describe exactly these shapes.
 */

function word(names: Record<number, string>, value: number): string {
  return value === 0 ? "unspecified" : (names[value] ?? "unspecified").toLowerCase();
}

export const taskStateName = (s: TaskState) => word(TaskState as unknown as Record<number, string>, s);
export const eventTypeName = (t: TaskEventType) => word(TaskEventType as unknown as Record<number, string>, t);

function iso(t: Timestamp | undefined): string | null {
  return t === undefined ? null : new Date(timestampMs(t)).toISOString();
}

export function isTerminalState(s: TaskState): boolean {
  return s === TaskState.COMPLETED || s === TaskState.FAILED || s === TaskState.CANCELLED;
}

export function agentView(a: Agent) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    framework: a.framework,
    capabilities: [...a.capabilities],
    protocol: word(AgentProtocol as unknown as Record<number, string>, a.protocol),
    endpoint: a.endpoint,
    tags: [...a.tags],
    enabled: a.enabled,
    health: word(AgentHealth as unknown as Record<number, string>, a.health),
    health_detail: a.healthDetail,
    has_credentials: a.hasCredentials,
    max_concurrent_tasks: a.maxConcurrentTasks,
    stats: {
      avg_latency_ms: a.stats?.avgLatencyMs ?? 0,
      success_rate: a.stats?.successRate ?? 1,
      current_load: a.stats?.currentLoad ?? 0,
      total_tasks: Number(a.stats?.totalTasks ?? 0n),
      circuit_state: a.stats?.circuitState ?? "closed",
    },
  };
}

export function routingView(r: RoutingDecision | undefined) {
  if (!r) return null;
  return {
    strategy: word(RoutingStrategy as unknown as Record<number, string>, r.strategy),
    agent_id: r.agentId,
    required_capabilities: [...r.requiredCapabilities],
    capabilities_inferred: r.capabilitiesInferred,
    reasons: [...r.reasons],
    runners_up: r.runnersUp.map((c) => ({ agent_id: c.agentId, score: c.score, note: c.note })),
  };
}

export function taskView(t: Task) {
  return {
    id: t.id,
    kind: t.kind === TaskKind.WORKFLOW ? "workflow" : "task",
    state: taskStateName(t.state),
    input: t.input,
    capabilities: [...t.capabilities],
    agent_id: t.agentId,
    output: t.output,
    result: (t.result ?? null) as JsonObject | null,
    error: t.error,
    parent_id: t.parentId,
    last_seq: Number(t.lastSeq),
    created_at: iso(t.createTime),
    updated_at: iso(t.updateTime),
    ended_at: iso(t.endTime),
  };
}

/** One line for a progress notification: "accepted: task accepted", "routed to Docs (builtin.docs): ...", "output: ...". */
export function eventLine(e: TaskEvent): string {
  const what = eventTypeName(e.type);
  const detail = e.message || (e.type === TaskEventType.OUTPUT ? e.output.slice(0, 200) : "");
  if (!detail) return what;
  return detail.toLowerCase().startsWith(what) ? detail : `${what}: ${detail}`; // "routed to X", not "routed: routed to X"
}
