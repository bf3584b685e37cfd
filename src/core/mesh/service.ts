import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Agent,
  type AgentCredentials,
  AgentHealth,
  AgentProtocol,
  AgentSchema,
  AgentStatsSchema,
  type MeshService,
} from "../../../gen/meshai/v1/mesh_pb.js";
import { pageOffset, pageSize, paged } from "../auth/service.js";
import type { AgentRecord } from "../store/agents.js";
import type { MeshEngine } from "./engine.js";
import type { AgentInput, Registry } from "./registry.js";
import { createTaskHandlers } from "./task-service.js";
import type { SearchIndex } from "./search.js";
import { createSearchHandlers } from "./search-service.js";
import { createWorkflowHandlers } from "./workflows/service.js";

export interface MeshServiceDeps {
  registry: Registry;
  /** Routing and execution (ExecuteTask, WatchTask, tasks, health checks); without it those RPCs stay unimplemented. */
  mesh?: MeshEngine;
  /** Search and Fetch; without it those RPCs stay unimplemented. */
  search?: SearchIndex;
}

/** Proto enum value <-> stored name: AgentProtocol.MESHAI_HTTP <-> "meshai_http". */
export function protocolName(p: AgentProtocol): string {
  return p === AgentProtocol.UNSPECIFIED ? "" : (AgentProtocol[p] ?? "").toLowerCase();
}

function protocolValue(name: string): AgentProtocol {
  return (AgentProtocol as unknown as Record<string, AgentProtocol>)[name.toUpperCase()] ?? AgentProtocol.UNSPECIFIED;
}

function healthName(h: AgentHealth): string {
  return h === AgentHealth.UNSPECIFIED ? "" : (AgentHealth[h] ?? "").toLowerCase();
}

function healthValue(name: string): AgentHealth {
  return (AgentHealth as unknown as Record<string, AgentHealth>)[name.toUpperCase()] ?? AgentHealth.UNSPECIFIED;
}

/** What only the running process knows about an agent: tasks in flight and its circuit breaker. */
export interface AgentLive {
  load(agentId: string): number;
  circuit(agentId: string): string;
}

/** The API view of an agent. Credentials are write-only: only their presence shows. */
export function agentMessage(a: AgentRecord, live?: AgentLive): Agent {
  const total = a.successCount + a.failureCount;
  return create(AgentSchema, {
    id: a.id,
    name: a.name,
    description: a.description,
    framework: a.framework,
    capabilities: a.capabilities,
    protocol: protocolValue(a.protocol),
    endpoint: a.endpoint,
    tags: a.tags,
    maxConcurrentTasks: a.maxConcurrentTasks,
    health: healthValue(a.health),
    healthDetail: a.healthDetail,
    stats: create(AgentStatsSchema, {
      avgLatencyMs: a.avgLatencyMs,
      successRate: total === 0 ? 1 : a.successCount / total,
      currentLoad: live?.load(a.id) ?? 0,
      totalTasks: BigInt(total),
      circuitState: live?.circuit(a.id) ?? "closed",
    }),
    enabled: a.enabled,
    hasCredentials: a.credentials !== null,
    config: a.config as JsonObject,
    createTime: timestampFromMs(a.createdAt),
    updateTime: timestampFromMs(a.updatedAt),
    lastHealthCheckTime: a.lastHealthCheckAt === null ? undefined : timestampFromMs(a.lastHealthCheckAt),
  });
}

function credentialsInput(c: AgentCredentials | undefined): AgentRecord["credentials"] | undefined {
  if (!c) return undefined;
  const out: NonNullable<AgentRecord["credentials"]> = {};
  if (c.bearerToken) out.bearerToken = c.bearerToken;
  if (Object.keys(c.headers).length) out.headers = { ...c.headers };
  return Object.keys(out).length ? out : undefined;
}

function agentInput(a: Agent | undefined): AgentInput {
  if (!a) throw new ConnectError("agent: is required", Code.InvalidArgument);
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    framework: a.framework,
    capabilities: a.capabilities,
    protocol: protocolName(a.protocol),
    endpoint: a.endpoint,
    tags: a.tags,
    maxConcurrentTasks: a.maxConcurrentTasks,
    config: a.config,
    enabled: a.enabled,
  };
}

