import type { Knex } from "knex";

/**
 * The columns of the agents table the mesh itself keeps up to date (health and
 * outcome statistics), written with narrow UPDATEs so they never overwrite an
 * administrator's concurrent edit of the agent's description.
 */
export function createAgentStatsRepository(knex: Knex) {
  return {
    /** Counts one finished call; latency is an exponentially weighted average (recent calls weigh most). */
    async recordOutcome(id: string, ok: boolean, latencyMs: number): Promise<void> {
      const latency = Math.max(0, Math.round(latencyMs * 100) / 100);
      await knex("agents")
        .where({ id })
        .update({
          avg_latency_ms: knex.raw("CASE WHEN success_count + failure_count = 0 THEN ? ELSE avg_latency_ms * 0.8 + ? * 0.2 END", [latency, latency]),
          success_count: knex.raw(ok ? "success_count + 1" : "success_count"),
          failure_count: knex.raw(ok ? "failure_count" : "failure_count + 1"),
        });
    },

    async setHealth(id: string, health: string, detail: string, at: number): Promise<void> {
      await knex("agents").where({ id }).update({ health, health_detail: detail.slice(0, 1000), last_health_check_at: at });
    },
  };
}

export type AgentStatsRepository = ReturnType<typeof createAgentStatsRepository>;
