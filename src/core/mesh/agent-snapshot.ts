import type { Knex } from "knex";
import type { AgentRecord, AgentRepository } from "../store/agents.js";

/** How long other replicas' statistics may be stale before a full reload picks them up. */
const FULL_RELOAD_MS = 60_000;

/**
 * The registry as the router sees it, kept in memory so a routing decision
 * over thousands of agents costs one cheap aggregate query, not a table read.
 * Registry edits (count, max updated_at) reload it; health verdicts are
 * patched in by reading only the agents checked since last time; this
 * process's task outcomes are applied directly; a periodic full reload brings
 * in other replicas' statistics.
 */
export function createAgentSnapshot(knex: Knex, agents: AgentRepository) {
  let version = "";
  let healthSeen = 0;
  let loadedAt = 0;
  let byId = new Map<string, AgentRecord>();
  let rows: AgentRecord[] = [];
  let refreshing: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const row = await knex("agents").first(knex.raw("count(*) as n"), knex.raw("max(updated_at) as u"), knex.raw("max(coalesce(last_health_check_at, 0)) as h"));
    const v = `${row?.n}:${row?.u}`;
    const h = Number(row?.h ?? 0);
    if (v !== version || Date.now() - loadedAt > FULL_RELOAD_MS) {
      const fresh = await agents.list({ includeDisabled: true });
      byId = new Map(fresh.map((a) => [a.id, a]));
      rows = fresh;
      version = v;
      healthSeen = h;
      loadedAt = Date.now();
      return;
    }
    if (h > healthSeen) {
      const checked = await knex("agents").where("last_health_check_at", ">", healthSeen).select("id", "health", "health_detail", "last_health_check_at");
      for (const c of checked as { id: string; health: string; health_detail: string; last_health_check_at: unknown }[]) {
        const a = byId.get(c.id);
        if (a) byId.set(c.id, { ...a, health: c.health, healthDetail: c.health_detail ?? "", lastHealthCheckAt: Number(c.last_health_check_at) });
      }
      rows = [...byId.values()];
      healthSeen = h;
    }
  }

  return {
    async get(): Promise<{ agents: AgentRecord[]; byId: Map<string, AgentRecord> }> {
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
      return { agents: rows, byId };
    },

    /** Applies an outcome this process recorded (the same average the table keeps). */
    noteOutcome(agentId: string, ok: boolean, latencyMs: number): void {
      const a = byId.get(agentId);
      if (!a) return;
      const first = a.successCount + a.failureCount === 0;
      const updated = {
        ...a,
        avgLatencyMs: first ? latencyMs : a.avgLatencyMs * 0.8 + latencyMs * 0.2,
        successCount: a.successCount + (ok ? 1 : 0),
        failureCount: a.failureCount + (ok ? 0 : 1),
      };
      byId.set(agentId, updated);
      const i = rows.indexOf(a);
      if (i >= 0) rows[i] = updated;
    },
  };
}

export type AgentSnapshot = ReturnType<typeof createAgentSnapshot>;
