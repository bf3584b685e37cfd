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
import type { AgentInput, Registry } from "./registry.js";
import type { SearchIndex } from "./search.js";
import { createSearchHandlers } from "./search-service.js";

export interface MeshServiceDeps {
  registry: Registry;
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

/** The API view of an agent. Credentials are write-only: only their presence shows. */
export function agentMessage(a: AgentRecord): Agent {
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
      currentLoad: 0,
      totalTasks: BigInt(total),
      circuitState: "closed",
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

/** MeshService: the agent registry for now; routing, execution and workflows come with the mesh work. */
export function createMeshService(deps: MeshServiceDeps): Partial<ServiceImpl<typeof MeshService>> {
  const { registry } = deps;
  return {
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
      return { agents: items.map(agentMessage), nextPageToken, totalSize: all.length };
    },

    async getAgent(req) {
      return { agent: agentMessage(await registry.get(req.id)) };
    },

    async registerAgent(req) {
      if (req.cardUrl) {
        throw new ConnectError("card_url: registering from an A2A agent card is not available yet; describe the agent in full", Code.Unimplemented);
      }
      const input = agentInput(req.agent);
      input.enabled = true;
      input.credentials = credentialsInput(req.credentials) ?? null;
      return { agent: agentMessage(await registry.register(input)) };
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
      return { agent: agentMessage(await registry.update(req.agent?.id ?? "", input, paths)) };
    },

    async deleteAgent(req) {
      await registry.remove(req.id);
      return {};
    },
  };
}
