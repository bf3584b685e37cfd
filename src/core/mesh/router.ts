import { create } from "@bufbuild/protobuf";
import {
  type RoutingDecision,
  RoutingCandidateSchema,
  RoutingDecisionSchema,
  RoutingStrategy,
} from "../../../gen/meshai/v1/mesh_pb.js";
import type { AgentRecord } from "../store/agents.js";

export type StrategyName = "capability_match" | "performance_based" | "least_loaded" | "round_robin";
export const STRATEGIES: StrategyName[] = ["capability_match", "performance_based", "least_loaded", "round_robin"];

export function strategyValue(name: StrategyName): RoutingStrategy {
  return (RoutingStrategy as unknown as Record<string, RoutingStrategy>)[name.toUpperCase()] ?? RoutingStrategy.UNSPECIFIED;
}

export function strategyName(s: RoutingStrategy): StrategyName | undefined {
  return s === RoutingStrategy.UNSPECIFIED ? undefined : ((RoutingStrategy[s] ?? "").toLowerCase() as StrategyName);
}

/** What the router needs to know about an agent right now, beyond its row. */
export interface LiveView {
  load(agentId: string): number;
  circuitOpen(agentId: string): boolean;
}

export interface RouteRequest {
  capabilities: string[];
  capabilitiesInferred: boolean;
  /** Only these agents, in order of preference. */
  agents: string[];
  framework: string;
  /** undefined: the default (capability_match, or the given order for explicit agents). */
  strategy?: StrategyName;
  /** Key for round-robin rotation. */
  rotationKey?: string;
}

export interface RankedAgent {
  agent: AgentRecord;
  score: number;
}

/** A routing result: agents to try in order, and the decision to record. */
export interface Route {
  ranked: RankedAgent[];
  decision: RoutingDecision;
}

/** Why nobody can take the task: the message is what the task's failed event says. */
export class NoRouteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoRouteError";
  }
}

const HEALTH_SCORE: Record<string, number> = { healthy: 1, unknown: 0.8, degraded: 0.5, unhealthy: 0 };

const successRate = (a: AgentRecord) => {
  const total = a.successCount + a.failureCount;
  return total === 0 ? 1 : a.successCount / total;
};

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The message for a capability no enabled agent offers, naming how to add one. */
export function missingCapabilityMessage(missing: string[], available: string[]): string {
  const list = missing.map((c) => JSON.stringify(c)).join(", ");
  const offered = [...new Set(available)].sort();
  return (
    `no enabled agent has the ${missing.length > 1 ? "capabilities" : "capability"} ${list}. ` +
    `Register one with RegisterAgent (needs mcp:manage) or \`npx meshai agent add\`; for text_generation, an OpenAI-compatible ` +
    `LLM is registered at start when OPENAI_API_KEY / OPENAI_BASE_URL are set. ` +
    `Capabilities offered now: ${offered.length ? offered.join(", ") : "none"}.`
  );
}

/**
 * Picks the agents for a task. Candidates are the explicit agents if given,
 * else every enabled agent with all required capabilities (and the framework,
 * if asked); unhealthy agents, open circuits and agents at their concurrency
 * limit are passed over with a note. The rest are ranked by the strategy.
 */
