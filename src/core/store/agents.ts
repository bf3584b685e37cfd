import type { Knex } from "knex";
import { fromJson, toBool, toJson, toNumberOrNull } from "./rows.js";

export interface AgentRecord {
  id: string;
  name: string;
  description: string;
  framework: string;
  capabilities: string[];
  /** a2a | openai | langserve | langgraph | meshai_http | builtin */
  protocol: string;
  endpoint: string;
  tags: string[];
  maxConcurrentTasks: number;
  /** unknown | healthy | degraded | unhealthy */
  health: string;
  healthDetail: string;
  lastHealthCheckAt: number | null;
  config: Record<string, unknown>;
  /** Write-only through the API. */
  credentials: { bearerToken?: string; headers?: Record<string, string> } | null;
  enabled: boolean;
  avgLatencyMs: number;
  successCount: number;
  failureCount: number;
  createdAt: number;
  updatedAt: number;
}

function fromRow(row: Record<string, unknown>): AgentRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    description: String(row.description ?? ""),
    framework: String(row.framework ?? ""),
    capabilities: fromJson<string[]>(row.capabilities, []),
    protocol: String(row.protocol),
    endpoint: String(row.endpoint ?? ""),
    tags: fromJson<string[]>(row.tags, []),
    maxConcurrentTasks: Number(row.max_concurrent_tasks),
    health: String(row.health),
    healthDetail: String(row.health_detail ?? ""),
    lastHealthCheckAt: toNumberOrNull(row.last_health_check_at),
    config: fromJson<Record<string, unknown>>(row.config, {}),
    credentials: fromJson<AgentRecord["credentials"]>(row.credentials, null),
    enabled: toBool(row.enabled),
    avgLatencyMs: Number(row.avg_latency_ms ?? 0),
    successCount: Number(row.success_count ?? 0),
    failureCount: Number(row.failure_count ?? 0),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(a: AgentRecord) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    framework: a.framework,
    capabilities: toJson(a.capabilities),
    protocol: a.protocol,
    endpoint: a.endpoint,
    tags: toJson(a.tags),
    max_concurrent_tasks: a.maxConcurrentTasks,
    health: a.health,
    health_detail: a.healthDetail,
    last_health_check_at: a.lastHealthCheckAt,
    config: toJson(a.config),
    credentials: a.credentials ? toJson(a.credentials) : null,
    enabled: a.enabled,
    avg_latency_ms: a.avgLatencyMs,
    success_count: a.successCount,
    failure_count: a.failureCount,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}

export interface AgentFilter {
  framework?: string;
  protocol?: string;
  health?: string;
  includeDisabled?: boolean;
}

/** The agents table: the registry the router picks from. */
export function createAgentRepository(knex: Knex) {
  return {
    async insert(agent: AgentRecord): Promise<void> {
      await knex("agents").insert(toRow(agent));
    },
    async byId(id: string): Promise<AgentRecord | undefined> {
      const row = await knex("agents").where({ id }).first();
      return row ? fromRow(row) : undefined;
    },
    /** Agents matching the column filters, ordered by name then id. */
    async list(filter: AgentFilter): Promise<AgentRecord[]> {
      let q = knex("agents").orderBy("name", "asc").orderBy("id", "asc");
      if (filter.framework) q = q.whereRaw("lower(framework) = ?", [filter.framework.toLowerCase()]);
      if (filter.protocol) q = q.where({ protocol: filter.protocol });
      if (filter.health) q = q.where({ health: filter.health });
      if (!filter.includeDisabled) q = q.where({ enabled: true });
      return (await q).map(fromRow);
    },
    async replace(agent: AgentRecord): Promise<void> {
      const { id, created_at: _created, ...cols } = toRow(agent);
      await knex("agents").where({ id }).update(cols);
    },
    async delete(id: string): Promise<boolean> {
      return (await knex("agents").where({ id }).delete()) > 0;
    },
  };
}

export type AgentRepository = ReturnType<typeof createAgentRepository>;
