import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { newId } from "../ids.js";
import type { AgentFilter, AgentRecord, AgentRepository } from "../store/agents.js";
import type { WriteWatch } from "../store/write-watch.js";

export const PROTOCOLS = ["a2a", "openai", "langserve", "langgraph", "meshai_http", "builtin"] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

export const HEALTH_STATES = ["unknown", "healthy", "degraded", "unhealthy"] as const;

/** The capabilities MeshAI's public model names; custom ones are allowed too. */
export const KNOWN_CAPABILITIES = ["text_generation", "code_generation", "data_analysis", "reasoning", "image_generation"];

const CAPABILITY = /^[a-z][a-z0-9_.:-]{0,63}$/;
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;

function invalid(field: string, why: string): ConnectError {
  return new ConnectError(`${field}: ${why}`, Code.InvalidArgument);
}

export interface AgentInput {
  id?: string;
  name?: string;
  description?: string;
  framework?: string;
  capabilities?: string[];
  protocol?: string;
  endpoint?: string;
  tags?: string[];
  maxConcurrentTasks?: number;
  config?: Record<string, unknown>;
  enabled?: boolean;
  credentials?: AgentRecord["credentials"];
}

/** Checks an agent as it would be stored; throws InvalidArgument naming the field. */
export function validateAgent(a: AgentRecord): void {
  if (!AGENT_ID.test(a.id)) throw invalid("agent.id", "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
  if (!a.name.trim()) throw invalid("agent.name", "is required");
  if (a.name.length > 200) throw invalid("agent.name", "must be at most 200 characters");
  if (a.description.length > 4000) throw invalid("agent.description", "must be at most 4000 characters");
  if (a.framework.length > 64) throw invalid("agent.framework", "must be at most 64 characters");
  if (!(PROTOCOLS as readonly string[]).includes(a.protocol)) {
    throw invalid("agent.protocol", `must be one of ${PROTOCOLS.join(", ")}`);
  }
  if (a.capabilities.length === 0) throw invalid("agent.capabilities", "needs at least one capability");
  if (a.capabilities.length > 32) throw invalid("agent.capabilities", "may list at most 32 capabilities");
  for (const c of a.capabilities) {
    if (!CAPABILITY.test(c)) throw invalid("agent.capabilities", `${JSON.stringify(c)} must be lower-case letters, digits and '_' (e.g. code_generation)`);
  }
  if (a.tags.length > 32) throw invalid("agent.tags", "may list at most 32 tags");
  for (const t of a.tags) if (!TAG.test(t)) throw invalid("agent.tags", `${JSON.stringify(t)} is not a valid tag`);
  if (!Number.isInteger(a.maxConcurrentTasks) || a.maxConcurrentTasks < 1 || a.maxConcurrentTasks > 1000) {
    throw invalid("agent.max_concurrent_tasks", "must be between 1 and 1000");
  }
  if (a.protocol === "builtin") {
    if (a.endpoint) throw invalid("agent.endpoint", "must be empty for builtin agents");
  } else {
    let url: URL;
    try {
      url = new URL(a.endpoint);
    } catch {
      throw invalid("agent.endpoint", "must be an absolute http(s) URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid("agent.endpoint", "must be an absolute http(s) URL");
    if (url.username || url.password) throw invalid("agent.endpoint", "must not carry credentials; use the credentials field");
    if (url.hash) throw invalid("agent.endpoint", "must not have a fragment");
  }
  const creds = a.credentials;
  if (creds?.headers) {
    for (const [k, v] of Object.entries(creds.headers)) {
      if (!/^[A-Za-z0-9-]{1,64}$/.test(k)) throw invalid("credentials.headers", `${JSON.stringify(k)} is not a valid header name`);
      if (/[\r\n]/.test(v) || v.length > 4096) throw invalid("credentials.headers", `value of ${k} is not a valid header value`);
    }
  }
  if (creds?.bearerToken && (/[\s]/.test(creds.bearerToken) || creds.bearerToken.length > 4096)) {
    throw invalid("credentials.bearer_token", "must be a single token without spaces");
  }
}

const uniq = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];

export interface RegistryDeps {
  agents: AgentRepository;
  clock: Clock;
  /**
   * This process's writes to the agents table. With it, `list` answers from
   * the table as read at most `recentMs` (one second) ago and not written
   * since by this process: an agent registered, changed or removed here shows
   * at once, one changed by another replica within a second.
   */
  writes?: WriteWatch;
  recentMs?: number;
}

/** The agent registry: validated writes and filtered reads over the agents table. */
export function createRegistry(deps: RegistryDeps) {
  const { agents, clock } = deps;
  const recentMs = deps.recentMs ?? 1000;
  /** Every agent, disabled ones too, in the table's order (name, id), as last read. */
  let table: { rows: AgentRecord[]; at: number; version: number } | undefined;
  let reading: { version: number; rows: Promise<AgentRecord[]> } | undefined;

  async function allAgents(): Promise<AgentRecord[]> {
    const writes = deps.writes;
    if (!writes || recentMs <= 0) return agents.list({ includeDisabled: true });
    const now = clock.now();
    if (table && table.version === writes.version && now - table.at < recentMs && table.at <= now) return table.rows;
    // One read serves every caller that arrives while it runs, unless this process wrote in between.
    const version = writes.version;
    if (reading?.version !== version) {
      const current: NonNullable<typeof reading> = { version, rows: Promise.resolve().then(() => agents.list({ includeDisabled: true })) };
      reading = current;
      current.rows
        .then((rows) => {
          if (writes.version === version) table = { rows, at: now, version };
        })
        .catch(() => undefined)
        .finally(() => {
          if (reading === current) reading = undefined;
        });
    }
    return reading.rows;
  }

  async function mustGet(id: string): Promise<AgentRecord> {
    if (!id) throw invalid("id", "is required");
    const agent = await agents.byId(id);
    if (!agent) throw new ConnectError(`agent ${id} not found`, Code.NotFound);
    return agent;
  }

  return {
    get: mustGet,

    async register(input: AgentInput): Promise<AgentRecord> {
      const now = clock.now();
      const agent: AgentRecord = {
        id: input.id || newId("agt"),
        name: input.name ?? "",
        description: input.description ?? "",
        framework: (input.framework ?? "").toLowerCase(),
        capabilities: uniq(input.capabilities ?? []),
        protocol: input.protocol ?? "",
        endpoint: input.endpoint ?? "",
        tags: uniq(input.tags ?? []),
        maxConcurrentTasks: input.maxConcurrentTasks || 4,
        health: "unknown",
        healthDetail: "",
        lastHealthCheckAt: null,
        config: input.config ?? {},
        credentials: input.credentials ?? null,
        enabled: input.enabled ?? true,
        avgLatencyMs: 0,
        successCount: 0,
        failureCount: 0,
        createdAt: now,
        updatedAt: now,
      };
      validateAgent(agent);
      if (await agents.byId(agent.id)) throw new ConnectError(`agent ${agent.id} already exists`, Code.AlreadyExists);
      await agents.insert(agent);
      return agent;
    },

    /** Applies the named fields of `input` (an update mask's paths). */
    async update(id: string, input: AgentInput, paths: string[]): Promise<AgentRecord> {
      const current = await mustGet(id);
      const next: AgentRecord = { ...current, updatedAt: clock.now() };
      for (const path of paths) {
        switch (path) {
          case "name": next.name = input.name ?? ""; break;
          case "description": next.description = input.description ?? ""; break;
          case "framework": next.framework = (input.framework ?? "").toLowerCase(); break;
          case "capabilities": next.capabilities = uniq(input.capabilities ?? []); break;
          case "protocol": next.protocol = input.protocol ?? ""; break;
          case "endpoint": next.endpoint = input.endpoint ?? ""; break;
          case "tags": next.tags = uniq(input.tags ?? []); break;
          case "max_concurrent_tasks": next.maxConcurrentTasks = input.maxConcurrentTasks || 4; break;
          case "config": next.config = input.config ?? {}; break;
          case "enabled": next.enabled = input.enabled ?? false; break;
          case "credentials": next.credentials = input.credentials ?? null; break;
          default:
            throw invalid("update_mask", `${JSON.stringify(path)} is not a field that can be updated`);
        }
      }
      validateAgent(next);
      await agents.replace(next);
      return next;
    },

    async remove(id: string): Promise<void> {
      if (!(await agents.delete(id))) throw new ConnectError(`agent ${id} not found`, Code.NotFound);
    },

    /**
     * Agents matching every filter, ordered by name then id; capabilities and
     * tags must all be present. The column filters are those of the agents
     * repository's list, applied to the table as read (see RegistryDeps.writes).
     */
    async list(filter: AgentFilter & { capabilities?: string[]; tags?: string[] }): Promise<AgentRecord[]> {
      const rows = await allAgents();
      const framework = filter.framework?.toLowerCase();
      const caps = uniq(filter.capabilities ?? []);
      const tags = uniq(filter.tags ?? []);
      return rows.filter(
        (a) =>
          (filter.includeDisabled || a.enabled) &&
          (!framework || a.framework.toLowerCase() === framework) &&
          (!filter.protocol || a.protocol === filter.protocol) &&
          (!filter.health || a.health === filter.health) &&
          caps.every((c) => a.capabilities.includes(c)) &&
          tags.every((t) => a.tags.includes(t)),
      );
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