export function createRouter() {
  const rotation = new Map<string, number>();

  function score(strategy: StrategyName, a: AgentRecord, req: RouteRequest, load: number): number {
    const loadShare = load / Math.max(1, a.maxConcurrentTasks);
    switch (strategy) {
      case "performance_based": {
        const latency = 1 / (1 + a.avgLatencyMs / 1000);
        return 0.4 * successRate(a) + 0.35 * latency + 0.25 * (1 - loadShare);
      }
      case "least_loaded":
        return 1 - loadShare - load * 1e-6;
      case "round_robin":
        return 0;
      default: {
        const specificity = req.capabilities.length === 0 ? 1 : req.capabilities.length / Math.max(1, a.capabilities.length);
        return 0.6 * specificity + 0.25 * (HEALTH_SCORE[a.health] ?? 0.5) + 0.15 * successRate(a);
      }
    }
  }

  function reasonsFor(strategy: StrategyName, a: AgentRecord, req: RouteRequest, load: number, pool: number): string[] {
    const reasons: string[] = [];
    if (req.agents.length) reasons.push(`named in the request's agents (${req.agents.join(", ")})`);
    if (req.capabilities.length) {
      reasons.push(`has ${req.capabilities.length > 1 ? "every required capability" : "the required capability"} ${req.capabilities.join(", ")}${req.capabilitiesInferred ? " (inferred from the task text)" : ""}`);
    }
    if (req.framework) reasons.push(`framework ${a.framework}`);
    const total = a.successCount + a.failureCount;
    const record = total ? `success rate ${(successRate(a) * 100).toFixed(0)}% over ${total} task${total === 1 ? "" : "s"}, avg latency ${a.avgLatencyMs.toFixed(0)} ms` : "no tasks run yet";
    const stats = `${record}, load ${load}/${a.maxConcurrentTasks}, health ${a.health}`;
    switch (strategy) {
      case "performance_based": reasons.push(`best performance score: ${stats}`); break;
      case "least_loaded": reasons.push(`least loaded: ${load}/${a.maxConcurrentTasks} tasks running`); break;
      case "round_robin": reasons.push(`next in round-robin rotation over ${pool} candidate${pool === 1 ? "" : "s"}`); break;
      default: reasons.push(`best capability match (${a.capabilities.length} capabilit${a.capabilities.length === 1 ? "y" : "ies"} offered); ${stats}`);
    }
    return reasons;
  }

  return {
    /** `agents` is every registered agent (enabled or not); `byId` answers explicit ids. */
    route(req: RouteRequest, agents: readonly AgentRecord[], live: LiveView, byId?: Map<string, AgentRecord>): Route {
      const excluded: { id: string; note: string }[] = [];
      let pool: AgentRecord[];
      if (req.agents.length) {
        const index = byId ?? new Map(agents.map((a) => [a.id, a]));
        const unknown = req.agents.filter((id) => !index.has(id));
        if (unknown.length) {
          throw new NoRouteError(`agents: unknown agent id${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (ListAgents shows the registered ones)`);
        }
        pool = [];
        for (const id of req.agents) {
          const a = index.get(id)!;
          const missing = req.capabilities.filter((c) => !a.capabilities.includes(c));
          if (!a.enabled) excluded.push({ id, note: "disabled" });
          else if (missing.length) excluded.push({ id, note: `lacks ${missing.join(", ")}` });
          else if (req.framework && a.framework !== req.framework.toLowerCase()) excluded.push({ id, note: `framework is ${a.framework || "unset"}, not ${req.framework}` });
          else pool.push(a);
        }
      } else {
        const enabled = agents.filter((a) => a.enabled);
        pool = enabled.filter((a) => req.capabilities.every((c) => a.capabilities.includes(c)));
        if (pool.length === 0) {
          const offered = enabled.flatMap((a) => a.capabilities);
          const missing = req.capabilities.filter((c) => !offered.includes(c));
          throw new NoRouteError(
            missing.length
              ? missingCapabilityMessage(missing, offered)
              : `no single enabled agent has all of ${req.capabilities.join(", ")}; ask for fewer capabilities or register an agent offering them all`,
          );
        }
        if (req.framework) {
          const fw = req.framework.toLowerCase();
          const matching = pool.filter((a) => a.framework === fw);
          if (matching.length === 0) {
            throw new NoRouteError(
              `framework: no enabled ${fw} agent has ${req.capabilities.join(", ")} (frameworks that do: ${[...new Set(pool.map((a) => a.framework || "unset"))].join(", ")})`,
            );
          }
          pool = matching;
        }
      }

      const available: { agent: AgentRecord; load: number }[] = [];
      for (const a of pool) {
        const load = live.load(a.id);
        if (a.health === "unhealthy") excluded.push({ id: a.id, note: `unhealthy${a.healthDetail ? `: ${a.healthDetail}` : ""}` });
        else if (live.circuitOpen(a.id)) excluded.push({ id: a.id, note: "circuit open after repeated failures" });
        else if (load >= a.maxConcurrentTasks) excluded.push({ id: a.id, note: `at its concurrency limit (${load}/${a.maxConcurrentTasks})` });
        else available.push({ agent: a, load });
      }
      if (available.length === 0) {
        const why = excluded.slice(0, 10).map((e) => `${e.id} (${e.note})`).join("; ");
        throw new NoRouteError(`no agent can take the task now: ${why}`);
      }

      const strategy: StrategyName = req.strategy ?? "capability_match";
      let ranked: RankedAgent[];
      if (strategy === "round_robin") {
        const sorted = [...available].sort((x, y) => (x.agent.id < y.agent.id ? -1 : 1));
        const key = req.rotationKey ?? req.capabilities.join(",");
        const n = rotation.get(key) ?? 0;
        rotation.set(key, n + 1);
        const start = n % sorted.length;
        ranked = [...sorted.slice(start), ...sorted.slice(0, start)].map((c, i) => ({ agent: c.agent, score: round(1 - i / sorted.length) }));
      } else if (req.agents.length && req.strategy === undefined) {
        ranked = available.map((c, i) => ({ agent: c.agent, score: round(1 - i / available.length) }));
      } else {
        ranked = available
          .map((c) => ({ agent: c.agent, score: round(score(strategy, c.agent, req, c.load)) }))
          .sort((x, y) => y.score - x.score || (x.agent.id < y.agent.id ? -1 : 1));
      }

      const chosen = ranked[0]!;
      const chosenLoad = available.find((c) => c.agent.id === chosen.agent.id)!.load;
      const runnersUp = [
        ...ranked.slice(1, 6).map((r) => create(RoutingCandidateSchema, { agentId: r.agent.id, score: r.score, note: `ranked lower (score ${r.score} vs ${chosen.score}); fallback if ${chosen.agent.id} fails` })),
        ...excluded.slice(0, 5).map((e) => create(RoutingCandidateSchema, { agentId: e.id, score: 0, note: `passed over: ${e.note}` })),
      ];
      const decision = create(RoutingDecisionSchema, {
        strategy: strategyValue(strategy),
        agentId: chosen.agent.id,
        requiredCapabilities: req.capabilities,
        capabilitiesInferred: req.capabilitiesInferred,
        reasons: reasonsFor(strategy, chosen.agent, req, chosenLoad, available.length),
        runnersUp,
      });
      return { ranked, decision };
    },
  };
}

export type Router = ReturnType<typeof createRouter>;