/**
 * RegisterAgent from an A2A agent card: name, description and skills come
 * from the card; any field set in `agent` overrides what the card says.
 */
async function inputFromCard(mesh: MeshEngine, cardUrl: string, agent: Agent | undefined, credentials: AgentRecord["credentials"]): Promise<AgentInput> {
  try {
    const u = new URL(cardUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new ConnectError("card_url: must be an absolute http(s) URL of an A2A agent card", Code.InvalidArgument);
  }
  let imported: Awaited<ReturnType<MeshEngine["importCard"]>>;
  try {
    imported = await mesh.importCard(cardUrl);
  } catch (e) {
    throw new ConnectError(`card_url: ${e instanceof Error ? e.message : String(e)}`, Code.InvalidArgument);
  }
  const input: AgentInput = { protocol: "a2a", framework: "a2a", ...imported, credentials };
  if (agent) {
    const given = agentInput(agent);
    for (const [k, v] of Object.entries(given) as [keyof AgentInput, unknown][]) {
      if (k === "enabled" || v === undefined || v === "" || v === 0) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if (k === "config") {
        if (v && typeof v === "object" && Object.keys(v).length) input.config = { ...input.config, ...(v as Record<string, unknown>) };
        continue;
      }
      (input as Record<string, unknown>)[k] = v;
    }
  }
  if (!input.capabilities?.length) {
    throw new ConnectError("card_url: the agent card lists no skills to take capabilities from; set agent.capabilities", Code.InvalidArgument);
  }
  input.enabled = true;
  return input;
}

/** MeshService: the agent registry for now; routing, execution and workflows come with the mesh work. */
export function createMeshService(deps: MeshServiceDeps): Partial<ServiceImpl<typeof MeshService>> {
  const { registry, mesh } = deps;
  const live: AgentLive | undefined = mesh && { load: mesh.executor.live.load, circuit: (id) => mesh.breakers.state(id) };
  const view = (a: AgentRecord) => agentMessage(a, live);
  return {
    ...(mesh ? createTaskHandlers(mesh) : {}),
    ...(mesh ? createWorkflowHandlers(mesh) : {}),

    /** Probes the agent now (card, /health, /models, ...) and returns it with the verdict. */
    async checkAgentHealth(req) {
      const agent = await registry.get(req.id);
      if (!mesh) throw new ConnectError("health checks are not available in this process", Code.Unimplemented);
      await mesh.healthChecks.check(agent);
      return { agent: view(await registry.get(req.id)) };
    },

    ...(deps.search ? createSearchHandlers(deps.search) : {}),

    async listAgents(req) {
      const size = pageSize(req.pageSize);
      const offset = pageOffset(req.pageToken);
      const all = await registry.list({
        capabilities: req.capabilities,
        tags: req.tags,
        framework: req.framework,
        protocol: protocolName(req.protocol),
        health: healthName(req.health),
        includeDisabled: req.includeDisabled,
      });
      const { items, nextPageToken } = paged(all.slice(offset, offset + size + 1), offset, size);
      return { agents: items.map(view), nextPageToken, totalSize: all.length };
    },

    async getAgent(req) {
      return { agent: view(await registry.get(req.id)) };
    },

    async registerAgent(req) {
      if (req.cardUrl) {
        if (!mesh) throw new ConnectError("card_url: registering from an agent card is not available in this process", Code.Unimplemented);
        return { agent: view(await registry.register(await inputFromCard(mesh, req.cardUrl, req.agent, credentialsInput(req.credentials) ?? null))) };
      }
      const input = agentInput(req.agent);
      input.enabled = true;
      input.credentials = credentialsInput(req.credentials) ?? null;
      return { agent: view(await registry.register(input)) };
    },

    async updateAgent(req) {
      const input = agentInput(req.agent);
      const paths = [...(req.updateMask?.paths ?? [])];
      if (paths.length === 0 && !req.credentials && !req.clearCredentials) {
        throw new ConnectError("update_mask: name at least one field to update", Code.InvalidArgument);
      }
      if (req.credentials || req.clearCredentials) {
        input.credentials = req.clearCredentials ? null : credentialsInput(req.credentials) ?? null;
        paths.push("credentials");
      }
      return { agent: view(await registry.update(req.agent?.id ?? "", input, paths)) };
    },

    async deleteAgent(req) {
      await registry.remove(req.id);
      return {};
    },
  };
}
