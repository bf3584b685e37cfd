import type { AgentAdapter, HealthVerdict } from "../agents/adapter.js";
import type { Clock } from "../clock.js";
import type { AgentStatsRepository } from "../store/agent-stats.js";
import type { AgentRecord, AgentRepository } from "../store/agents.js";

export interface HealthCheckDeps {
  agents: AgentRepository;
  agentStats: AgentStatsRepository;
  adapters: ReadonlyMap<string, AgentAdapter>;
  clock: Clock;
  /** Seconds between rounds; 0 runs none in the background (CheckAgentHealth still works). */
  intervalSeconds: number;
  /** Per-probe limit. */
  timeoutMs?: number;
  /** Probes in flight at once. */
  concurrency?: number;
  /** Told of each stored verdict with the health the agent had before (logs its changes). */
  onVerdict?: (agent: AgentRecord, verdict: HealthVerdict) => void;
}

/**
 * Background health checks: every interval, each enabled agent is probed the
 * way its protocol allows (card, /health, /models, /ok, ...) and marked
 * healthy, degraded or unhealthy with the reason.
 */
export function createHealthChecks(deps: HealthCheckDeps) {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  const stop = new AbortController();

  async function check(agent: AgentRecord): Promise<HealthVerdict> {
    const adapter = deps.adapters.get(agent.protocol);
    let verdict: HealthVerdict;
    if (!adapter) verdict = { health: "unhealthy", detail: `no adapter for protocol ${agent.protocol}` };
    else {
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
      try {
        verdict = await adapter.health(agent, signal);
      } catch (e) {
        verdict = { health: "unhealthy", detail: e instanceof Error ? e.message : String(e) };
      }
    }
    if (!stop.signal.aborted) {
      await deps.agentStats.setHealth(agent.id, verdict.health, verdict.detail, deps.clock.now());
      deps.onVerdict?.(agent, verdict);
    }
    return verdict;
  }

  async function runRound(): Promise<void> {
    const agents = await deps.agents.list({});
    const queue = [...agents];
    const workers = Array.from({ length: Math.min(deps.concurrency ?? 4, queue.length) }, async () => {
      for (let a = queue.shift(); a && !stop.signal.aborted; a = queue.shift()) await check(a).catch(() => undefined);
    });
    await Promise.all(workers);
  }

  return {
    /** Probes one agent now and stores the verdict. */
    check,
    start(): void {
      if (deps.intervalSeconds <= 0 || timer) return;
      const tick = () => {
        round ??= runRound()
          .catch(() => undefined)
          .finally(() => {
            round = undefined;
          });
      };
      setTimeout(tick, 1_000).unref();
      timer = setInterval(tick, deps.intervalSeconds * 1000);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      stop.abort();
      await round;
    },
  };
}

export type HealthChecks = ReturnType<typeof createHealthChecks>;
